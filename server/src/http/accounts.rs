//! Sessions, registration and sign-in by SMS code, the person's own record and notifications.

use crate::error::{ServerError, ServerResult, Verdict};
use crate::flows::accounts::{self, AccountPurpose, PhoneProof, SignedIn as Opened};
use crate::flows::sessions::Session;
use crate::flows::{sessions, sms};
use crate::http::extract::{parse_phone, ApiJson, ClientAddr, Ctx};
use crate::http::guard::{clear_cookie, session_answer, Account, AnswerKey, Caller, SignedIn};
use crate::http::idempotency::{write_answer_then_deliver, Answer};
use crate::http::views::{AccountView, ChallengeView, PersonView, SessionView};
use crate::state::SharedState;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use renche::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub(super) async fn get_session(
    State(state): Ctx,
    Caller(session): Caller,
) -> ServerResult<Response> {
    let now = state.now();
    if let Some(s) = session {
        let account_id = s.account_id;
        // A kiosk's session has its person and no account.
        let kiosk_person = s.kiosk_id.and(s.person_id);
        let (account, person) = state
            .read(move |tx| match kiosk_person {
                Some(id) => Ok((None, tx.person(id)?)),
                None => accounts::parties(tx, account_id),
            })
            .await?;
        return Ok(Json(SessionView::of(
            s.csrf_token,
            account.as_ref(),
            person.as_ref(),
            now,
        ))
        .into_response());
    }
    let (token, csrf) = state.write(move |tx| sessions::open(tx, None, now)).await?;
    let view = SessionView::of(csrf, None, None, now);
    Ok(session_answer(
        StatusCode::OK,
        view,
        &token,
        state.secure_cookies,
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SmsCodeRequest {
    phone: String,
    purpose: AccountPurpose,
}

pub(super) async fn send_sms_code(
    State(state): Ctx,
    Caller(session): Caller,
    ClientAddr(address): ClientAddr,
    key: AnswerKey,
    ApiJson(body): ApiJson<SmsCodeRequest>,
) -> ServerResult<Response> {
    let session = session.ok_or_else(ServerError::unauthenticated)?;
    sms::require_gateway(&state.sms)?;
    let phone = parse_phone("phone", &body.phone)?;
    let now = state.now();
    let requester = session.scope();
    let asker = sms::Asker {
        session: hex::encode(&session.token_hash),
        account: session.person_id,
        address,
    };
    let for_job = state.policies().sms().clone();
    write_answer_then_deliver(&state, &key, move |tx| {
        let (row, delivery) =
            accounts::send_code(tx, requester, &phone, body.purpose, &for_job, now)?;
        // Counted with the challenge it opens, after the phone's own cool-down and cap have answered.
        sms::count_request(tx, &asker, row.purpose, &for_job, now)?;
        let answer = Answer::json(StatusCode::ACCEPTED, &ChallengeView::of(&row, &for_job))?;
        Ok((answer, delivery))
    })
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PhoneCodeRequest {
    challenge_id: String,
    code: String,
    phone: String,
}

/// A registration's or sign-in's body, from the anonymous session it came from.
fn phone_proof(session: Option<Session>, body: PhoneCodeRequest) -> ServerResult<PhoneProof> {
    Ok(PhoneProof {
        session: session.ok_or_else(ServerError::unauthenticated)?,
        phone: parse_phone("phone", &body.phone)?,
        challenge_id: body.challenge_id,
        code: body.code,
    })
}

/// The answer to a registration or sign-in: the person, and the new session's cookie.
fn signed_in_response(
    state: &SharedState,
    status: StatusCode,
    verdict: Verdict<Opened>,
    now: Timestamp,
) -> ServerResult<Response> {
    let opened = match verdict {
        Verdict::Done(opened) => opened,
        Verdict::Refused(e) => return Err(e),
    };
    let view = SessionView::of(
        opened.csrf_token,
        Some(&opened.account),
        opened.person.as_ref(),
        now,
    );
    Ok(session_answer(
        status,
        view,
        &opened.token,
        state.secure_cookies,
    ))
}

/// Checks the code in `body` in one write job and answers with the new session.
async fn open_by_phone(
    state: SharedState,
    session: Option<Session>,
    body: PhoneCodeRequest,
    purpose: AccountPurpose,
    status: StatusCode,
) -> ServerResult<Response> {
    let proof = phone_proof(session, body)?;
    let (now, sms_policy) = (state.now(), state.policies().sms().clone());
    let verdict = state
        .write(move |tx| accounts::open_by_phone(tx, proof, purpose, &sms_policy, now))
        .await?;
    signed_in_response(&state, status, verdict, now)
}

pub(super) async fn register(
    State(state): Ctx,
    Caller(session): Caller,
    ApiJson(body): ApiJson<PhoneCodeRequest>,
) -> ServerResult<Response> {
    open_by_phone(
        state,
        session,
        body,
        AccountPurpose::Register,
        StatusCode::CREATED,
    )
    .await
}

pub(super) async fn sign_in(
    State(state): Ctx,
    Caller(session): Caller,
    ApiJson(body): ApiJson<PhoneCodeRequest>,
) -> ServerResult<Response> {
    open_by_phone(state, session, body, AccountPurpose::SignIn, StatusCode::OK).await
}

pub(super) async fn sign_out(State(state): Ctx, Caller(session): Caller) -> ServerResult<Response> {
    // Any session with someone in it, an account's or a kiosk's.
    let session = session
        .filter(|s| s.account_id.is_some() || s.person_id.is_some())
        .ok_or_else(ServerError::unauthenticated)?;
    let hash = session.token_hash.clone();
    state
        .write(move |tx| Ok::<_, ServerError>(tx.delete_session(&hash)?))
        .await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(SET_COOKIE, clear_cookie(state.secure_cookies));
    Ok(resp)
}

pub(super) async fn me(State(state): Ctx, me: SignedIn) -> ServerResult<Json<PersonView>> {
    let now = state.now();
    let id = me.person_id;
    let p = state
        .read(move |tx| Ok::<_, ServerError>(tx.person(id)?))
        .await?
        .ok_or_else(ServerError::unauthenticated)?;
    Ok(Json(PersonView::of(&p, now)))
}

pub(super) async fn next_step(State(state): Ctx, me: Account) -> ServerResult<Json<Value>> {
    let id = me.account_id;
    let (account, person) = state
        .read(move |tx| accounts::parties(tx, Some(id)))
        .await?;
    let account = account.ok_or_else(ServerError::unauthenticated)?;
    let view = SessionView::of(String::new(), Some(&account), person.as_ref(), state.now());
    Ok(Json(
        json!({ "nextStep": view.next_step, "account": AccountView::of(&account) }),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NotificationView {
    id: String,
    kind: String,
    message: renche::Message,
    created_at: Timestamp,
    read: bool,
}

pub(super) async fn notifications(State(state): Ctx, me: SignedIn) -> ServerResult<Json<Value>> {
    let id = me.person_id;
    let rows = state
        .read(move |tx| {
            Ok::<_, ServerError>((
                tx.notifications_of(id, 100)?,
                tx.count_unread_notifications(id)?,
            ))
        })
        .await?;
    let (rows, unread) = rows;
    let views: Vec<NotificationView> = rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id.to_string(),
            kind: n.kind,
            message: renche::Message::new(n.message_zh, n.message_en),
            created_at: n.created_at,
            read: n.read_at.is_some(),
        })
        .collect();
    Ok(Json(
        json!({ "notifications": views, "unreadCount": unread }),
    ))
}
