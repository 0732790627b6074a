//! A client of the backend's JSON API (docs/api.md) for browsers and Node ≥ 18.
//!
//! It asks the local rules first and answers at once when they already refuse; otherwise it sends the
//! commit with the policy version and the local answer, retries network failures and 5xx answers with
//! exponential backoff under the **same** `Idempotency-Key` (so a commit whose answer was lost is not made
//! twice), and returns the server's answer, which is the one that counts. It uses the global `fetch`,
//! `setTimeout` and `crypto` through `globalThis`, so the same code runs in a page and in Node.

use super::convert::{from_js, input_error, to_js};
use super::Rules;
use crate::contract::{
    BindingAnswer, BindingCall, Route, RouteCall, UnbindAnswer, UnbindCall, ViolationRoute,
};
use crate::domain::{Fen, Relationship};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(typescript_custom_section)]
const CLIENT_TYPES: &str = include_str!("client.d.ts");

const API: &str = "/api/v1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientOptions {
    base_url: String,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_base_delay")]
    base_delay_ms: f64,
    #[serde(default = "default_timeout")]
    timeout_ms: f64,
}

fn default_retries() -> u32 {
    4
}
fn default_base_delay() -> f64 {
    200.0
}
fn default_timeout() -> f64 {
    15_000.0
}

struct State {
    rules: crate::rules::Rules,
    csrf_token: Option<String>,
    /// Session cookies, kept only where the platform lets us read `Set-Cookie` (Node); a browser keeps
    /// its own cookie jar and never shows them.
    cookies: BTreeMap<String, String>,
}

struct Inner {
    base_url: String,
    retries: u32,
    base_delay_ms: f64,
    timeout_ms: f64,
    state: RefCell<State>,
}

impl Inner {
    // No borrow is ever held across an await, so these cannot conflict; failing soft keeps them panic-free.
    fn with_state<T>(&self, default: T, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.try_borrow_mut() {
            Ok(mut s) => f(&mut s),
            Err(_) => default,
        }
    }
    fn rules(&self) -> Option<crate::rules::Rules> {
        self.state.try_borrow().ok().map(|s| s.rules.clone())
    }
}

/// A client of the renche backend.
#[wasm_bindgen]
pub struct Client {
    inner: Rc<Inner>,
}

/// One HTTP exchange as the client saw it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiResponse {
    status: u16,
    ok: bool,
    body: Value,
    replayed: bool,
    attempts: u32,
    idempotency_key: Option<String>,
}

/// The answer to a commit: the server's when it was asked, else the local refusal.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    source: &'static str,
    ok: bool,
    status: Option<u16>,
    body: Value,
    local: Value,
    decision: Value,
    reasons: Value,
    agreed: Option<bool>,
    refresh_policy: bool,
    replayed: bool,
    attempts: u32,
    idempotency_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CommitOptions {
    #[serde(default)]
    relationship: Option<Relationship>,
    #[serde(default)]
    check: Option<BindingCall>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HandleOptions {
    #[serde(default)]
    check: Option<RouteCall>,
    #[serde(default)]
    expected_owed_fen: Option<Fen>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RemoveOptions {
    #[serde(default)]
    check: Option<UnbindCall>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestOptions {
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn options<T: serde::de::DeserializeOwned + Default>(
    value: &JsValue,
    what: &str,
) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        from_js(value, what)
    }
}

#[wasm_bindgen]
impl Client {
    /// `new Client({ baseUrl, retries?, baseDelayMs?, timeoutMs? })`: retries after the first try (default 4),
    /// the first backoff (default 200 ms, doubling), and the time allowed for one try (default 15 s).
    /// Decides locally with the built-in default policy until `loadPolicy` or `useRules`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<Client, JsValue> {
        let o: ClientOptions = from_js(&options, "new Client")?;
        if !(o.base_delay_ms.is_finite() && o.base_delay_ms >= 0.0) {
            return Err(input_error(
                "new Client",
                "baseDelayMs",
                "must be a number of milliseconds, 0 or more",
            ));
        }
        if !(o.timeout_ms.is_finite() && o.timeout_ms > 0.0) {
            return Err(input_error(
                "new Client",
                "timeoutMs",
                "must be a positive number of milliseconds",
            ));
        }
        Ok(Client {
            inner: Rc::new(Inner {
                base_url: o.base_url.trim_end_matches('/').to_owned(),
                retries: o.retries.min(20),
                base_delay_ms: o.base_delay_ms,
                timeout_ms: o.timeout_ms,
                state: RefCell::new(State {
                    rules: crate::rules::Rules::new(crate::policy::Policy::default_policy()),
                    csrf_token: None,
                    cookies: BTreeMap::new(),
                }),
            }),
        })
    }

    /// Decide locally with these rules from now on (the client keeps its own copy).
    #[wasm_bindgen(js_name = useRules)]
    pub fn use_rules(&self, rules: &Rules) {
        let rules = rules.inner.clone();
        self.inner.with_state((), |s| s.rules = rules);
    }

    /// A copy of the rules the client decides with.
    pub fn rules(&self) -> Rules {
        let inner = self
            .inner
            .rules()
            .unwrap_or_else(|| crate::rules::Rules::new(crate::policy::Policy::default_policy()));
        Rules { inner }
    }

    /// The version of the policy the client decides with.
    #[wasm_bindgen(getter, js_name = policyVersion)]
    pub fn policy_version(&self) -> String {
        self.inner
            .rules()
            .map(|r| r.policy().version.clone())
            .unwrap_or_default()
    }

    /// Fetches the city's policy (`GET /api/v1/policy?city=…`, the national default without a city) and
    /// decides with it from now on. Resolves to its version.
    #[wasm_bindgen(js_name = loadPolicy, unchecked_return_type = "Promise<string>")]
    pub fn load_policy(&self, city: Option<String>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let path = match city {
                Some(c) => format!(
                    "{API}/policy?city={}",
                    String::from(js_sys::encode_uri_component(&c))
                ),
                None => format!("{API}/policy"),
            };
            let response = send(&inner, "GET", &path, None, None).await?;
            if !(200..300).contains(&response.status) {
                return Err(server_error("loadPolicy", &response));
            }
            let text = response.body.to_string();
            let policy = crate::policy::Policy::parse_with_base(
                &text,
                &crate::policy::Policy::default_policy(),
            )
            .map_err(|e| input_error("loadPolicy", &e.path, &e.problem))?;
            let version = policy.version.clone();
            inner.with_state((), |s| s.rules = crate::rules::Rules::new(policy));
            Ok(JsValue::from_str(&version))
        })
    }

    /// `GET /api/v1/session`: starts a session if there is none and keeps its CSRF token.
    #[wasm_bindgen(unchecked_return_type = "Promise<ApiResponse>")]
    pub fn session(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let response = send(&inner, "GET", &format!("{API}/session"), None, None).await?;
            to_js(&response)
        })
    }

    /// Any call of the API, e.g. `request("POST", "/api/v1/auth/sign-in", { challengeId, code, phone })`.
    /// State-changing calls carry the CSRF token (fetched first when the client has none) and an
    /// `Idempotency-Key` (the one given, or a new one reused by every retry). Resolves to the status and the
    /// JSON body whatever the status; rejects only when the server could not be reached after the retries.
    #[wasm_bindgen(unchecked_return_type = "Promise<ApiResponse>")]
    pub fn request(
        &self,
        method: String,
        path: String,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(js_name = options, unchecked_optional_param_type = "RequestOptions")]
        options_value: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let prepared = (|| {
            let opts: RequestOptions = options(&options_value, "request")?;
            let body = if body.is_undefined() {
                None
            } else {
                Some(super::convert::stringify(&body, "request")?)
            };
            Ok::<_, JsValue>((opts, body))
        })();
        wasm_bindgen_futures::future_to_promise(async move {
            let (opts, body) = prepared?;
            let method = method.to_ascii_uppercase();
            let key = changes_state(&method).then(|| opts.idempotency_key.unwrap_or_else(new_key));
            let response = send(&inner, &method, &path, body, key).await?;
            to_js(&response)
        })
    }

    /// Commits a binding application (`POST /api/v1/binding-applications/{id}/commit`). With `check` (what
    /// the page knows of the binder, the vehicle and their bindings) the local rules decide first: a local
    /// refusal answers at once, without the network.
    #[wasm_bindgen(js_name = commitBinding, unchecked_return_type = "Promise<ClientOutcome<BindingAnswer>>")]
    pub fn commit_binding(
        &self,
        #[wasm_bindgen(js_name = applicationId)] application_id: String,
        #[wasm_bindgen(js_name = options, unchecked_optional_param_type = "CommitBindingOptions")]
        options_value: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let prepared = options::<CommitOptions>(&options_value, "commitBinding");
        wasm_bindgen_futures::future_to_promise(async move {
            let o = prepared?;
            let rules = inner.rules();
            let local: Option<BindingAnswer> = match (&o.check, &rules) {
                (Some(call), Some(r)) => Some(r.check_binding(call)),
                _ => None,
            };
            if let Some(answer) = local.as_ref().filter(|a| !a.allowed) {
                let reasons = serde_json::to_value(&answer.reasons).unwrap_or(Value::Null);
                return to_js(&refused_locally(json_of(&local), reasons));
            }
            let mut body = serde_json::Map::new();
            body.insert("policyVersion".into(), Value::String(version(&rules)));
            if let Some(a) = &local {
                body.insert("expectedAllowed".into(), Value::Bool(a.allowed));
            }
            if let Some(r) = o.relationship {
                body.insert("relationship".into(), Value::String(r.code().into()));
            }
            let path = format!(
                "{API}/binding-applications/{}/commit",
                segment(&application_id)
            );
            let expected = local.as_ref().map(|a| a.allowed);
            server_outcome(
                &inner,
                &path,
                "POST",
                Some(Value::Object(body)),
                o.idempotency_key,
                json_of(&local),
                expected,
            )
            .await
        })
    }

    /// Handles and pays a violation (`POST /api/v1/violations/{id}/handle`). With `check` (a route call
    /// holding this violation) the local rules decide first: a violation they do not route online answers
    /// at once, without the network.
    #[wasm_bindgen(js_name = handleViolation, unchecked_return_type = "Promise<ClientOutcome<ViolationRoute>>")]
    pub fn handle_violation(
        &self,
        #[wasm_bindgen(js_name = violationId)] violation_id: String,
        #[wasm_bindgen(js_name = options, unchecked_optional_param_type = "HandleViolationOptions")]
        options_value: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let prepared = options::<HandleOptions>(&options_value, "handleViolation");
        wasm_bindgen_futures::future_to_promise(async move {
            let o = prepared?;
            let rules = inner.rules();
            let local: Option<ViolationRoute> = match (&o.check, &rules) {
                (Some(call), Some(r)) => {
                    let answer = r.route_violations(call);
                    let route = answer
                        .routes
                        .into_iter()
                        .find(|v| v.violation_id == violation_id);
                    Some(route.ok_or_else(|| {
                        input_error(
                            "handleViolation",
                            "check.violations",
                            "does not hold the violation to handle",
                        )
                    })?)
                }
                _ => None,
            };
            if let Some(route) = local.as_ref().filter(|r| r.route != Route::Online) {
                let reasons = serde_json::to_value(&route.reasons).unwrap_or(Value::Null);
                return to_js(&refused_locally(json_of(&local), reasons));
            }
            let mut body = serde_json::Map::new();
            body.insert("policyVersion".into(), Value::String(version(&rules)));
            if local.is_some() {
                body.insert("expectedAllowed".into(), Value::Bool(true));
            }
            if let Some(owed) = o.expected_owed_fen.or(local.as_ref().map(|r| r.owed_fen)) {
                body.insert("expectedOwedFen".into(), Value::from(owed.value()));
            }
            let path = format!("{API}/violations/{}/handle", segment(&violation_id));
            let expected = local.as_ref().map(|_| true);
            server_outcome(
                &inner,
                &path,
                "POST",
                Some(Value::Object(body)),
                o.idempotency_key,
                json_of(&local),
                expected,
            )
            .await
        })
    }

    /// Removes a binding (`DELETE /api/v1/bindings/{id}`). With `check` the local rules decide first.
    #[wasm_bindgen(js_name = removeBinding, unchecked_return_type = "Promise<ClientOutcome<UnbindAnswer>>")]
    pub fn remove_binding(
        &self,
        #[wasm_bindgen(js_name = bindingId)] binding_id: String,
        #[wasm_bindgen(js_name = options, unchecked_optional_param_type = "RemoveBindingOptions")]
        options_value: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let prepared = options::<RemoveOptions>(&options_value, "removeBinding");
        wasm_bindgen_futures::future_to_promise(async move {
            let o = prepared?;
            let local: Option<UnbindAnswer> = match (&o.check, inner.rules()) {
                (Some(call), Some(r)) => Some(r.check_unbind(call)),
                _ => None,
            };
            if let Some(answer) = local.as_ref().filter(|a| !a.allowed) {
                let reasons = serde_json::to_value(&answer.reasons).unwrap_or(Value::Null);
                return to_js(&refused_locally(json_of(&local), reasons));
            }
            let path = format!("{API}/bindings/{}", segment(&binding_id));
            let expected = local.as_ref().map(|a| a.allowed);
            server_outcome(
                &inner,
                &path,
                "DELETE",
                None,
                o.idempotency_key,
                json_of(&local),
                expected,
            )
            .await
        })
    }
}

fn version(rules: &Option<crate::rules::Rules>) -> String {
    rules
        .as_ref()
        .map(|r| r.policy().version.clone())
        .unwrap_or_default()
}

/// The local answer as JSON, so that one non-generic outcome serves every kind of answer.
fn json_of<T: Serialize>(local: &Option<T>) -> Value {
    serde_json::to_value(local).unwrap_or(Value::Null)
}

fn refused_locally(local: Value, reasons: Value) -> Outcome {
    Outcome {
        source: "local",
        ok: false,
        status: None,
        body: Value::Null,
        local,
        decision: Value::Null,
        reasons,
        agreed: None,
        refresh_policy: false,
        replayed: false,
        attempts: 0,
        idempotency_key: None,
    }
}

/// Sends a commit and reads the server's decision out of its answer, success or refusal.
async fn server_outcome(
    inner: &Rc<Inner>,
    path: &str,
    method: &str,
    body: Option<Value>,
    key: Option<String>,
    local: Value,
    expected_allowed: Option<bool>,
) -> Result<JsValue, JsValue> {
    let key = key.unwrap_or_else(new_key);
    let text = body.map(|b| b.to_string());
    let response = send(inner, method, path, text, Some(key)).await?;
    let decision = response
        .body
        .get("decision")
        .or_else(|| response.body.get("error").and_then(|e| e.get("decision")))
        .cloned()
        .unwrap_or(Value::Null);
    let reasons = decision
        .get("reasons")
        .or_else(|| response.body.get("error").and_then(|e| e.get("reasons")))
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    let server_allowed = decision.get("allowed").and_then(Value::as_bool);
    let agreed = match (
        decision.get("agreed").and_then(Value::as_bool),
        server_allowed,
        expected_allowed,
    ) {
        (Some(agreed), _, _) => Some(agreed),
        (None, Some(s), Some(l)) => Some(s == l),
        _ => None,
    };
    let ours = version(&inner.rules());
    let refresh_policy = decision
        .get("refreshPolicy")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || decision
            .get("policyVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v != ours);
    to_js(&Outcome {
        source: "server",
        ok: (200..300).contains(&response.status),
        status: Some(response.status),
        body: response.body,
        local,
        decision,
        reasons,
        agreed,
        refresh_policy,
        replayed: response.replayed,
        attempts: response.attempts,
        idempotency_key: response.idempotency_key,
    })
}

fn changes_state(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// A path segment from an id, so that an id cannot reach another endpoint.
fn segment(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

fn server_error(what: &str, r: &ApiResponse) -> JsValue {
    let code = r
        .body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("HTTP_ERROR");
    js_sys::Error::new(&format!("{what}: the server answered {} {code}", r.status)).into()
}

/// One request with retries: network failures, 5xx and "same key still in flight" are tried again after
/// 1, 2, 4 … × the base delay (with jitter), with the same idempotency key.
async fn send(
    inner: &Rc<Inner>,
    method: &str,
    path: &str,
    body: Option<String>,
    key: Option<String>,
) -> Result<ApiResponse, JsValue> {
    let is_dev = path.starts_with(&format!("{API}/dev/"));
    if changes_state(method) && !is_dev && inner.with_state(false, |s| s.csrf_token.is_none()) {
        // The first state-changing call of a session needs its CSRF token.
        Box::pin(send(inner, "GET", &format!("{API}/session"), None, None)).await?;
    }
    let url = format!("{}{}", inner.base_url, path);
    let mut attempt = 0;
    let mut new_session = false;
    loop {
        attempt += 1;
        let last = attempt > inner.retries;
        match fetch_once(inner, method, &url, body.as_deref(), key.as_deref()).await {
            Ok((status, body_value, replayed)) => {
                let code = body_value.pointer("/error/code").and_then(Value::as_str);
                // The session ended (or the token is stale): take the new session's token once and
                // try again; the server did nothing for the refused request.
                if status == 403 && code == Some("CSRF_CHECK_FAILED") && !new_session && !is_dev {
                    new_session = true;
                    inner.with_state((), |s| s.csrf_token = None);
                    Box::pin(send(inner, "GET", &format!("{API}/session"), None, None)).await?;
                    continue;
                }
                let in_flight = status == 409 && code == Some("IDEMPOTENCY_KEY_IN_USE");
                if (status >= 500 || in_flight) && !last {
                    sleep(backoff(inner, attempt)).await;
                    continue;
                }
                if let Some(token) = body_value.get("csrfToken").and_then(Value::as_str) {
                    let token = token.to_owned();
                    inner.with_state((), |s| s.csrf_token = Some(token));
                }
                return Ok(ApiResponse {
                    status,
                    ok: (200..300).contains(&status),
                    body: body_value,
                    replayed,
                    attempts: attempt,
                    idempotency_key: key,
                });
            }
            Err(e) if last => {
                let problem = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_default();
                return Err(js_sys::Error::new(&format!(
                    "{method} {path}: the server could not be reached after {attempt} tries ({problem})"
                ))
                .into());
            }
            Err(_) => sleep(backoff(inner, attempt)).await,
        }
    }
}

fn backoff(inner: &Inner, attempt: u32) -> f64 {
    let exp = inner.base_delay_ms * f64::from(1u32 << attempt.saturating_sub(1).min(10));
    // Jitter spreads out clients that failed together.
    exp.min(10_000.0) * (0.5 + js_sys::Math::random() / 2.0)
}

fn global_get(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(name))
}

fn call_method(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = global_get(target, name)?
        .dyn_into()
        .map_err(|_| js_sys::Error::new(&format!("{name} is not available here")))?;
    let array: js_sys::Array = args.iter().collect();
    f.apply(target, &array)
}

/// One `fetch`: the status, the JSON body (`null` when empty or not JSON) and whether it was a replay.
async fn fetch_once(
    inner: &Inner,
    method: &str,
    url: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> Result<(u16, Value, bool), JsValue> {
    let global: JsValue = js_sys::global().into();
    let headers = js_sys::Object::new();
    let set = |o: &js_sys::Object, k: &str, v: &str| {
        js_sys::Reflect::set(o, &JsValue::from_str(k), &JsValue::from_str(v))
    };
    set(&headers, "Accept", "application/json")?;
    if body.is_some() {
        set(&headers, "Content-Type", "application/json")?;
    }
    if changes_state(method) {
        if let Some(token) = inner.with_state(None, |s| s.csrf_token.clone()) {
            set(&headers, "X-CSRF-Token", &token)?;
        }
    }
    if let Some(key) = key {
        set(&headers, "Idempotency-Key", key)?;
    }
    let cookie = inner.with_state(String::new(), |s| {
        s.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    });
    if !cookie.is_empty() {
        set(&headers, "Cookie", &cookie)?;
    }
    let init = js_sys::Object::new();
    set(&init, "method", method)?;
    js_sys::Reflect::set(&init, &"headers".into(), &headers)?;
    if let Some(body) = body {
        set(&init, "body", body)?;
    }
    // A try that hangs (a lost answer on a kept-open connection) must end so that it can be retried.
    if let Ok(signal_class) = global_get(&global, "AbortSignal") {
        if let Ok(signal) = call_method(
            &signal_class,
            "timeout",
            &[JsValue::from_f64(inner.timeout_ms)],
        ) {
            js_sys::Reflect::set(&init, &"signal".into(), &signal)?;
        }
    }
    let promise: js_sys::Promise =
        call_method(&global, "fetch", &[JsValue::from_str(url), init.into()])?.dyn_into()?;
    let response = JsFuture::from(promise).await?;
    let status = global_get(&response, "status")?.as_f64().unwrap_or(0.0) as u16;
    let response_headers = global_get(&response, "headers")?;
    let replayed = call_method(&response_headers, "get", &["idempotent-replayed".into()])?
        .as_string()
        .as_deref()
        == Some("true");
    // Node's fetch shows Set-Cookie; a browser does not (and keeps the cookie itself).
    if let Ok(cookies) = call_method(&response_headers, "getSetCookie", &[]) {
        let pairs: Vec<(String, String)> = js_sys::Array::from(&cookies)
            .iter()
            .filter_map(|c| c.as_string())
            .filter_map(|c| {
                let pair = c.split(';').next()?.trim().to_owned();
                let (name, value) = pair.split_once('=')?;
                Some((name.trim().to_owned(), value.trim().to_owned()))
            })
            .collect();
        inner.with_state((), |s| {
            for (name, value) in pairs {
                if value.is_empty() {
                    s.cookies.remove(&name);
                } else {
                    s.cookies.insert(name, value);
                }
            }
        });
    }
    let text: js_sys::Promise = call_method(&response, "text", &[])?.dyn_into()?;
    let text = JsFuture::from(text).await?.as_string().unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((status, value, replayed))
}

async fn sleep(ms: f64) {
    let global: JsValue = js_sys::global().into();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = call_method(
            &global,
            "setTimeout",
            &[resolve.into(), JsValue::from_f64(ms)],
        );
    });
    let _ = JsFuture::from(promise).await;
}

/// A random UUID (version 4) from `crypto.getRandomValues`, which also works outside secure contexts.
fn new_key() -> String {
    let bytes = js_sys::Uint8Array::new_with_length(16);
    let global: JsValue = js_sys::global().into();
    let filled = global_get(&global, "crypto")
        .and_then(|c| call_method(&c, "getRandomValues", &[bytes.clone().into()]));
    let mut b = [0u8; 16];
    if filled.is_ok() {
        bytes.copy_to(&mut b);
    } else {
        // No Web Crypto (very old runtimes): fall back on Math.random, still unique enough for a retry key.
        for x in b.iter_mut() {
            *x = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}
