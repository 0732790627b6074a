//! Real-person verification through the identity provider: start one (the browser is then sent to the
//! provider's page), look at it, and finish an `account` verification with the provider's signed result.
//! An `application` verification is finished by the application's commit (`http::bindings`).

use crate::error::{ServerError, ServerErrorCode, ServerResult, Verdict};
use crate::flows::applications;
use crate::flows::identity::{self, NewVerification};
use crate::gateways::{OutboxMessage, StartRequest};
use crate::http::extract::{parse_resident_id, ApiJson, Ctx, PathToken};
use crate::http::guard::Account;
use crate::http::views::{SessionView, VerificationView};
use crate::state::SharedState;
use crate::store::{VerificationPurpose, VerificationRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct StartBody {
    purpose: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    resident_id: Option<String>,
    #[serde(default)]
    application_id: Option<String>,
    #[serde(default)]
    return_path: Option<String>,
}

fn parse_name(input: &str) -> ServerResult<String> {
    let name = input.trim();
    let n = name.chars().count();
    if n == 0 || n > 40 || name.chars().any(char::is_control) {
        return Err(ServerError::invalid_value(
            "name",
            "a name is 1 to 40 characters",
        ));
    }
    Ok(name.to_owned())
}

/// A path on this site: one leading `/`, no backslash or control characters.
fn parse_return_path(input: Option<String>) -> ServerResult<String> {
    let path = input.unwrap_or_else(|| "/".to_owned());
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 512
        && !path.chars().any(|c| c.is_control() || c == '\\');
    if !ok {
        return Err(ServerError::invalid_value(
            "returnPath",
            "a path on this site, starting with a single /",
        ));
    }
    Ok(path)
}

fn unavailable() -> ServerError {
    ServerError::of(ServerErrorCode::RealPersonVerificationUnavailable)
}

pub(super) async fn start(
    State(state): Ctx,
    me: Account,
    ApiJson(body): ApiJson<StartBody>,
) -> ServerResult<Response> {
    let purpose = VerificationPurpose::parse(&body.purpose)
        .map_err(|_| ServerError::invalid_value("purpose", "account or application"))?;
    let return_path = parse_return_path(body.return_path)?;
    let now = state.now();
    let account_id = me.account_id;
    let new = match purpose {
        VerificationPurpose::Account => {
            let name = parse_name(body.name.as_deref().unwrap_or(""))?;
            let resident_id = parse_resident_id(body.resident_id.as_deref().unwrap_or(""))?;
            NewVerification {
                account_id,
                purpose,
                resident_id,
                name,
                application_id: None,
            }
        }
        VerificationPurpose::Application => {
            let person_id = me
                .person_id
                .ok_or_else(|| ServerError::of(ServerErrorCode::IdentityNotVerified))?;
            let app_id = body.application_id.ok_or_else(|| {
                ServerError::of(crate::error::ServerErrorCode::MissingField(
                    crate::error::MissingField::Named("applicationId".into()),
                ))
                .field("applicationId")
            })?;
            let st = state.clone();
            let (person, app_id) = state
                .read(move |tx| {
                    let (a, v) = applications::own_application(tx, &app_id, person_id)?;
                    applications::require_awaiting(&a)?;
                    // No provider call (a paid one) for an application whose consent has run out.
                    crate::flows::consent::require_in_time(&st.policies(), &a, &v, now)?;
                    let p = tx
                        .person(person_id)?
                        .ok_or_else(ServerError::unauthenticated)?;
                    Ok::<_, ServerError>((p, a.id))
                })
                .await?;
            NewVerification {
                account_id,
                purpose,
                resident_id: person.resident_id.clone(),
                name: person.name.clone(),
                application_id: Some(app_id),
            }
        }
    };
    let row = state.write(move |tx| identity::open(tx, new, now)).await?;
    let return_url = match &state.public_url {
        Some(origin) => format!("{}{return_path}", origin.trim_end_matches('/')),
        None => return_path,
    };
    let request = StartRequest {
        verification_id: row.id.clone(),
        purpose: row.purpose.code().to_owned(),
        resident_id: row.resident_id.clone(),
        name: row.name.clone(),
        return_url,
    };
    let id = row.id.clone();
    match state.identity.start(request).await {
        Ok(session) => {
            let row = state
                .write(move |tx| {
                    identity::provider_started(tx, &id, &session.session_id, &session.url)
                })
                .await?;
            Ok((StatusCode::CREATED, Json(VerificationView::of(&row))).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "identity provider could not start a verification");
            state
                .write(move |tx| identity::provider_unavailable(tx, &id, now))
                .await?;
            Err(unavailable())
        }
    }
}

pub(super) async fn show(
    State(state): Ctx,
    me: Account,
    PathToken(id): PathToken,
) -> ServerResult<Json<VerificationView>> {
    let account_id = me.account_id;
    let row = state
        .read(move |tx| identity::own_verification(tx, &id, account_id))
        .await?;
    Ok(Json(VerificationView::of(&row)))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FinishBody {
    #[serde(default)]
    result: Option<String>,
}

/// The provider's signed result: the one the browser brought back, else the provider's answer.
async fn result_token(
    state: &SharedState,
    row: &VerificationRow,
    brought: Option<String>,
) -> ServerResult<String> {
    if let Some(token) = brought {
        return Ok(token);
    }
    let session = row.provider_session.clone().ok_or_else(unavailable)?;
    match state.identity.result(session).await {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(ServerError::of(ServerErrorCode::VerificationPending)),
        Err(e) => {
            tracing::warn!(error = %e, "identity provider result not available");
            Err(unavailable())
        }
    }
}

pub(super) async fn finish(
    State(state): Ctx,
    me: Account,
    PathToken(id): PathToken,
    ApiJson(body): ApiJson<FinishBody>,
) -> ServerResult<Response> {
    let account_id = me.account_id;
    let lookup = id.clone();
    let row = state
        .read(move |tx| identity::own_verification(tx, &lookup, account_id))
        .await?;
    if row.purpose != VerificationPurpose::Account {
        return Err(ServerError::not_found());
    }
    let token = result_token(&state, &row, body.result).await?;
    let key = state.identity.public_key();
    let now = state.now();
    let verdict = state
        .write(move |tx| identity::finish_account(tx, &id, account_id, &token, key.as_ref(), now))
        .await?;
    let linked = match verdict {
        Verdict::Done(linked) => linked,
        Verdict::Refused(e) => return Err(e),
    };
    if let Some(notice) = linked.notice {
        let sms = std::sync::Arc::clone(&state.sms);
        tokio::spawn(async move {
            let message = OutboxMessage {
                phone: notice.phone,
                text: notice.text,
                code: String::new(),
                sent_at: now,
            };
            if let Err(e) = sms.send(message).await {
                tracing::warn!(error = %e, "takeover notice not delivered");
            }
        });
    }
    Ok(Json(SessionView::of(
        me.session.csrf_token,
        Some(&linked.account),
        Some(&linked.person),
        now,
    ))
    .into_response())
}
