//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. Its operations are listed
//! here beside the route table (`api_router`), and a test fails when the two name different methods and
//! paths; the error codes come from `ServerErrorCode` and the rules' refusals themselves.

use crate::error::ServerErrorCode;
use crate::http::views::{PersonView, SessionView};
use crate::http::{accounts, bindings, identity, kiosk, policy, vehicles, violations, window};
use axum::response::IntoResponse;
use renche::message::Explain;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

/// The schema of a body or query type, read from its `JsonSchema` derive.
type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, with or without a session.
    Anyone,
    /// A session cookie (an anonymous one is enough for a state change; reads answer 401 without an account).
    Session,
}

/// What a state change's request carries.
#[derive(Clone, Copy)]
enum Sends {
    Nothing,
    /// A JSON body of the type the handler takes; `None` until one is named, which a test refuses.
    Json(Option<SchemaOf>),
    Photo,
}

/// What a successful answer carries.
#[derive(Clone, Copy)]
enum Answers {
    Json(u16),
    /// 200 with the JSON view the handler answers, its schema from the view's type.
    View(SchemaOf),
    /// 200 with a list answer, `{ "<name>": [view] }` (`list_of`), each item's schema from its type.
    List(&'static str, SchemaOf),
    /// A state change: 200, 201, 202 or 204 by what it did (docs/api.md), with its JSON view when it has one.
    Change,
    Image,
}

struct Op {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: Access,
    sends: Sends,
    answers: Answers,
    /// The query type the handler takes, each field a parameter.
    query: Option<SchemaOf>,
}

const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Op {
    let change = !matches!(method.as_bytes(), b"get");
    Op {
        method,
        path,
        tag,
        summary,
        access: Access::Session,
        sends: if change {
            Sends::Json(None)
        } else {
            Sends::Nothing
        },
        answers: if change {
            Answers::Change
        } else {
            Answers::Json(200)
        },
        query: None,
    }
}

impl Op {
    const fn anyone(mut self) -> Op {
        self.access = Access::Anyone;
        self
    }
    const fn no_body(mut self) -> Op {
        self.sends = Sends::Nothing;
        self
    }
    const fn sends(mut self, sends: Sends) -> Op {
        self.sends = sends;
        self
    }
    const fn answers(mut self, answers: Answers) -> Op {
        self.answers = answers;
        self
    }
    const fn body<T: JsonSchema>(mut self) -> Op {
        self.sends = Sends::Json(Some(schema_of::<T>));
        self
    }
    const fn view<T: JsonSchema>(mut self) -> Op {
        self.answers = Answers::View(schema_of::<T>);
        self
    }
    const fn list<T: JsonSchema>(mut self, name: &'static str) -> Op {
        self.answers = Answers::List(name, schema_of::<T>);
        self
    }
    const fn query<T: JsonSchema>(mut self) -> Op {
        self.query = Some(schema_of::<T>);
        self
    }
}

/// Every operation of `api_router()`, in its order.
#[rustfmt::skip]
const OPERATIONS: &[Op] = &[
    op("get", "/openapi.json", "meta", "This document").anyone(),
    op("get", "/policy", "policy", "The policy in force (a city's with ?city=); ETag and If-None-Match").anyone().query::<policy::PolicyQuery>(),
    op("get", "/policy/cities", "policy", "The cities with a policy of their own").anyone(),
    op("get", "/session", "accounts", "The session (an anonymous one is made when there is none) and its CSRF token").anyone().view::<SessionView>(),
    op("post", "/auth/sms-code", "accounts", "Send a sign-in or registration code").body::<accounts::SmsCodeRequest>(),
    op("post", "/auth/register", "accounts", "Register a phone with its code").body::<accounts::PhoneCodeRequest>(),
    op("post", "/auth/sign-in", "accounts", "Sign in with a phone and its code").body::<accounts::PhoneCodeRequest>(),
    op("post", "/auth/sign-out", "accounts", "Sign out").no_body(),
    op("get", "/me", "accounts", "The signed-in person").view::<PersonView>(),
    op("get", "/me/next-step", "accounts", "What the account should do next"),
    op("get", "/notifications", "notifications", "The person's notices"),
    op("post", "/identity/verifications", "identity", "Start a real-person verification").body::<identity::StartBody>(),
    op("get", "/identity/verifications/{id}", "identity", "A verification's state"),
    op("post", "/identity/verifications/{id}/finish", "identity", "Hand in the provider's result").body::<identity::FinishBody>(),
    op("get", "/vehicles", "vehicles", "The person's own vehicles").list::<vehicles::OwnedVehicleView>("vehicles"),
    op("post", "/vehicles/{id}/qr-codes", "vehicles", "Make a binding QR code for an own vehicle").no_body(),
    op("get", "/bindings", "bindings", "The person's bindings, both ways").list::<bindings::MyBindingView>("bindings"),
    op("delete", "/bindings/{id}", "bindings", "Remove a binding (binder or owner)").no_body(),
    op("post", "/bindings/qr/redeem", "bindings", "Redeem an owner's QR code: opens an application").body::<bindings::RedeemRequest>(),
    op("post", "/bindings/sms/challenges", "bindings", "Ask the owner for a code by SMS").body::<bindings::SmsChallengeRequest>(),
    op("post", "/bindings/sms/challenges/{id}/confirm", "bindings", "Confirm with the owner's code: opens an application").body::<bindings::ConfirmRequest>(),
    op("get", "/binding-applications/{id}", "bindings", "An application"),
    op("post", "/binding-applications/{id}/commit", "bindings", "Commit an application after verification").body::<bindings::CommitRequest>(),
    op("post", "/binding-applications/{id}/manual-review", "bindings", "Ask for manual review instead").body::<bindings::ManualReviewRequest>(),
    op("get", "/violations", "violations", "Violations of the person's own and bound vehicles"),
    op("post", "/violations/{id}/handle", "violations", "Handle a violation (pay, take the points)").body::<violations::HandleRequest>(),
    op("get", "/window/violations", "window", "A person's violations at the window").query::<violations::WindowViolationsQuery>(),
    op("post", "/window/violations/{id}/handle", "window", "Handle a violation for a person at the window").body::<violations::WindowHandleRequest>(),
    op("get", "/window/people", "window", "Find a person by resident ID, shown in full (audited)").query::<window::PersonQuery>().view::<window::OfficerPersonView>(),
    op("get", "/window/vehicles", "window", "Find vehicles by plate number, with or without the plate type (audited)").query::<window::VehicleQuery>().list::<window::FoundVehicleView>("vehicles"),
    op("get", "/window/bindings", "window", "The active bindings a person made or of a vehicle (audited)").query::<window::BindingsQuery>().list::<window::WindowBindingView>("bindings"),
    op("post", "/window/bindings", "window", "Bind on a person's behalf").body::<window::WindowBindRequest>(),
    op("post", "/kiosk/sign-in", "kiosk", "At a kiosk (signed): sign a person in with the ID card read and the face check").body::<kiosk::KioskSignInRequest>().view::<SessionView>(),
    op("post", "/kiosk/vehicle-lookup", "kiosk", "At a kiosk (signed): a vehicle's violations by plate and engine-number suffix (audited)").body::<kiosk::VehicleLookupRequest>(),
    op("post", "/window/kiosks", "window", "Enrol a kiosk with the public key it signs its requests with").body::<window::EnrolKioskRequest>(),
    op("get", "/window/kiosks", "window", "The enrolled kiosks, enabled or not").list::<window::KioskView>("kiosks"),
    op("post", "/window/kiosks/{id}/disable", "window", "Disable a kiosk at once").no_body(),
    op("post", "/window/policy-preview", "window", "What a draft city policy would change against today's bindings and open violations (audited)").body::<window::PolicyPreviewRequest>().answers(Answers::Json(200)),
    op("get", "/window/reviews", "window", "Applications waiting for manual review"),
    op("post", "/window/reviews/{id}/approve", "window", "Approve a review: commits the binding").body::<window::ApproveRequest>(),
    op("post", "/window/reviews/{id}/reject", "window", "Reject a review with a reason").body::<window::RejectRequest>(),
    op("post", "/notifications/read", "notifications", "Mark every notice read").no_body(),
    op("post", "/notifications/{id}/read", "notifications", "Mark one notice read").no_body(),
    op("get", "/history", "history", "The person's binding history"),
    op("get", "/binding-applications", "history", "The person's applications"),
    op("get", "/owner/applications", "history", "Applications on the person's vehicles"),
    op("post", "/owner/applications/{id}/withdraw", "history", "Withdraw consent to an application").no_body(),
    op("put", "/binding-applications/{id}/review-photo", "bindings", "Upload the photo for manual review").sends(Sends::Photo),
    op("get", "/window/review-reasons", "window", "The reasons a review may be rejected for").anyone(),
    op("get", "/window/reviews/{id}", "window", "One review case"),
    op("get", "/window/reviews/{id}/photo", "window", "A review case's photo").answers(Answers::Image),
];

/// (method, path) of every operation, e.g. ("get", "/api/v1/policy").
pub fn operations() -> Vec<(String, String)> {
    OPERATIONS
        .iter()
        .map(|o| (o.method.to_owned(), format!("/api/v1{}", o.path)))
        .collect()
}

/// Every code an error answer's `code` may hold, server codes first, each once.
fn error_codes() -> (Vec<&'static str>, Vec<&'static str>) {
    let mut server: Vec<&'static str> = Vec::new();
    for e in ServerErrorCode::examples() {
        if !server.contains(&e.code()) {
            server.push(e.code());
        }
    }
    let mut rules: Vec<&'static str> = Vec::new();
    for r in renche::rules::Refusal::examples() {
        if !rules.contains(&r.code()) {
            rules.push(r.code());
        }
    }
    (server, rules)
}

fn schemas() -> Value {
    let (server, rules) = error_codes();
    json!({
        "ServerErrorCode": {
            "type": "string",
            "description": "The server's own error codes (docs/reasons.md, \"Server errors\").",
            "enum": server
        },
        "RuleReasonCode": {
            "type": "string",
            "description": "The rules' refusal codes (docs/reasons.md, \"Refusals\").",
            "enum": rules
        },
        "Message": {
            "type": "object",
            "required": ["zh", "en"],
            "properties": { "zh": { "type": "string" }, "en": { "type": "string" } }
        },
        "Reason": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": { "type": "string" },
                "params": { "type": "object" },
                "message": { "$ref": "#/components/schemas/Message" }
            }
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "description": "A server code, a rules code, or an input parser's code (docs/reasons.md).",
                            "anyOf": [
                                { "$ref": "#/components/schemas/ServerErrorCode" },
                                { "$ref": "#/components/schemas/RuleReasonCode" },
                                { "type": "string", "pattern": "^[A-Z][A-Z0-9_]*$" }
                            ]
                        },
                        "message": { "$ref": "#/components/schemas/Message" },
                        "field": { "type": "string" },
                        "params": { "type": "object" },
                        "reasons": { "type": "array", "items": { "$ref": "#/components/schemas/Reason" } },
                        "decision": { "type": "object" }
                    }
                }
            }
        }
    })
}

fn security_schemes() -> Value {
    json!({
        "session": {
            "type": "apiKey", "in": "cookie", "name": crate::http::guard::SESSION_COOKIE,
            "description": "The session cookie, set by GET /api/v1/session and replaced on sign-in."
        },
        "csrf": {
            "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "Exactly one, the csrfToken of the session, on every state change."
        },
        "idempotencyKey": {
            "type": "apiKey", "in": "header", "name": "Idempotency-Key",
            "description": "Exactly one, 1 to 128 visible ASCII characters, on every state change; a repeat answers as the first did."
        }
    })
}

fn operation(o: &Op, generator: &mut SchemaGenerator, views: &mut SchemaGenerator) -> Value {
    let change = o.method != "get";
    let mut parameters: Vec<Value> = Vec::new();
    if o.path.contains("{id}") {
        parameters.push(json!({
            "name": "id", "in": "path", "required": true, "schema": { "type": "string" }
        }));
    }
    if let Some(query) = o.query {
        parameters.extend(query_parameters(query));
    }
    if change {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": true,
            "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$" }
        }));
    }
    let error = json!({
        "description": "An error: its code says which (docs/api.md, docs/reasons.md)",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    });
    let mut responses = Map::new();
    match o.answers {
        Answers::Json(status) => {
            responses.insert(
                status.to_string(),
                json!({ "description": "OK", "content": { "application/json": { "schema": {} } } }),
            );
        }
        Answers::View(view) => {
            responses.insert(
                "200".into(),
                json!({ "description": "OK", "content": { "application/json": { "schema": view(views) } } }),
            );
        }
        Answers::List(name, item) => {
            let schema = json!({
                "type": "object",
                "required": [name],
                "properties": { name: { "type": "array", "items": item(views) } },
            });
            responses.insert(
                "200".into(),
                json!({ "description": "OK", "content": { "application/json": { "schema": schema } } }),
            );
        }
        Answers::Change => {
            responses.insert(
                "2XX".into(),
                json!({ "description": "Done: the JSON view of what was made or changed, or no content" }),
            );
        }
        Answers::Image => {
            responses.insert(
                "200".into(),
                json!({ "description": "The photo", "content": { "image/*": { "schema": {} } } }),
            );
        }
    }
    if o.path == "/policy" {
        responses.insert(
            "304".into(),
            json!({ "description": "Not modified (If-None-Match)" }),
        );
    }
    responses.insert("default".into(), error);
    let mut out = Map::new();
    out.insert("tags".into(), json!([o.tag]));
    out.insert("summary".into(), json!(o.summary));
    out.insert(
        "operationId".into(),
        json!(format!(
            "{}{}",
            o.method,
            o.path.replace(['/', '{', '}', '-', '.'], "_")
        )),
    );
    out.insert("parameters".into(), Value::Array(parameters));
    out.insert("responses".into(), Value::Object(responses));
    let body = match o.sends {
        Sends::Nothing => None,
        Sends::Json(None) => Some(json!({
            "required": false,
            "content": { "application/json": { "schema": { "type": "object" } } }
        })),
        Sends::Json(Some(schema)) => {
            let schema = schema(generator);
            // A body whose fields are all optional may be left out: it reads as `{}`.
            let required = schema_required(&schema, generator);
            Some(json!({
                "required": required,
                "content": { "application/json": { "schema": schema } }
            }))
        }
        Sends::Photo => Some(json!({
            "required": true,
            "content": { "image/jpeg": { "schema": { "type": "string", "contentMediaType": "image/jpeg" } } }
        })),
    };
    if let Some(body) = body {
        out.insert("requestBody".into(), body);
    }
    let security = match (o.access, change) {
        (Access::Anyone, _) => json!([]),
        (Access::Session, false) => json!([{ "session": [] }]),
        (Access::Session, true) => json!([{ "session": [], "csrf": [], "idempotencyKey": [] }]),
    };
    out.insert("security".into(), security);
    Value::Object(out)
}

/// Draft 2020-12 schemas (the dialect of OpenAPI 3.1), named types under `components/schemas`.
fn generator(contract: SchemaSettings, inline: bool) -> SchemaGenerator {
    contract
        .with(|s| {
            s.definitions_path = "/components/schemas/".into();
            s.meta_schema = None;
            s.inline_subschemas = inline;
        })
        .into_generator()
}

/// Whether a body schema (or the component it names) has a required field.
fn schema_required(schema: &Schema, generator: &SchemaGenerator) -> bool {
    let named = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| generator.definitions().get(name));
    let object = named.unwrap_or(schema.as_value());
    object
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
}

/// One query parameter per field of the query type, with the field's schema.
fn query_parameters(query: SchemaOf) -> Vec<Value> {
    let schema = query(&mut generator(
        SchemaSettings::draft2020_12().for_deserialize(),
        true,
    ));
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(Value::Object(properties)) = schema.get("properties") else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, field)| {
            // A query field is absent or a string: an optional one's `null` has no spelling in a URL.
            let mut field = field.clone();
            if let Some(Value::Array(types)) = field.get_mut("type") {
                types.retain(|t| t != "null");
            }
            let single = match field.get("type") {
                Some(Value::Array(types)) if types.len() == 1 => types.first().cloned(),
                _ => None,
            };
            if let (Some(only), Value::Object(object)) = (single, &mut field) {
                object.insert("type".into(), only);
            }
            json!({
                "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": field
            })
        })
        .collect()
}

/// The whole document.
pub fn document() -> Value {
    let mut bodies = generator(SchemaSettings::draft2020_12().for_deserialize(), false);
    // Views are read as they are written: every field present, an optional one as null.
    let mut views = generator(SchemaSettings::draft2020_12().for_serialize(), false);
    let mut paths: Map<String, Value> = Map::new();
    for o in OPERATIONS {
        if let Value::Object(methods) = paths
            .entry(format!("/api/v1{}", o.path))
            .or_insert_with(|| json!({}))
        {
            methods.insert(o.method.to_owned(), operation(o, &mut bodies, &mut views));
        }
    }
    let mut components = schemas();
    if let Value::Object(named) = &mut components {
        named.extend(bodies.take_definitions(true));
        named.extend(views.take_definitions(true));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "renche API",
            "version": "1",
            "description": "Binding vehicles not in one's own name and handling their violations (docs/api.md). \
                Every error answer has the shape of `Error`; its `code` is listed in docs/reasons.md.",
            "license": { "name": "MIT", "identifier": "MIT" }
        },
        "paths": paths,
        "components": { "schemas": components, "securitySchemes": security_schemes() }
    })
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

pub(super) async fn serve() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The component a body's `$ref` names.
    fn body_schema(doc: &Value, method: &str, path: &str) -> Value {
        let schema = &doc["paths"][format!("/api/v1{path}")][method]["requestBody"]["content"]
            ["application/json"]["schema"];
        let name = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .unwrap_or_else(|| panic!("{method} {path}: no named body schema in {schema}"));
        doc["components"]["schemas"][name].clone()
    }

    #[test]
    fn every_operation_that_takes_a_json_body_names_the_type_it_takes() {
        for o in OPERATIONS {
            assert!(
                !matches!(o.sends, Sends::Json(None)),
                "{} {} takes a JSON body but names no body type (.body::<T>() or .no_body())",
                o.method,
                o.path
            );
        }
        let doc = document();
        for o in OPERATIONS {
            if matches!(o.sends, Sends::Json(_)) {
                let body = body_schema(&doc, o.method, o.path);
                assert_eq!(body["type"], "object", "{} {}", o.method, o.path);
                assert!(
                    body["properties"].is_object(),
                    "{} {}: {body}",
                    o.method,
                    o.path
                );
            }
        }
    }

    #[test]
    fn body_schemas_follow_the_handlers_types() {
        let doc = document();
        let sms = body_schema(&doc, "post", "/auth/sms-code");
        assert_eq!(
            sms["additionalProperties"], false,
            "deny_unknown_fields: {sms}"
        );
        assert_eq!(sms["required"], json!(["phone", "purpose"]));
        let purpose = &sms["properties"]["purpose"];
        let purpose = match purpose["$ref"].as_str() {
            Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
            None => purpose,
        };
        assert_eq!(purpose["enum"], json!(["register", "sign_in"]), "{purpose}");
        let reject = body_schema(&doc, "post", "/window/reviews/{id}/reject");
        assert_eq!(reject["required"], json!(["reasonCode"]));
        let commit =
            &doc["paths"]["/api/v1/binding-applications/{id}/commit"]["post"]["requestBody"];
        assert_eq!(
            commit["required"], false,
            "every field of a commit is optional"
        );
        let people = &doc["paths"]["/api/v1/window/people"]["get"]["parameters"];
        assert_eq!(people[0]["name"], "residentId");
        assert_eq!(people[0]["required"], true);
        let city = &doc["paths"]["/api/v1/policy"]["get"]["parameters"][0];
        assert_eq!(
            (&city["name"], &city["required"], &city["schema"]["type"]),
            (&json!("city"), &json!(false), &json!("string")),
            "an optional query field is absent, never null"
        );
    }

    #[test]
    fn the_session_and_person_answers_are_their_views() {
        let doc = document();
        let me = &doc["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert_eq!(me["$ref"], "#/components/schemas/PersonView");
        let person = &doc["components"]["schemas"]["PersonView"];
        for field in ["id", "name", "residentIdMasked", "licence"] {
            assert!(
                person["required"]
                    .as_array()
                    .is_some_and(|r| r.contains(&json!(field))),
                "{field}: {person}"
            );
        }
        let session = &doc["paths"]["/api/v1/session"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert_eq!(session["$ref"], "#/components/schemas/SessionView");
    }

    #[test]
    fn core_codes_are_listed_without_schemars_in_the_core() {
        let doc = document();
        let relationship = &doc["components"]["schemas"]["Relationship"];
        assert_eq!(
            relationship["enum"].as_array().map(Vec::len),
            Some(renche::domain::Relationship::ALL.len())
        );
        assert!(doc["components"]["schemas"]["Document"]["enum"].is_array());
    }
}
