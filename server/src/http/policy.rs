//! `GET /policy`: the policy document a browser evaluates with, cached by its version.

use crate::error::ServerError;
use crate::http::extract::{ApiQuery as Query, Ctx};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PolicyQuery {
    city: Option<String>,
}

pub(super) async fn get_policy(
    State(state): Ctx,
    Query(q): Query<PolicyQuery>,
    headers: HeaderMap,
) -> Result<Response, ServerError> {
    let (now, policies) = (state.now(), state.policies());
    let (policy, next) = match q.city.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => (policies.default_policy(), None),
        Some(code) if code == policies.default_policy().rules.policy().city.code => {
            (policies.default_policy(), None)
        }
        Some(code) => (
            policies
                .city(code, now)
                .ok_or_else(ServerError::not_found)?,
            policies.next_for_city(code, now),
        ),
    };
    // The version that takes over next and when, so that a page can ask again at that instant and switch
    // with the server.
    let next_headers: Vec<(&'static str, HeaderValue)> = match next {
        Some(n) => {
            let at = n.rules.policy().effective_from.map(|t| t.to_string());
            [
                ("x-policy-next-version", Some(n.version().to_owned())),
                ("x-policy-next-effective-from", at),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, HeaderValue::from_str(&value?).ok()?)))
            .collect()
        }
        None => vec![],
    };
    let etag =
        HeaderValue::from_str(&policy.etag).map_err(|e| ServerError::internal(e.to_string()))?;
    let matches = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == policy.etag || t.trim() == "*")
        });
    let cache = HeaderValue::from_static("no-cache");
    let mut response = if matches {
        (
            StatusCode::NOT_MODIFIED,
            [(ETAG, etag), (CACHE_CONTROL, cache)],
        )
            .into_response()
    } else {
        (
            StatusCode::OK,
            [
                (ETAG, etag),
                (CACHE_CONTROL, cache),
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            ],
            policy.json.as_ref().clone(),
        )
            .into_response()
    };
    for (name, value) in next_headers {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CityView {
    code: String,
    name_zh: String,
    name_en: String,
    version: String,
    feature_enabled: bool,
    /// The version that takes over next, and from when.
    next: Option<NextView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextView {
    version: String,
    effective_from: Option<renche::Timestamp>,
    feature_enabled: bool,
}

pub(super) async fn list_cities(State(state): Ctx) -> Json<Vec<CityView>> {
    let (now, policies) = (state.now(), state.policies());
    let views = std::iter::once(policies.default_policy())
        .chain(policies.cities(now))
        .map(|c| {
            let p = c.rules.policy();
            let next = policies.next_for_city(&p.city.code, now).map(|n| {
                let np = n.rules.policy();
                NextView {
                    version: np.version.clone(),
                    effective_from: np.effective_from,
                    feature_enabled: np.feature_enabled,
                }
            });
            CityView {
                code: p.city.code.clone(),
                name_zh: p.city.name_zh.clone(),
                name_en: p.city.name_en.clone(),
                version: p.version.clone(),
                feature_enabled: p.feature_enabled,
                next,
            }
        })
        .collect();
    Json(views)
}
