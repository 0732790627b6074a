//! The SMS economy, measured through the development outbox: how many codes one session, one client
//! address (over many sessions), one account (over many sessions and addresses) and the whole service can
//! have sent in an hour and a day; a doomed binding start texts nobody; what each text says; and an
//! application opened by the owner's consent expires.
//!
//! `cargo test -p renche-server --test api sms_economy -- --nocapture --test-threads=1` prints the figures
//! docs/reliability.md quotes.

use crate::helpers::*;
use renche::domain::{mask_name, PlateNumber, PlateType};
use renche_server::store::NewVehicle;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Starts tried in each clock hour, each way.
const TRIES: usize = 300;

/// Every message in the outbox once deliveries (which run just after the answers) have settled.
async fn outbox_all(app: &TestApp) -> Vec<Value> {
    let mut last = usize::MAX;
    loop {
        let v: Value = reqwest::get(format!("{}/api/v1/dev/sms-outbox", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let messages = v["messages"].as_array().unwrap().clone();
        if messages.len() == last {
            return messages;
        }
        last = messages.len();
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
}

fn phone(i: usize) -> String {
    format!("137{i:08}")
}

/// A POST like `Client::post`, with an `X-Forwarded-For` header when `forwarded_for` is given.
async fn post_from(c: &Client, path: &str, body: Value, forwarded_for: Option<&str>) -> Answer {
    let mut req = c
        .http
        .post(format!("{}{path}", c.base))
        .header("X-CSRF-Token", &c.csrf)
        .header("Idempotency-Key", new_key())
        .json(&body);
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

/// Asserts a 429 with a code and a wait, and returns (code, scope, window, retryAfterSeconds).
fn limited(a: &Answer) -> (String, String, String, i64) {
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", a.body);
    let p = &a.body["error"]["params"];
    let retry = p["retryAfterSeconds"].as_i64().expect("retryAfterSeconds");
    assert!(retry > 0);
    assert_eq!(
        a.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some(retry.to_string().as_str())
    );
    assert!(!a.body["error"]["message"]["zh"]
        .as_str()
        .unwrap()
        .is_empty());
    assert!(!a.body["error"]["message"]["en"]
        .as_str()
        .unwrap()
        .is_empty());
    (
        a.code().to_owned(),
        p["scope"].as_str().unwrap_or("").to_owned(),
        p["window"].as_str().unwrap_or("").to_owned(),
        retry,
    )
}

/// A session of `person` made straight in the store, as a client that sends its cookie.
async fn session_of(app: &TestApp, person: i64, n: usize) -> Client {
    let token = format!("sms-economy-{n:06}-0123456789abcdef0123456789abcdef");
    let csrf = format!("csrf-sms-{n}");
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    let (t, c) = (token.clone(), csrf.clone());
    renche_server::store::write::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| {
            // The person's verified account, made the first time (people added straight to the store
            // have none).
            let account = match tx.account_of_person(person)? {
                Some(a) => a.id,
                None => {
                    let p = tx.person(person)?.expect("the person exists");
                    let id = tx.insert_account(p.phone.as_str(), now)?;
                    tx.link_account(id, person, now)?;
                    id
                }
            };
            let account = Some(account);
            Ok(tx.insert_session(
                &renche_server::flows::sessions::token_hash(&t),
                account,
                &c,
                now,
                renche::Timestamp::from_millis(now.millis() + 86_400_000),
            )?)
        },
    )
    .await
    .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        format!("renche_session={token}").parse().unwrap(),
    );
    Client {
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        base: app.base.clone(),
        csrf,
    }
}

#[tokio::test]
async fn one_session_is_capped_per_hour_and_day() {
    let app = spawn_app().await;
    let c = app.client().await;
    let mut sent = Vec::new();
    let mut refusals = Vec::new();
    for hour in 0..3 {
        let before = outbox_all(&app).await.len();
        for i in 0..TRIES {
            let r = c
                .post(
                    "/api/v1/auth/sms-code",
                    json!({ "phone": phone(hour * TRIES + i), "purpose": "register" }),
                )
                .await;
            if r.status != StatusCode::ACCEPTED {
                refusals.push(limited(&r));
            }
        }
        sent.push(outbox_all(&app).await.len() - before);
        app.advance(3600);
    }
    println!("one session, {TRIES} register codes asked for in each of 3 hours: sent {sent:?}");
    assert_eq!(sent, vec![5, 5, 0]);
    // 10:00 CST: the hour's window ends in an hour; at 12:00 the day's ends at midnight.
    assert_eq!(
        refusals.first().unwrap(),
        &(
            "SMS_LIMIT_REACHED".into(),
            "session".into(),
            "hour".into(),
            3600
        )
    );
    assert_eq!(
        refusals.last().unwrap(),
        &(
            "SMS_LIMIT_REACHED".into(),
            "session".into(),
            "day".into(),
            12 * 3600
        )
    );
}

#[tokio::test]
async fn one_address_is_capped_over_many_sessions_and_forged_headers() {
    // No trusted proxy: the X-Forwarded-For half the requests send is the client's own claim, ignored.
    let app = spawn_app().await;
    let mut sent = Vec::new();
    let mut last_refusal = None;
    let mut sessions = 0;
    for hour in 0..8 {
        let before = outbox_all(&app).await.len();
        let mut c = app.client().await;
        for i in 0..TRIES {
            // A fresh session every fifth try, under the session's own cap.
            if i % 5 == 0 {
                c = app.client().await;
                sessions += 1;
            }
            let forged = format!("198.51.{}.{}", i / 250, i % 250);
            let r = post_from(
                &c,
                "/api/v1/auth/sms-code",
                json!({ "phone": phone(hour * TRIES + i), "purpose": "register" }),
                (i % 2 == 0).then_some(forged.as_str()),
            )
            .await;
            if r.status != StatusCode::ACCEPTED {
                last_refusal = Some(limited(&r));
            }
        }
        sent.push(outbox_all(&app).await.len() - before);
        app.advance(3600);
    }
    let total: usize = sent.iter().sum();
    println!(
        "one address, {sessions} sessions, {TRIES} codes asked for in each of 8 hours: sent {sent:?}, {total} in the day"
    );
    assert_eq!(sent, vec![30, 30, 30, 30, 30, 30, 20, 0]);
    let (code, scope, window, _) = last_refusal.unwrap();
    assert_eq!(
        (code.as_str(), scope.as_str(), window.as_str()),
        ("SMS_LIMIT_REACHED", "address", "day")
    );
}

#[tokio::test]
async fn one_account_is_capped_over_many_sessions_and_addresses() {
    // Behind a trusted proxy on loopback, every start names another client address.
    let app = spawn_app_behind(&["127.0.0.1", "::1"], None).await;
    let binder = app
        .add_person("孙绑定", "44190019900101700", "13600000001")
        .await;
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    let plates: Vec<String> = (0..TRIES).map(|i| format!("粤SA{i:04}")).collect();
    let rows: Vec<NewVehicle> = plates
        .iter()
        .enumerate()
        .map(|(i, p)| NewVehicle {
            plate_number: PlateNumber::parse(p, PlateType::SmallCar).unwrap(),
            engine_number: "ENG000123456".into(),
            engine_suffix: renche::domain::EngineSuffix::parse("123456").unwrap(),
            use_nature: renche::domain::UseNature::NonCommercial,
            owner_kind: renche::domain::OwnerKind::Individual,
            owner_person_id: None,
            owner_name: "某车主".into(),
            owner_phone: renche::domain::PhoneNumber::parse(&format!("135{i:08}")).unwrap(),
            owner_resident_id: None,
            city: "441900".into(),
            created_at: now,
        })
        .collect();
    renche_server::store::write::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| {
            for v in &rows {
                tx.insert_vehicle(v)?;
            }
            Ok(())
        },
    )
    .await
    .unwrap();
    let mut sent = Vec::new();
    let mut refusals = Vec::new();
    let mut n = 0;
    for _hour in 0..3 {
        let before = outbox_all(&app).await.len();
        for (i, plate) in plates.iter().enumerate() {
            n += 1;
            let c = session_of(&app, binder, n).await;
            let addr = format!("203.0.{}.{}", n / 250, n % 250 + 1);
            let r = post_from(
                &c,
                "/api/v1/bindings/sms/challenges",
                json!({ "plateType": "02", "plateNumber": plate, "engineSuffix": "123456" }),
                Some(&format!("{addr}, 127.0.0.1")),
            )
            .await;
            if r.status != StatusCode::ACCEPTED {
                refusals.push(limited(&r));
            } else {
                assert!(i < 20, "start {i} of an hour was let through");
            }
        }
        sent.push(outbox_all(&app).await.len() - before);
        app.advance(3600);
    }
    println!(
        "one account, {n} sessions from {n} addresses, {TRIES} binding starts in each of 3 hours: sent {sent:?}"
    );
    assert_eq!(sent, vec![10, 10, 0]);
    assert!(refusals.iter().all(|r| r.1 == "account"), "{refusals:?}");
    assert_eq!(refusals.last().unwrap().2, "day");
}

#[tokio::test]
async fn the_service_budget_stops_each_purpose_for_the_day() {
    let lifted = json!({ "perHour": 100000, "perDay": 100000 });
    let patch = json!({ "sms": { "perAddress": lifted, "dailyBudget": { "register": 7 } } });
    let app = spawn_app_behind(&[], Some(patch)).await;
    let mut c = app.client().await;
    let mut refusal = None;
    for i in 0..TRIES {
        if i % 5 == 0 {
            c = app.client().await;
        }
        let r = c
            .post(
                "/api/v1/auth/sms-code",
                json!({ "phone": phone(i), "purpose": "register" }),
            )
            .await;
        if r.status != StatusCode::ACCEPTED {
            refusal = Some(limited(&r));
        }
    }
    let sent = outbox_all(&app).await.len();
    println!("service budget of 7 registration codes, {TRIES} asked for: sent {sent}");
    assert_eq!(sent, 7);
    // 10:00 CST: the budget comes back at midnight.
    assert_eq!(
        refusal.unwrap(),
        (
            "SMS_BUDGET_REACHED".into(),
            String::new(),
            String::new(),
            14 * 3600
        )
    );
    // Another purpose has its own budget.
    app.signed_in(OWNER).await;
    assert_eq!(outbox_all(&app).await.len(), 8);
}

fn reasons(a: &Answer) -> Vec<(String, String, String)> {
    a.body["error"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let zh = r["message"]["zh"].as_str().unwrap().to_owned();
            let en = r["message"]["en"].as_str().unwrap().to_owned();
            assert!(!zh.is_empty() && !en.is_empty());
            (r["code"].as_str().unwrap().to_owned(), zh, en)
        })
        .collect()
}

async fn start(c: &Client, plate: &str, suffix: &str) -> Answer {
    c.post(
        "/api/v1/bindings/sms/challenges",
        json!({ "plateType": "02", "plateNumber": plate, "engineSuffix": suffix }),
    )
    .await
}

#[tokio::test]
async fn a_doomed_start_texts_nobody() {
    let app = spawn_app().await;
    // The binder's own limit is known before the owner is: the same refusal for any plate.
    let full = app.signed_in(FULL_BINDER).await;
    let matched = start(&full, "粤S88888", "888888").await;
    assert_eq!(matched.status, StatusCode::CONFLICT, "{:?}", matched.body);
    assert_eq!(matched.code(), "USER_BINDING_LIMIT_REACHED");
    let unknown = start(&full, "粤S99999", "888888").await;
    let wrong = start(&full, "粤S67890", "000000").await;
    assert_eq!(reasons(&matched), reasons(&unknown));
    assert_eq!(reasons(&matched), reasons(&wrong));
    assert!(app.outbox(SPARE_OWNER).await.is_empty());

    // What only the vehicle decides is known after the match; a mismatch still looks like a start.
    let newcomer = app.signed_in(NEWCOMER).await;
    let taxi = start(&newcomer, "粤ST2345", "222222").await;
    assert_eq!(taxi.status, StatusCode::CONFLICT, "{:?}", taxi.body);
    assert_eq!(taxi.code(), "USE_NATURE_NOT_BINDABLE");
    // A refused start counts towards the cool-down like any other: no free guesses at the suffix.
    let again = start(&newcomer, "粤ST2345", "000000").await;
    assert_eq!(again.code(), "SMS_RESEND_TOO_SOON");
    app.advance(60);
    let taxi_wrong = start(&newcomer, "粤ST2345", "000000").await;
    let nowhere = start(&newcomer, "粤S99999", "000000").await;
    assert_eq!(taxi_wrong.status, StatusCode::ACCEPTED);
    assert_eq!(nowhere.status, StatusCode::ACCEPTED);
    let keys = |a: &Answer| {
        a.body
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&taxi_wrong), keys(&nowhere));
    // Only the two sign-in codes went out: no text about a binding reached anyone.
    let owner_texts = outbox_all(&app).await;
    assert!(
        owner_texts
            .iter()
            .all(|m| !m["text"].as_str().unwrap().contains("绑定")),
        "{owner_texts:?}"
    );
    let audited: i64 = app
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sms_binding.refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 4);
}

#[tokio::test]
async fn a_city_not_switched_on_is_refused_before_the_owner_is_known() {
    let app = spawn_app_with(Some(json!({
        "extends": "default",
        "version": "441900-off",
        "city": { "code": "441900", "nameZh": "东莞", "nameEn": "Dongguan" },
        "platePrefixes": ["粤S"],
        "featureEnabled": false
    })))
    .await;
    let c = app.signed_in(NEWCOMER).await;
    let matched = start(&c, "粤S88888", "888888").await;
    let unknown = start(&c, "粤S99999", "888888").await;
    assert_eq!(matched.status, StatusCode::CONFLICT, "{:?}", matched.body);
    assert_eq!(matched.code(), "FEATURE_NOT_AVAILABLE_IN_CITY");
    assert_eq!(reasons(&matched), reasons(&unknown));
    assert!(app.outbox(SPARE_OWNER).await.is_empty());
}

#[tokio::test]
async fn each_text_says_what_its_code_is_for() {
    let app = spawn_app().await;
    let c = app.signed_in(NEWCOMER).await;
    let name = c.get("/api/v1/me").await.body["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = start(&c, "粤S88888", "888888").await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
    app.sms_code(SPARE_OWNER).await;
    let texts = outbox_all(&app).await;
    let text_to = |phone: &str| {
        texts
            .iter()
            .find(|m| m["phone"] == phone)
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let owner = text_to(SPARE_OWNER);
    let plate = PlateNumber::parse("粤S88888", PlateType::SmallCar)
        .unwrap()
        .masked();
    println!("{owner}");
    assert!(owner.contains(&plate), "{owner}");
    assert!(owner.contains(&mask_name(&name)), "{owner}");
    assert!(!owner.contains(&name), "the binder's full name: {owner}");
    assert!(
        owner.contains("申请绑定") && owner.contains("如不认识对方"),
        "{owner}"
    );
    let sign_in = text_to(NEWCOMER);
    assert!(sign_in.contains("登录"), "{sign_in}");
    let reg = app.client().await;
    let r = reg
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": "13711112222", "purpose": "register" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.sms_code("13711112222").await;
    let texts = outbox_all(&app).await;
    let register = texts.iter().find(|m| m["phone"] == "13711112222").unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(register.contains("注册"), "{register}");
}

#[tokio::test]
async fn an_application_from_the_owners_consent_expires() {
    let app = spawn_app().await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let id = app.vehicle_id(PlateType::SmallCar, "粤S12345").await;
    let qr = owner
        .post(&format!("/api/v1/vehicles/{id}/qr-codes"), json!({}))
        .await;
    let opened = binder
        .post(
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": qr.body["qrText"] }),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
    assert_eq!(opened.body["expiresAt"], "2026-09-01T02:10:00.000Z");
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();
    let shown = binder
        .get(&format!("/api/v1/binding-applications/{app_id}"))
        .await;
    assert_eq!(shown.body["expiresAt"], "2026-09-01T02:10:00.000Z");
    let commit = json!({ "relationship": "spouse" });
    let path = format!("/api/v1/binding-applications/{app_id}/commit");
    app.advance(599);
    let in_time = binder.post(&path, commit.clone()).await;
    assert_eq!(in_time.status, StatusCode::ACCEPTED, "{:?}", in_time.body);
    app.advance(1);
    let late = binder.post(&path, commit).await;
    assert_eq!(late.status, StatusCode::GONE, "{:?}", late.body);
    assert_eq!(late.code(), "APPLICATION_EXPIRED");
    let bindings = binder.get("/api/v1/bindings").await;
    assert_eq!(bindings.body["bindings"].as_array().unwrap().len(), 0);
}
