//! Sessions, registration and sign-in by SMS code, the person's own record and notifications; and the
//! one-time SMS codes shared with the SMS binding flow.

use super::{audit, read, write, write_answer_with, Answer, PersonView};
use crate::app::SharedState;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::extract::ApiJson;
use crate::guard::{
    clear_cookie, session_cookie, token_hash, AnswerKey, Caller, SignedIn, SESSION_LIFETIME_MS,
};
use crate::secrets::{constant_time_eq, random_bytes, random_hex, sha256, six_digit_code};
use crate::store::{NewPerson, Role, SmsChallengeRow, SmsCountKey, SmsPurpose, Tx};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use renche::domain::{PhoneNumber, ResidentId};
use renche::params;
use renche::policy::SmsPolicy;
use renche::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;
/// Wrong codes one requester may enter in any hour, across all challenges (ASVS: at most 100).
const MAX_FAILURES_PER_HOUR: u32 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    csrf_token: String,
    person: Option<PersonView>,
}

/// Creates a session row and returns (token, CSRF token). The token itself is never stored.
pub fn new_session(
    tx: &mut dyn Tx,
    person_id: Option<i64>,
    now: Timestamp,
) -> ApiResult<(String, String)> {
    let token = random_hex(32);
    let csrf = random_hex(32);
    let expires = Timestamp::from_millis(now.millis() + SESSION_LIFETIME_MS);
    tx.insert_session(&token_hash(&token), person_id, &csrf, now, expires)?;
    Ok((token, csrf))
}

pub async fn get_session(
    State(state): State<SharedState>,
    Caller(session): Caller,
) -> ApiResult<Response> {
    let now = state.now();
    if let Some(s) = session {
        let person = match s.person_id {
            Some(id) => read(&state, move |tx| Ok(tx.person(id)?))
                .await?
                .map(|p| PersonView::of(&p, now)),
            None => None,
        };
        return Ok(Json(SessionView {
            csrf_token: s.csrf_token,
            person,
        })
        .into_response());
    }
    let (token, csrf) = write(&state, move |tx| new_session(tx, None, now)).await?;
    let mut resp = Json(SessionView {
        csrf_token: csrf,
        person: None,
    })
    .into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, session_cookie(&token, state.secure_cookies));
    Ok(resp)
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountPurpose {
    Register,
    SignIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsCodeRequest {
    phone: String,
    purpose: AccountPurpose,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeView {
    pub challenge_id: String,
    pub expires_at: Timestamp,
    pub resend_after: Timestamp,
}

pub fn parse_phone(field: &str, input: &str) -> ApiResult<PhoneNumber> {
    PhoneNumber::parse(input).map_err(|e| ApiError::invalid(field, &e))
}

pub fn too_soon(retry_after_ms: i64) -> ApiError {
    let secs = (retry_after_ms + 999) / 1000;
    ApiError::new(
        ErrorKind::TooManyRequests,
        "SMS_RESEND_TOO_SOON",
        format!("发送过于频繁,请{secs}秒后再试"),
        format!("Too soon; try again in {secs} s"),
    )
    .params(params![retryAfterSeconds = secs])
}

pub fn daily_cap(limit: u32) -> ApiError {
    ApiError::new(
        ErrorKind::TooManyRequests,
        "SMS_DAILY_CAP_REACHED",
        format!("今日验证码发送次数已达上限({limit}次)"),
        format!("The daily limit of {limit} codes has been reached"),
    )
    .params(params![limit = limit])
}

/// A fresh challenge with its code; the code is returned so it can be delivered, and stored only hashed.
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

pub fn new_challenge(
    target: ChallengeTarget,
    now: Timestamp,
    sms: &SmsPolicy,
) -> (SmsChallengeRow, String) {
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
        phone,
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
    (row, code)
}

pub fn challenge_view(c: &SmsChallengeRow, sms: &SmsPolicy) -> ChallengeView {
    ChallengeView {
        challenge_id: c.id.clone(),
        expires_at: c.expires_at,
        resend_after: c
            .created_at
            .plus_seconds(i64::from(sms.resend_cooldown_seconds)),
    }
}

pub fn sms_text(code: &str, minutes: u32) -> String {
    format!("【交管12123】您的验证码是{code},{minutes}分钟内有效。请勿告诉他人。")
}

/// Hands codes to the SMS gateway after the answer, so the answer's timing says nothing.
pub fn deliver(state: &SharedState, phone: String, code: String, now: Timestamp, sms: &SmsPolicy) {
    let text = sms_text(&code, sms.code_lifetime_seconds / 60);
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = state.sms.send(phone, text, code, now).await {
            tracing::warn!(error = %e, "SMS not delivered");
        }
    });
}

/// Checks a typed code against a challenge. Wrong tries are counted (and kept) even though the answer
/// is an error, hence the nested result: the outer one rolls back, the inner one commits.
pub fn check_code(
    tx: &mut dyn Tx,
    challenge_id: &str,
    requester: &str,
    purpose: SmsPurpose,
    code: &str,
    now: Timestamp,
    sms: &SmsPolicy,
) -> ApiResult<Result<SmsChallengeRow, ApiError>> {
    let c = tx
        .sms_challenge(challenge_id)?
        .ok_or_else(ApiError::not_found)?;
    if c.requester != requester || c.purpose != purpose {
        return Err(ApiError::not_found());
    }
    if c.consumed_at.is_some() {
        return Ok(Err(ApiError::new(
            ErrorKind::Gone,
            "SMS_CODE_USED",
            "验证码已使用,请重新获取",
            "This code was already used; ask for a new one",
        )));
    }
    if now >= c.expires_at {
        return Ok(Err(ApiError::new(
            ErrorKind::Gone,
            "SMS_CODE_EXPIRED",
            "验证码已过期,请重新获取",
            "The code has expired; ask for a new one",
        )));
    }
    if c.wrong_tries >= sms.max_wrong_tries {
        return Ok(Err(locked()));
    }
    let window = Timestamp::from_millis(now.millis() - now.millis().rem_euclid(HOUR_MS));
    let fail_key = format!("sms-fail:{requester}");
    if tx.counter(&fail_key, window)? >= MAX_FAILURES_PER_HOUR {
        return Ok(Err(ApiError::new(
            ErrorKind::TooManyRequests,
            "TOO_MANY_FAILURES",
            "错误次数过多,请一小时后再试",
            "Too many wrong codes; try again in an hour",
        )));
    }
    let typed = code.trim();
    let ok = typed.len() == 6
        && typed.bytes().all(|b| b.is_ascii_digit())
        && constant_time_eq(&sha256(&[&c.salt, typed.as_bytes()]), &c.code_hash);
    if !ok {
        tx.record_sms_wrong_try(&c.id)?;
        tx.bump_counter(&fail_key, window)?;
        let left = sms.max_wrong_tries.saturating_sub(c.wrong_tries + 1);
        if left == 0 {
            return Ok(Err(locked()));
        }
        return Ok(Err(ApiError::new(
            ErrorKind::Unprocessable,
            "SMS_CODE_WRONG",
            format!("验证码错误,还可尝试{left}次"),
            format!("Wrong code; {left} tries left"),
        )
        .field("code")
        .params(params![triesLeft = left])));
    }
    tx.consume_sms_challenge(&c.id, now)?;
    Ok(Ok(c))
}

fn locked() -> ApiError {
    ApiError::new(
        ErrorKind::Unprocessable,
        "SMS_CODE_LOCKED",
        "验证码错误次数过多,已失效,请重新获取",
        "Too many wrong tries: this code no longer works; ask for a new one",
    )
    .field("code")
}

pub async fn send_sms_code(
    State(state): State<SharedState>,
    Caller(session): Caller,
    key: AnswerKey,
    ApiJson(body): ApiJson<SmsCodeRequest>,
) -> ApiResult<Response> {
    let session = session.ok_or_else(ApiError::unauthenticated)?;
    let phone = parse_phone("phone", &body.phone)?;
    let now = state.now();
    let sms = state.policies.default_policy().rules.policy().sms.clone();
    let requester = session.scope();
    let sms_for_job = sms.clone();
    let (resp, delivery) = write_answer_with(&state, &key, move |tx| {
        let key = SmsCountKey::Phone(phone.as_str().to_owned());
        if let Some(last) = tx.last_sms_challenge_at(&key)? {
            let wait = last.millis() + i64::from(sms_for_job.resend_cooldown_seconds) * 1000
                - now.millis();
            if wait > 0 {
                return Err(too_soon(wait));
            }
        }
        if tx.count_sms_challenges(&key, now.cst_date().start())? >= sms_for_job.daily_cap_per_phone
        {
            return Err(daily_cap(sms_for_job.daily_cap_per_phone));
        }
        let (purpose, deliver) = match body.purpose {
            AccountPurpose::Register => (SmsPurpose::Register, true),
            // Only a registered phone can sign in; the answer is the same either way.
            AccountPurpose::SignIn => (
                SmsPurpose::SignIn,
                tx.person_by_phone(phone.as_str())?
                    .is_some_and(|p| p.registered_at.is_some()),
            ),
        };
        let target = ChallengeTarget {
            purpose,
            requester: requester.clone(),
            phone: Some(phone.as_str().to_owned()),
            plate_key: None,
            vehicle_id: None,
            delivered: deliver,
        };
        let (row, code) = new_challenge(target, now, &sms_for_job);
        tx.insert_sms_challenge(&row)?;
        let answer = Answer::json(StatusCode::ACCEPTED, &challenge_view(&row, &sms_for_job))?;
        Ok((answer, deliver.then(|| (phone.as_str().to_owned(), code))))
    })
    .await?;
    if let Some((to, code)) = delivery {
        deliver(&state, to, code, now, &sms);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    challenge_id: String,
    code: String,
    name: String,
    resident_id: String,
    phone: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedInView {
    person: PersonView,
    csrf_token: String,
}

fn parse_name(input: &str) -> ApiResult<String> {
    let name = input.trim();
    let n = name.chars().count();
    if n == 0 || n > 40 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_value(
            "name",
            "a name is 1 to 40 characters",
        ));
    }
    Ok(name.to_owned())
}

fn signed_in_response(
    state: &SharedState,
    status: StatusCode,
    person: PersonView,
    token: &str,
    csrf: String,
) -> Response {
    let mut resp = (
        status,
        Json(SignedInView {
            person,
            csrf_token: csrf,
        }),
    )
        .into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, session_cookie(token, state.secure_cookies));
    resp
}

fn conflict(code: &'static str, zh: &str, en: &str, field: &str) -> ApiError {
    ApiError::new(ErrorKind::Conflict, code, zh.to_owned(), en.to_owned()).field(field)
}

pub async fn register(
    State(state): State<SharedState>,
    Caller(session): Caller,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let session = session.ok_or_else(ApiError::unauthenticated)?;
    let name = parse_name(&body.name)?;
    let resident_id =
        ResidentId::parse(&body.resident_id).map_err(|e| ApiError::invalid("residentId", &e))?;
    let phone = parse_phone("phone", &body.phone)?;
    let now = state.now();
    let sms = state.policies.default_policy().rules.policy().sms.clone();
    let requester = session.scope();
    let old_session = session.token_hash.clone();
    let (person, token, csrf) = write(&state, move |tx| {
        let c = match check_code(
            tx,
            &body.challenge_id,
            &requester,
            SmsPurpose::Register,
            &body.code,
            now,
            &sms,
        )? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if c.phone.as_deref() != Some(phone.as_str()) {
            return Ok(Err(ApiError::invalid_value(
                "phone",
                "the code was sent to another phone number",
            )));
        }
        let by_phone = tx.person_by_phone(phone.as_str())?;
        if by_phone.as_ref().is_some_and(|p| p.registered_at.is_some()) {
            return Ok(Err(conflict(
                "PHONE_ALREADY_REGISTERED",
                "该手机号码已注册,请直接登录",
                "This phone number is already registered; sign in instead",
                "phone",
            )));
        }
        let id = match tx.person_by_resident_id(resident_id.as_str())? {
            Some(p) if p.registered_at.is_some() => {
                return Ok(Err(conflict(
                    "RESIDENT_ID_ALREADY_REGISTERED",
                    "该身份证号码已注册",
                    "This resident ID number is already registered",
                    "residentId",
                )))
            }
            Some(p) => {
                // An imported record (e.g. a licence holder) is claimed by the person it names.
                if p.name != name {
                    return Ok(Err(conflict(
                        "IDENTITY_MISMATCH",
                        "姓名与身份证号码不符",
                        "The name does not match the resident ID number",
                        "name",
                    )));
                }
                if by_phone.as_ref().is_some_and(|o| o.id != p.id) {
                    return Ok(Err(conflict(
                        "PHONE_ALREADY_REGISTERED",
                        "该手机号码已被使用",
                        "This phone number is in use",
                        "phone",
                    )));
                }
                tx.register_person(p.id, &name, phone.as_str(), now)?;
                p.id
            }
            None => {
                if by_phone.is_some() {
                    return Ok(Err(conflict(
                        "PHONE_ALREADY_REGISTERED",
                        "该手机号码已被使用",
                        "This phone number is in use",
                        "phone",
                    )));
                }
                tx.insert_person(&NewPerson {
                    name: name.clone(),
                    resident_id: resident_id.clone(),
                    phone: phone.clone(),
                    registered_at: Some(now),
                    identity_verified: false,
                    role: Role::Person,
                    licence: None,
                    created_at: now,
                })?
            }
        };
        tx.link_vehicles_to_owner(resident_id.as_str(), id)?;
        tx.delete_session(&old_session)?;
        let (token, csrf) = new_session(tx, Some(id), now)?;
        audit(
            tx,
            now,
            Some(id),
            "person.registered",
            format!("person:{id}"),
            json!({}),
        )?;
        let person = tx
            .person(id)?
            .ok_or_else(|| ApiError::internal("person vanished"))?;
        Ok(Ok((PersonView::of(&person, now), token, csrf)))
    })
    .await??;
    Ok(signed_in_response(
        &state,
        StatusCode::CREATED,
        person,
        &token,
        csrf,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInRequest {
    challenge_id: String,
    code: String,
    phone: String,
}

pub async fn sign_in(
    State(state): State<SharedState>,
    Caller(session): Caller,
    ApiJson(body): ApiJson<SignInRequest>,
) -> ApiResult<Response> {
    let session = session.ok_or_else(ApiError::unauthenticated)?;
    let phone = parse_phone("phone", &body.phone)?;
    let now = state.now();
    let sms = state.policies.default_policy().rules.policy().sms.clone();
    let requester = session.scope();
    let old_session = session.token_hash.clone();
    let (person, token, csrf) = write(&state, move |tx| {
        let c = match check_code(
            tx,
            &body.challenge_id,
            &requester,
            SmsPurpose::SignIn,
            &body.code,
            now,
            &sms,
        )? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let person = match tx.person_by_phone(phone.as_str())? {
            Some(p) if p.registered_at.is_some() && c.phone.as_deref() == Some(phone.as_str()) => p,
            _ => {
                return Ok(Err(ApiError::invalid_value(
                    "phone",
                    "the code was sent to another phone number",
                )))
            }
        };
        tx.delete_session(&old_session)?;
        let (token, csrf) = new_session(tx, Some(person.id), now)?;
        audit(
            tx,
            now,
            Some(person.id),
            "person.signed_in",
            format!("person:{}", person.id),
            json!({}),
        )?;
        Ok(Ok((PersonView::of(&person, now), token, csrf)))
    })
    .await??;
    Ok(signed_in_response(
        &state,
        StatusCode::OK,
        person,
        &token,
        csrf,
    ))
}

pub async fn sign_out(State(state): State<SharedState>, me: SignedIn) -> ApiResult<Response> {
    let hash = me.session.token_hash.clone();
    write(&state, move |tx| Ok(tx.delete_session(&hash)?)).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, clear_cookie(state.secure_cookies));
    Ok(resp)
}

pub async fn me(State(state): State<SharedState>, me: SignedIn) -> ApiResult<Json<PersonView>> {
    let now = state.now();
    let id = me.person_id;
    let p = read(&state, move |tx| Ok(tx.person(id)?))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(Json(PersonView::of(&p, now)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationView {
    id: String,
    kind: String,
    message: renche::Message,
    created_at: Timestamp,
}

pub async fn notifications(
    State(state): State<SharedState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    let id = me.person_id;
    let rows = read(&state, move |tx| Ok(tx.notifications_of(id, 100)?)).await?;
    let views: Vec<NotificationView> = rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id.to_string(),
            kind: n.kind,
            message: renche::Message::new(n.message_zh, n.message_en),
            created_at: n.created_at,
        })
        .collect();
    Ok(Json(json!({ "notifications": views })))
}
