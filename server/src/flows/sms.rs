//! One-time SMS codes: for registration, sign-in and the SMS binding method. Codes are stored only
//! hashed; wrong tries are counted per challenge and per requester.

use crate::error::{
    ServerError, ServerErrorCode, ServerResult, SmsLimitScope, SmsLimitWindow, Verdict,
};
use crate::flows::OrNotFound;
use crate::gateways::{OutboxMessage, SmsGateway};
use crate::secrets::{constant_time_eq, random_bytes, random_hex, sha256, six_digit_code};
use crate::store::{SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use renche::policy::SmsPolicy;
use renche::Timestamp;
use std::sync::Arc;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Wrong codes one requester may enter in any hour, across all challenges (ASVS: at most 100).
const MAX_FAILURES_PER_HOUR: u32 = 100;

pub fn too_soon(retry_after_ms: i64) -> ServerError {
    let secs = (retry_after_ms + 999) / 1000;
    ServerError::of(ServerErrorCode::SmsResendTooSoon {
        retry_after_seconds: secs,
    })
}

pub fn daily_cap(limit: u32) -> ServerError {
    ServerError::of(ServerErrorCode::SmsDailyCapReached { limit })
}

/// Refuses a new code while the last one for `key` is younger than the cool-down.
pub fn check_cooldown(
    tx: &mut dyn Tx,
    key: &SmsCountKey,
    sms: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<()> {
    if let Some(last) = tx.last_sms_challenge_at(key)? {
        let wait = last.millis() + i64::from(sms.resend_cooldown_seconds) * 1000 - now.millis();
        if wait > 0 {
            return Err(too_soon(wait));
        }
    }
    Ok(())
}

/// Refuses a new code when `key` has had `limit` codes today (China Standard Time).
pub fn check_daily_cap(
    tx: &mut dyn Tx,
    key: &SmsCountKey,
    limit: u32,
    now: Timestamp,
) -> ServerResult<()> {
    if tx.count_sms_challenges(key, now.cst_date().start())? >= limit {
        return Err(daily_cap(limit));
    }
    Ok(())
}

/// Who asks for a code, as the anti-automation caps count them.
pub struct Asker {
    /// The browser session (its token hash, in hex).
    pub session: String,
    /// The signed-in person, if any.
    pub account: Option<i64>,
    /// The client address (`crate::netaddr::counting_key`).
    pub address: String,
}

/// Counts one more code asked for by `asker` (per session, account and client address, each per clock
/// hour and per China-Standard-Time day) and against the service's daily budget for `purpose`, and
/// refuses when any is over. Every start counts, whether its code is delivered or not, so that neither a
/// refusal nor the budget says whether a plate or phone is known. Counted in the caller's transaction
/// with the challenge it opens: the refusal is an `Err`, which rolls the counts back with the rest.
pub fn count_request(
    tx: &mut dyn Tx,
    asker: &Asker,
    purpose: SmsPurpose,
    sms: &SmsPolicy,
    now: Timestamp,
) -> ServerResult<()> {
    let hour = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(HOUR_MS));
    let day = now.cst_date().start();
    let until = |start: Timestamp, len: i64| (start.millis() + len - now.millis() + 999) / 1000;
    let account = asker.account.map(|a| a.to_string());
    let scopes = [
        (
            SmsLimitScope::Session,
            Some(&asker.session),
            &sms.per_session,
        ),
        (SmsLimitScope::Account, account.as_ref(), &sms.per_account),
        (
            SmsLimitScope::Address,
            Some(&asker.address),
            &sms.per_address,
        ),
    ];
    for (scope, who, caps) in scopes {
        let Some(who) = who else { continue };
        for (window, start, len, limit) in [
            (SmsLimitWindow::Hour, hour, HOUR_MS, caps.per_hour),
            (SmsLimitWindow::Day, day, DAY_MS, caps.per_day),
        ] {
            let key = format!("sms-cap:{}:{}:{who}", scope.code(), window.code());
            if tx.bump_counter(&key, start)? > limit {
                return Err(ServerError::of(ServerErrorCode::SmsLimitReached {
                    scope,
                    window,
                    limit,
                    retry_after_seconds: until(start, len),
                }));
            }
        }
    }
    let budget = match purpose {
        SmsPurpose::Register => sms.daily_budget.register,
        SmsPurpose::SignIn => sms.daily_budget.sign_in,
        SmsPurpose::Binding => sms.daily_budget.binding,
    };
    if tx.bump_counter(&format!("sms-budget:{}", purpose.code()), day)? > budget {
        return Err(ServerError::of(ServerErrorCode::SmsBudgetReached {
            retry_after_seconds: until(day, DAY_MS),
        }));
    }
    Ok(())
}

/// Whom a challenge is for and where its code goes.
pub struct ChallengeTarget {
    pub purpose: SmsPurpose,
    pub requester: String,
    /// The phone the code goes to; `None` for a decoy.
    pub phone: Option<String>,
    pub plate_key: Option<String>,
    pub vehicle_id: Option<i64>,
    pub delivered: bool,
}

/// A code to hand to the SMS gateway once the transaction has committed.
pub struct Delivery {
    pub phone: String,
    pub code: String,
    /// What the text message says the code is for.
    pub about: SmsAbout,
}

/// What a code is for, as its text message says, so that whoever receives it knows what passing it on
/// would allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsAbout {
    Register,
    SignIn,
    /// A binding of the owner's vehicle, by the binder named (both masked).
    Binding {
        binder_masked: String,
        plate_masked: String,
    },
}

impl SmsAbout {
    /// The purpose as the metrics name it.
    fn purpose_label(&self) -> &'static str {
        match self {
            SmsAbout::Register => "register",
            SmsAbout::SignIn => "sign_in",
            SmsAbout::Binding { .. } => "binding",
        }
    }
    fn of(purpose: SmsPurpose) -> SmsAbout {
        match purpose {
            SmsPurpose::Register => SmsAbout::Register,
            SmsPurpose::SignIn => SmsAbout::SignIn,
            SmsPurpose::Binding => SmsAbout::Binding {
                binder_masked: "他人".to_owned(),
                plate_masked: String::new(),
            },
        }
    }
}

/// Stores a fresh challenge for `target`; the code comes back (for delivery) only when it is to be
/// delivered, and is stored only hashed.
pub fn open_challenge(
    tx: &mut dyn Tx,
    target: ChallengeTarget,
    now: Timestamp,
    sms: &SmsPolicy,
) -> ServerResult<(SmsChallengeRow, Option<Delivery>)> {
    let ChallengeTarget {
        purpose,
        requester,
        phone,
        plate_key,
        vehicle_id,
        delivered,
    } = target;
    let code = six_digit_code();
    let salt = random_bytes(16);
    let code_hash = sha256(&[&salt, code.as_bytes()]);
    let row = SmsChallengeRow {
        id: random_hex(16),
        purpose,
        requester,
        phone: phone.clone(),
        plate_key,
        vehicle_id,
        salt,
        code_hash,
        delivered,
        created_at: now,
        expires_at: now.plus_seconds(i64::from(sms.code_lifetime_seconds)),
        wrong_tries: 0,
        consumed_at: None,
    };
    tx.insert_sms_challenge(&row)?;
    let delivery = phone.filter(|_| delivered).map(|phone| Delivery {
        phone,
        code,
        about: SmsAbout::of(purpose),
    });
    Ok((row, delivery))
}

/// The text message: what the code is for, how long it lives and whom it may be told to.
pub fn sms_text(about: &SmsAbout, code: &str, minutes: u32) -> String {
    match about {
        SmsAbout::Register => format!(
            "【交管12123】您正在注册交管12123账号,验证码{code},{minutes}分钟内有效。\
             如非本人操作,请忽略本短信,切勿将验证码告诉任何人。"
        ),
        SmsAbout::SignIn => format!(
            "【交管12123】您正在登录交管12123,验证码{code},{minutes}分钟内有效。\
             如非本人操作,请勿将验证码告诉任何人。"
        ),
        SmsAbout::Binding {
            binder_masked,
            plate_masked,
        } => format!(
            "【交管12123】{binder_masked}申请绑定您的机动车{plate_masked},验证码{code},\
             {minutes}分钟内有效。同意其绑定才可将验证码告诉申请人本人;如不认识对方,请勿告诉任何人。"
        ),
    }
}

/// 503 `SMS_UNAVAILABLE` when no gateway is configured: asked before anything is counted or stored, and
/// the same for every phone.
pub fn require_gateway(gateway: &Arc<dyn SmsGateway>) -> ServerResult<()> {
    if gateway.configured() {
        Ok(())
    } else {
        Err(ServerError::of(ServerErrorCode::SmsUnavailable))
    }
}

/// Hands a code to the SMS gateway on its own task, after the answer, so the answer's timing says nothing.
pub fn deliver(gateway: &Arc<dyn SmsGateway>, delivery: Delivery, now: Timestamp, sms: &SmsPolicy) {
    let text = sms_text(
        &delivery.about,
        &delivery.code,
        sms.code_lifetime_seconds / 60,
    );
    let gateway = Arc::clone(gateway);
    let purpose = delivery.about.purpose_label();
    tokio::spawn(async move {
        let message = OutboxMessage {
            phone: delivery.phone,
            text,
            code: delivery.code,
            sent_at: now,
        };
        let outcome = match gateway.send(message).await {
            Ok(()) => "sent",
            Err(e) => {
                tracing::warn!(error = %e, "SMS not delivered");
                "failed"
            }
        };
        crate::metrics::count(
            "renche_sms_sent_total",
            &[("purpose", purpose), ("outcome", outcome)],
        );
    });
}

fn locked() -> ServerError {
    ServerError::of(ServerErrorCode::SmsCodeLocked).field("code")
}

/// What a typed code is checked against.
pub struct CodeCheck<'a> {
    pub challenge_id: &'a str,
    pub requester: &'a str,
    pub purpose: SmsPurpose,
    pub code: &'a str,
}

/// Checks a typed code against its challenge and uses the challenge up. A wrong code is a refusal whose
/// wrong try is kept.
pub fn check_code(
    tx: &mut dyn Tx,
    check: CodeCheck<'_>,
    now: Timestamp,
    sms: &SmsPolicy,
) -> ServerResult<Verdict<SmsChallengeRow>> {
    let c = tx.sms_challenge(check.challenge_id).or_not_found()?;
    if c.requester != check.requester || c.purpose != check.purpose {
        return Err(ServerError::not_found());
    }
    if c.consumed_at.is_some() {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::SmsCodeUsed,
        )));
    }
    if now >= c.expires_at {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::SmsCodeExpired,
        )));
    }
    if c.wrong_tries >= sms.max_wrong_tries {
        return Ok(Verdict::Refused(locked()));
    }
    let window = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(HOUR_MS));
    let fail_key = format!("sms-fail:{}", check.requester);
    if tx.counter(&fail_key, window)? >= MAX_FAILURES_PER_HOUR {
        return Ok(Verdict::Refused(ServerError::of(
            ServerErrorCode::TooManyFailures,
        )));
    }
    let typed = check.code.trim();
    let ok = typed.len() == 6
        && typed.bytes().all(|b| b.is_ascii_digit())
        && constant_time_eq(&sha256(&[&c.salt, typed.as_bytes()]), &c.code_hash);
    if !ok {
        tx.record_sms_wrong_try(&c.id)?;
        tx.bump_counter(&fail_key, window)?;
        let left = sms.max_wrong_tries.saturating_sub(c.wrong_tries + 1);
        if left == 0 {
            return Ok(Verdict::Refused(locked()));
        }
        return Ok(Verdict::Refused(
            ServerError::of(ServerErrorCode::SmsCodeWrong { tries_left: left }).field("code"),
        ));
    }
    tx.consume_sms_challenge(&c.id, now)?;
    Ok(Verdict::Done(c))
}
