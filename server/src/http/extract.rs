//! Request extractors that answer in the API's error shape: JSON bodies (415, 400, 422 with the field
//! named, 413 from the body limit) and path ids.

use crate::error::{InvalidField, MissingField, ServerError, ServerErrorCode, ServerResult};
use crate::http::idempotency::{write_answer, Answer};
use crate::policies::Policies;
use crate::state::SharedState;
use crate::store::Tx;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The application state as handlers take it.
pub type Ctx = axum::extract::State<SharedState>;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest body of the one upload route (the review photo): its own limit and some room, so that a photo
/// just over its limit gets the photo's own code.
pub const UPLOAD_LIMIT: usize = crate::flows::review::PHOTO_LIMIT + BODY_LIMIT;

/// The body limit of a request to `path` (inside `/api/v1`).
pub fn body_limit(path: &str) -> usize {
    if path.ends_with("/review-photo") {
        UPLOAD_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// A JSON request body, parsed with the failing field named.
pub struct ApiJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServerError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            return Err(json_error(&path, &inner));
        }
    };
    de.end().map_err(|e| json_error("", &e))?;
    Ok(value)
}

/// The field's full path: serde_path_to_error already ends some paths with the field itself.
fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() || prefix == "." {
        name.to_owned()
    } else if prefix == name || prefix.ends_with(&format!(".{name}")) {
        prefix.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn json_error(path: &str, e: &serde_json::Error) -> ServerError {
    use serde_json::error::Category;
    let text = e.to_string();
    // serde_json appends " at line L column C": useful for syntax, noise for data errors.
    let problem = text.split(" at line ").next().unwrap_or(&text).to_owned();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ServerError::of(ServerErrorCode::MalformedJson { detail: text })
        }
        Category::Data => {
            let field = if let Some(rest) = problem.strip_prefix("unknown field `") {
                let name = rest.split('`').next().unwrap_or("");
                let prefix = path.trim_end_matches('.');
                let full = join_path(prefix, name);
                return ServerError::of(ServerErrorCode::UnknownField {
                    field: full.clone(),
                })
                .field(full);
            } else if let Some(rest) = problem.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or("");
                let prefix = path.trim_end_matches('.');
                let full = join_path(prefix, name);
                return ServerError::of(ServerErrorCode::MissingField(MissingField::Named(
                    full.clone(),
                )))
                .field(full);
            } else {
                path.to_owned()
            };
            let field = if field == "." { String::new() } else { field };
            let mut err = ServerError::of(ServerErrorCode::InvalidField(InvalidField::Value {
                field: field.clone(),
                problem,
            }));
            if !field.is_empty() {
                err = err.field(field);
            }
            err
        }
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // Two Content-Type headers are ambiguous: the first one need not be what a proxy saw.
        // No body at all reads as `{}`: commits whose fields are all optional need not send one.
        let no_body = content_type.is_empty()
            && req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0")
            && req
                .headers()
                .get(axum::http::header::TRANSFER_ENCODING)
                .is_none();
        if no_body {
            return parse_json(b"{}").map(ApiJson);
        }
        if !is_json(content_type) || req.headers().get_all(CONTENT_TYPE).iter().count() > 1 {
            return Err(ServerError::of(ServerErrorCode::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ServerError::of(ServerErrorCode::BodyUnreadable)
            }
        })?;
        // Every request body is a JSON object; serde would also take a struct from an array of its
        // fields in order, a form no client is meant to send.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ServerError::of(ServerErrorCode::InvalidField(
                InvalidField::BodyNotAnObject,
            )));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn too_large() -> ServerError {
    ServerError::of(ServerErrorCode::PayloadTooLarge)
}

/// Who asks, and when: the signed-in person, their account, the one instant the request is decided at,
/// and the channel it came by (the kiosk channel only for a request whose kiosk signature held).
#[derive(Clone, Copy)]
pub struct Who {
    pub person: i64,
    /// None for a kiosk's session, which belongs to a person and no account.
    pub account: Option<i64>,
    pub now: renche::Timestamp,
    pub channel: renche::domain::Channel,
}

impl Who {
    fn of(me: &crate::http::guard::SignedIn, state: &crate::state::AppState, parts: &Parts) -> Who {
        let kiosk = parts.extensions.get::<crate::http::guard::KioskChannel>();
        Who {
            person: me.person_id,
            account: me.account_id,
            now: state.now(),
            channel: if kiosk.is_some() {
                renche::domain::Channel::Kiosk
            } else {
                renche::domain::Channel::App
            },
        }
    }
}

/// What a flow run by a handler gets besides the transaction: the policies in force and who asks when.
pub trait AskedFlow<T>:
    FnOnce(&mut dyn Tx, &Policies, Who) -> ServerResult<T> + Send + 'static
{
}
impl<T, F: FnOnce(&mut dyn Tx, &Policies, Who) -> ServerResult<T> + Send + 'static> AskedFlow<T>
    for F
{
}

/// A signed-in person's request without a body, as a handler takes it.
pub struct Asking {
    pub state: SharedState,
    pub me: crate::http::guard::SignedIn,
    pub who: Who,
    /// The browser made a change of late (the recent-write cookie): its reads see the primary.
    pub wrote_recently: bool,
}

impl Asking {
    /// Runs `flow` in one read snapshot.
    pub async fn read<T: Send + 'static>(&self, flow: impl AskedFlow<T>) -> ServerResult<T> {
        let (policies, who) = (self.state.policies(), self.who);
        self.state.read(move |tx| flow(tx, &policies, who)).await
    }

    /// Runs `flow` in one read snapshot that may come from the standby (`AppState::read_may_lag`).
    pub async fn read_may_lag<T: Send + 'static>(
        &self,
        flow: impl AskedFlow<T>,
    ) -> ServerResult<T> {
        let (policies, who) = (self.state.policies(), self.who);
        self.state
            .read_may_lag(self.wrote_recently, move |tx| flow(tx, &policies, who))
            .await
    }

    /// Runs `flow` in one write transaction: a read whose looking is itself recorded (an officer's audit).
    pub async fn write<T: Send + 'static>(&self, flow: impl AskedFlow<T>) -> ServerResult<T> {
        let (policies, who) = (self.state.policies(), self.who);
        self.state.write(move |tx| flow(tx, &policies, who)).await
    }
}

impl FromRequestParts<SharedState> for Asking {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ServerResult<Self> {
        let me = crate::http::guard::SignedIn::from_request_parts(parts, state).await?;
        let who = Who::of(&me, state, parts);
        Ok(Asking {
            state: Arc::clone(state),
            me,
            who,
            // Only looked for where it matters.
            wrote_recently: state.replica.is_some()
                && crate::http::guard::wrote_recently(&parts.headers),
        })
    }
}

/// A signed-in person's state change, as its handler takes it: the state, who asks, the idempotency key
/// its answer is stored under, and the JSON body (the last extractor, since it reads the body).
pub struct Change<B> {
    pub state: SharedState,
    pub me: crate::http::guard::SignedIn,
    pub who: Who,
    pub key: crate::http::guard::AnswerKey,
    pub body: B,
}

impl<B: Send + 'static> Change<B> {
    /// Commits `flow` with the answer it makes stored under the request's key (`write_answer`).
    pub async fn commit(
        self,
        flow: impl FnOnce(&mut dyn Tx, &Policies, B, Who) -> ServerResult<Answer> + Send + 'static,
    ) -> ServerResult<Response> {
        let (policies, who, body) = (self.state.policies(), self.who, self.body);
        write_answer(&self.state, &self.key, move |tx| {
            flow(tx, &policies, body, who)
        })
        .await
    }
}

/// The body of a state change that says nothing but that it is wanted: `{}` or none.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

impl<B: DeserializeOwned> FromRequest<SharedState> for Change<B> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let me = crate::http::guard::SignedIn::from_request_parts(&mut parts, state).await?;
        let key = crate::http::guard::AnswerKey::of(&parts);
        let who = Who::of(&me, state, &parts);
        let ApiJson(body) = ApiJson::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Change {
            state: Arc::clone(state),
            who,
            me,
            key,
            body,
        })
    }
}

/// The one path parameter of a route, as text; a route without one is simply not found.
async fn path_text<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ServerError> {
    let axum::extract::Path(raw): axum::extract::Path<String> =
        axum::extract::Path::from_request_parts(parts, state)
            .await
            .map_err(|_| ServerError::not_found())?;
    Ok(raw)
}

/// A numeric id in the path; anything else is simply not found.
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = path_text(parts, state).await?;
        raw.parse::<i64>()
            .map(PathId)
            .map_err(|_| ServerError::not_found())
    }
}

/// An opaque token id in the path (applications, SMS challenges).
pub struct PathToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathToken {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = path_text(parts, state).await?;
        if raw.is_empty() || raw.len() > 64 || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ServerError::not_found());
        }
        Ok(PathToken(raw))
    }
}

/// Bindings are not made at kiosks unless the city's policy lists the kiosk among its binding channels: a
/// binding request signed by a kiosk is refused with the core's reason, whatever it asks.
pub struct NotAtKiosk;

impl FromRequestParts<SharedState> for NotAtKiosk {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ServerResult<Self> {
        let Some(kiosk) = parts.extensions.get::<crate::http::guard::KioskChannel>() else {
            return Ok(NotAtKiosk);
        };
        let policies = state.policies();
        let policy = policies.for_city(&kiosk.city, state.now());
        let kiosk_channel = renche::domain::Channel::Kiosk;
        if policy
            .rules
            .policy()
            .binding_channels
            .contains(&kiosk_channel)
        {
            return Ok(NotAtKiosk);
        }
        let reason = renche::Reason::of(&renche::Refusal::BindingChannelNotSupported {
            channel: kiosk_channel,
        });
        Err(ServerError::refused(crate::flows::decision::Decision::new(
            false,
            vec![reason],
            policy.version(),
            &crate::flows::decision::ClientExpectation::default(),
        )))
    }
}

/// A request from the window console: the officer asking (the flow checks the role again inside its
/// transaction) and the query that names whom or what they look up.
pub struct AtWindow<Q> {
    pub asking: Asking,
    pub query: Q,
}

impl<Q: DeserializeOwned + Send> FromRequestParts<SharedState> for AtWindow<Q> {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ServerResult<Self> {
        // Who asks first: without a session the answer is 401, whatever the query.
        let asking = Asking::from_request_parts(parts, state).await?;
        let ApiQuery(query) = ApiQuery::<Q>::from_request_parts(parts, state).await?;
        Ok(AtWindow { asking, query })
    }
}

/// Query parameters, refused in the API's error shape (422 naming the problem) rather than as plain text.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| bad_query(&e.body_text()))
    }
}

pub fn bad_query(problem: &str) -> ServerError {
    ServerError::of(ServerErrorCode::InvalidQuery {
        problem: problem.to_owned(),
    })
}

/// A phone number from the request, naming its field when the core's parser refuses it.
pub fn parse_phone(field: &str, input: &str) -> Result<renche::domain::PhoneNumber, ServerError> {
    renche::domain::PhoneNumber::parse(input).map_err(|e| ServerError::invalid(field, &e))
}

/// A plate from its two request fields, `plateType` and `plateNumber`, naming the one the core refuses.
pub fn parse_plate(
    plate_type: &str,
    plate_number: &str,
) -> Result<(renche::domain::PlateType, renche::domain::PlateNumber), ServerError> {
    let plate_type = renche::domain::PlateType::parse(plate_type)
        .map_err(|e| ServerError::invalid("plateType", &e))?;
    let plate = renche::domain::PlateNumber::parse(plate_number, plate_type)
        .map_err(|e| ServerError::invalid("plateNumber", &e))?;
    Ok((plate_type, plate))
}

/// A plate number from the request's `plateNumber` field, given without its type: its normal form.
pub fn parse_untyped_plate(plate_number: &str) -> Result<String, ServerError> {
    let readings = renche::domain::PlateNumber::parse_untyped(plate_number)
        .map_err(|e| ServerError::invalid("plateNumber", &e))?;
    readings
        .first()
        .map(|p| p.as_str().to_owned())
        .ok_or_else(|| ServerError::internal("an untyped plate parsed to no reading"))
}

/// A resident ID number from the request's `residentId` field.
pub fn parse_resident_id(input: &str) -> Result<renche::domain::ResidentId, ServerError> {
    renche::domain::ResidentId::parse(input).map_err(|e| ServerError::invalid("residentId", &e))
}

/// An id from a query or body field, naming the field when it is not a whole number.
pub fn parse_id(field: &str, s: &str) -> Result<i64, ServerError> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| ServerError::invalid_value(field, "an id is a whole number"))
}

/// The client address the SMS caps count a request by (see `crate::netaddr`): the socket's peer, or the
/// client a trusted proxy names. `unknown` when the server runs without connect info (never in `serve`).
pub struct ClientAddr(pub String);

impl FromRequestParts<SharedState> for ClientAddr {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ServerResult<Self> {
        let Some(peer) = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(ClientAddr("unknown".to_owned()));
        };
        let values = |name: &str| -> Vec<&str> {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        };
        let ip = crate::netaddr::client_ip(
            peer,
            &state.trusted_proxies,
            &values("forwarded"),
            &values("x-forwarded-for"),
        );
        Ok(ClientAddr(crate::netaddr::counting_key(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        plate_number: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        count: u32,
        inner: Inner,
    }

    fn err(json: &str) -> ServerError {
        match parse_json::<Outer>(json.as_bytes()) {
            Err(e) => e,
            Ok(v) => panic!("parsed {v:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = err("{");
        assert_eq!(
            (e.kind, &*e.code),
            (ErrorKind::BadRequest, "MALFORMED_JSON")
        );
        let e = err(r#"{"count":1,"inner":{"plateNumber":"x","extra":1}}"#);
        assert_eq!(
            (&*e.code, e.field.as_deref()),
            ("UNKNOWN_FIELD", Some("inner.extra"))
        );
        let e = err(r#"{"count":1,"inner":{}}"#);
        assert_eq!(
            (&*e.code, e.field.as_deref()),
            ("MISSING_FIELD", Some("inner.plateNumber"))
        );
        let e = err(r#"{"count":"one","inner":{"plateNumber":"x"}}"#);
        assert_eq!(
            (&*e.code, e.field.as_deref()),
            ("INVALID_FIELD", Some("count"))
        );
        let e = err(r#"{"count":1,"inner":{"plateNumber":"x"}} trailing"#);
        assert_eq!(&*e.code, "MALFORMED_JSON");
    }
}
