//! Who is who: an account is a phone until it passes real-person verification through the provider; a
//! takeover attempt with someone else's resident ID gets nothing; the provider's results are taken only when
//! signed, for this verification and person, fresh and once — and every refusal is audited.

use crate::helpers::*;
use renche::domain::{OwnerKind, PhoneNumber, PlateNumber, PlateType, UseNature};
use renche_server::gateways::identity::{sign_result, ResultClaims, ResultOutcome};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[allow(dead_code)]
#[path = "../conformance/support.rs"]
mod pg;

const ATTACKER: &str = "13600000001";
const IMPORTED_PHONE: &str = "13600000099";
const IMPORTED_NAME: &str = "郑导入";

/// The resident ID and name on file for a phone.
async fn record_of(app: &TestApp, phone: &str) -> (String, String) {
    let phone = phone.to_owned();
    let p = renche_server::store::read::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| Ok(tx.person_by_phone(&phone)?),
    )
    .await
    .unwrap()
    .unwrap();
    (p.resident_id.as_str().to_owned(), p.name)
}

/// An imported person (no account) with a vehicle registered to their resident ID: (resident ID, vehicle).
async fn imported_owner(app: &TestApp) -> (String, i64) {
    app.add_person(IMPORTED_NAME, "44190019880808081", IMPORTED_PHONE)
        .await;
    let (rid, _) = record_of(app, IMPORTED_PHONE).await;
    let now = renche_server::clock::Clock::now(app.clock.as_ref());
    let owner_rid = rid.clone();
    let vehicle = renche_server::store::write::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        move |tx| {
            Ok(tx.insert_vehicle(&renche_server::store::NewVehicle {
                plate_number: PlateNumber::parse("粤S55555", PlateType::SmallCar).unwrap(),
                engine_number: "ENG000555555".into(),
                engine_suffix: renche::domain::EngineSuffix::parse("555555").unwrap(),
                use_nature: UseNature::NonCommercial,
                owner_kind: OwnerKind::Individual,
                owner_person_id: None,
                owner_name: IMPORTED_NAME.into(),
                owner_phone: PhoneNumber::parse(IMPORTED_PHONE).unwrap(),
                owner_resident_id: Some(renche::domain::ResidentId::parse(&owner_rid).unwrap()),
                city: "441900".into(),
                created_at: now,
            })?)
        },
    )
    .await
    .unwrap();
    (rid, vehicle)
}

/// A binding id on the owner's 粤S12345 (from the owner's own view).
async fn a_binding_of_the_car(owner: &Client) -> String {
    let vehicles = owner.get("/api/v1/vehicles").await;
    assert_eq!(vehicles.status, StatusCode::OK, "{:?}", vehicles.body);
    vehicles.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["plateNumber"] == "粤S12345")
        .unwrap()["binders"][0]["bindingId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn refused_unverified(a: &Answer) {
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{:?}", a.body);
    assert_eq!(a.code(), "IDENTITY_NOT_VERIFIED");
}

/// The attack reproduced: own phone, someone else's resident ID (and any name). It gets nothing, and the real
/// owners still register, verify and act.
async fn takeover_gets_nothing(app: TestApp) {
    let (owner_rid, owner_name) = record_of(&app, OWNER).await;
    let (imported_rid, imported_vehicle) = imported_owner(&app).await;
    let owner = app.signed_in(OWNER).await;
    let car = app.vehicle_id(PlateType::SmallCar, "粤S12345").await;
    let binding = a_binding_of_the_car(&owner).await;

    // Registration takes a phone and its code only: no name or resident ID to claim anything with.
    let attacker = app.register(ATTACKER).await;
    for path in [
        "/api/v1/me",
        "/api/v1/vehicles",
        "/api/v1/violations",
        "/api/v1/bindings",
        "/api/v1/notifications",
    ] {
        refused_unverified(&attacker.get(path).await);
    }
    refused_unverified(
        &attacker
            .post(&format!("/api/v1/vehicles/{car}/qr-codes"), json!({}))
            .await,
    );
    refused_unverified(
        &attacker
            .post(
                &format!("/api/v1/vehicles/{imported_vehicle}/qr-codes"),
                json!({}),
            )
            .await,
    );
    refused_unverified(
        &attacker
            .delete(&format!("/api/v1/bindings/{binding}"))
            .await,
    );

    // Claiming the owner's and the imported person's identities: the provider sees another face.
    for (rid, name, outcome) in [
        (owner_rid.as_str(), owner_name.as_str(), "fail"),
        (imported_rid.as_str(), "随便写", "no_face"),
        (imported_rid.as_str(), IMPORTED_NAME, "fail"),
    ] {
        let failed = attacker.verify_account(name, rid, outcome).await;
        assert_eq!(
            failed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            failed.body
        );
        assert_eq!(failed.code(), "REAL_PERSON_VERIFICATION_FAILED");
    }
    // A result of its own making is not the provider's.
    let started = attacker
        .start_verification(
            json!({ "purpose": "account", "name": IMPORTED_NAME, "residentId": imported_rid }),
        )
        .await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    let forged = sign_result(
        &ResultClaims {
            result_id: "forged-1".into(),
            session_id: session_of(&started),
            verification_id: id.clone(),
            resident_id: imported_rid.clone(),
            name: IMPORTED_NAME.into(),
            outcome: ResultOutcome::Pass,
            issued_at: renche_server::clock::Clock::now(app.clock.as_ref()).millis(),
            frame_sha256: String::new(),
        },
        &ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    );
    let refused = attacker
        .post(
            &format!("/api/v1/identity/verifications/{id}/finish"),
            json!({ "result": forged }),
        )
        .await;
    assert_eq!(refused.code(), "VERIFICATION_RESULT_INVALID");
    // Still nothing, and signing in again changes nothing.
    app.advance(61);
    let again = app.signed_in(ATTACKER).await;
    refused_unverified(&again.get("/api/v1/vehicles").await);
    refused_unverified(&again.get("/api/v1/violations").await);
    assert_eq!(
        again.get("/api/v1/session").await.body["nextStep"],
        "verify_identity"
    );

    // The real owner still acts: sees the car, its binders and violations, makes a QR code, removes a binder.
    let vehicles = owner.get("/api/v1/vehicles").await;
    assert!(vehicles.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["plateNumber"] == "粤S12345"));
    let violations = owner.get("/api/v1/violations").await;
    assert_eq!(violations.status, StatusCode::OK);
    assert!(!violations.body["vehicles"][0]["violations"]
        .as_array()
        .unwrap()
        .is_empty());
    let qr = owner
        .post(&format!("/api/v1/vehicles/{car}/qr-codes"), json!({}))
        .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    let removed = owner.delete(&format!("/api/v1/bindings/{binding}")).await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);

    // The imported person is not locked out: registers with their phone, verifies, and owns their car.
    let imported = app.register(IMPORTED_PHONE).await;
    let verified = imported
        .verify_account(IMPORTED_NAME, &imported_rid, "pass")
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    let theirs = imported.get("/api/v1/vehicles").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body["vehicles"][0]["plateNumber"], "粤S55555");
    let qr = imported
        .post(
            &format!("/api/v1/vehicles/{imported_vehicle}/qr-codes"),
            json!({}),
        )
        .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    // And the attacker's account is still nobody's.
    refused_unverified(&again.get("/api/v1/vehicles").await);
}

/// The provider session id, from the page URL `/dev-identity/sessions/{id}`.
fn session_of(started: &Answer) -> String {
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    started.body["providerUrl"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_takeover_with_someone_elses_resident_id_gets_nothing() {
    takeover_gets_nothing(spawn_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_with_someone_elses_resident_id_gets_nothing_on_postgres() {
    if pg::skip_postgres() {
        return;
    }
    let db = pg::TestDb::create();
    let url = db.url.clone();
    let app = spawn_app_tweaked(move |config| config.database = url).await;
    assert_eq!(app.state.store.backend(), "postgres");
    takeover_gets_nothing(app).await;
    drop(db);
}

/// The development provider's key as the server keeps it: the test plays a provider that signs what it
/// should not (another person, an old result), to show the server's own checks.
async fn provider_key(app: &TestApp) -> ed25519_dalek::SigningKey {
    let seed = renche_server::store::read::<_, renche_server::error::ServerError>(
        app.state.store.as_ref(),
        |tx| Ok(tx.server_key("dev-identity-ed25519")?),
    )
    .await
    .unwrap()
    .unwrap();
    ed25519_dalek::SigningKey::from_bytes(&seed.try_into().unwrap())
}

fn rejections(app: &TestApp) -> Vec<String> {
    app.audit_entries("identity.result_rejected")
        .into_iter()
        .map(|(_, detail)| {
            serde_json::from_str::<Value>(&detail).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn finish(c: &Client, id: &str, result: &str) -> Answer {
    c.post(
        &format!("/api/v1/identity/verifications/{id}/finish"),
        json!({ "result": result }),
    )
    .await
}

#[tokio::test]
async fn forged_mismatched_stale_and_replayed_results_are_refused_and_audited() {
    let app = spawn_app().await;
    let name = "孙核验";
    let rid = renche_server::demo::resident_id("44190019950505055").unwrap();
    let rid = rid.as_str();
    let c = app.register("13600000003").await;
    let start = |c: &Client, name: &'static str, rid: String| {
        let c = c.clone_session();
        async move {
            c.start_verification(json!({ "purpose": "account", "name": name, "residentId": rid }))
                .await
        }
    };

    // Forged: a changed payload under the provider's signature, and a payload signed by another key.
    let v1 = start(&c, name, rid.to_owned()).await;
    let id1 = v1.body["id"].as_str().unwrap().to_owned();
    let good = c.provider_result(&v1, "pass").await;
    let (payload, signature) = good.split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    claims["name"] = json!("别人");
    let changed = format!(
        "{}.{signature}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims).unwrap()
        )
    );
    let r = finish(&c, &id1, &changed).await;
    assert_eq!(
        (r.status, r.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "VERIFICATION_RESULT_INVALID"
        )
    );
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let claims_of =
        |id: &str, session: String, rid: &str, name: &str, issued_at: i64, result_id: &str| {
            ResultClaims {
                result_id: result_id.into(),
                session_id: session,
                verification_id: id.into(),
                resident_id: rid.into(),
                name: name.into(),
                outcome: ResultOutcome::Pass,
                issued_at,
                frame_sha256: String::new(),
            }
        };
    let now = || renche_server::clock::Clock::now(app.clock.as_ref()).millis();
    let by_other = sign_result(
        &claims_of(&id1, session_of(&v1), rid, name, now(), "x1"),
        &other_key,
    );
    let r = finish(&c, &id1, &by_other).await;
    assert_eq!(r.code(), "VERIFICATION_RESULT_INVALID");
    assert_eq!(
        finish(&c, &id1, "not-a-result").await.code(),
        "VERIFICATION_RESULT_INVALID"
    );
    assert_eq!(
        rejections(&app),
        vec!["signature", "signature", "unreadable"]
    );

    // For another verification: a genuine result of verification 2 brought to verification 1.
    let other_rid = renche_server::demo::resident_id("44190019960606066").unwrap();
    let v2 = start(&c, "钱别人", other_rid.as_str().to_owned()).await;
    let of_v2 = c.provider_result(&v2, "pass").await;
    let r = finish(&c, &id1, &of_v2).await;
    assert_eq!(
        (r.status, r.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "VERIFICATION_RESULT_MISMATCH"
        )
    );
    // Signed by the provider for this verification but for another resident ID, or another name.
    let key = provider_key(&app).await;
    let another_id = sign_result(
        &claims_of(&id1, session_of(&v1), other_rid.as_str(), name, now(), "x2"),
        &key,
    );
    assert_eq!(
        finish(&c, &id1, &another_id).await.code(),
        "VERIFICATION_RESULT_MISMATCH"
    );
    let another_name = sign_result(
        &claims_of(&id1, session_of(&v1), rid, "孙别名", now(), "x3"),
        &key,
    );
    assert_eq!(
        finish(&c, &id1, &another_name).await.code(),
        "VERIFICATION_RESULT_MISMATCH"
    );
    assert_eq!(rejections(&app)[3..], ["mismatch", "mismatch", "mismatch"]);

    // Stale: more than ten minutes after the provider decided.
    app.advance(601);
    let r = finish(&c, &id1, &good).await;
    assert_eq!(
        (r.status, r.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "VERIFICATION_RESULT_STALE"
        )
    );
    assert_eq!(rejections(&app)[6..], ["stale"]);
    // Nothing of all that linked the account.
    refused_unverified(&c.get("/api/v1/me").await);

    // A fresh result passes once; the same result again is a replay.
    let v3 = start(&c, name, rid.to_owned()).await;
    let id3 = v3.body["id"].as_str().unwrap().to_owned();
    let fresh = c.provider_result(&v3, "pass").await;
    let ok = finish(&c, &id3, &fresh).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let r = finish(&c, &id3, &fresh).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "VERIFICATION_RESULT_REPLAYED")
    );
    assert_eq!(rejections(&app)[7..], ["replayed"]);
    assert_eq!(c.get("/api/v1/me").await.body["name"], name);
}

#[tokio::test]
async fn a_commit_takes_only_a_fresh_unused_result_for_its_own_application() {
    // The owner's consent outlives a result here (an hour against ten minutes), so that a stale result is
    // refused as stale, not as a late application.
    let app = spawn_app_behind(&[], Some(json!({ "applicationLifetimeSeconds": 3600 }))).await;
    let owner = app.signed_in(OWNER).await;
    let binder = app.signed_in(NEWCOMER).await;
    let car = app.vehicle_id(PlateType::SmallNewEnergy, "粤SD12345").await;
    let qr = owner
        .post(&format!("/api/v1/vehicles/{car}/qr-codes"), json!({}))
        .await;
    let opened = binder
        .post(
            "/api/v1/bindings/qr/redeem",
            json!({ "qrText": qr.body["qrText"] }),
        )
        .await;
    let app_id = opened.body["applicationId"].as_str().unwrap().to_owned();
    let commit = |verification: &str, result: &str| {
        let binder = binder.clone_session();
        let path = format!("/api/v1/binding-applications/{app_id}/commit");
        let body =
            json!({ "relationship": "spouse", "verificationId": verification, "result": result });
        async move { binder.post(&path, body).await }
    };
    // A forged result.
    let (v1, good) = binder.verify_application(&app_id, "pass").await;
    let forged = format!(
        "{}.{}",
        good.split_once('.').unwrap().0,
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [0u8; 64])
    );
    let r = commit(&v1, &forged).await;
    assert_eq!(r.code(), "VERIFICATION_RESULT_INVALID");
    // Another person's account verification is not this application's.
    let stranger = app.register("13600000004").await;
    let rid = renche_server::demo::resident_id("44190019970707077").unwrap();
    let started = stranger
        .start_verification(
            json!({ "purpose": "account", "name": "冯路人", "residentId": rid.as_str() }),
        )
        .await;
    let theirs = stranger.provider_result(&started, "pass").await;
    let r = commit(started.body["id"].as_str().unwrap(), &theirs).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another account's verification is not to be known"
    );
    // Stale.
    app.advance(601);
    let r = commit(&v1, &good).await;
    assert_eq!(r.code(), "VERIFICATION_RESULT_STALE");
    let (v2, fresh) = binder.verify_application(&app_id, "pass").await;
    // v1's result for v2: another verification.
    let r = commit(&v2, &good).await;
    assert_eq!(r.code(), "VERIFICATION_RESULT_MISMATCH");
    let done = commit(&v2, &fresh).await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    let reasons = rejections(&app);
    assert_eq!(reasons, vec!["signature", "stale", "mismatch"]);
    assert!(app
        .audit_entries("identity.verification")
        .iter()
        .any(|(subject, _)| subject == &format!("verification:{v2}")));
}

#[tokio::test]
async fn a_changed_phone_takes_the_person_over_and_both_are_told() {
    let app = spawn_app().await;
    let (rid, name) = record_of(&app, OWNER).await;
    let old = app.signed_in(OWNER).await;
    assert_eq!(old.get("/api/v1/me").await.status, StatusCode::OK);
    let new_phone = "13600000005";
    let new = app.register(new_phone).await;
    let verified = new.verify_account(&name, &rid, "pass").await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    assert_eq!(verified.body["person"]["phoneMasked"], "136****0005");
    // The old account's sessions ended; signing in with the old phone gives an account linked to nobody.
    assert_eq!(old.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    app.advance(61);
    let old_again = app.signed_in(OWNER).await;
    refused_unverified(&old_again.get("/api/v1/vehicles").await);
    // The new phone has the person: vehicles, and the inbox notice.
    let vehicles = new.get("/api/v1/vehicles").await;
    assert!(vehicles.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["plateNumber"] == "粤S12345"));
    let notes = new.get("/api/v1/notifications").await;
    assert_eq!(notes.body["notifications"][0]["kind"], "account_taken_over");
    // The old phone got an SMS saying so.
    let mut told = false;
    for _ in 0..200 {
        let v: Value = reqwest::get(format!("{}/api/v1/dev/sms-outbox?phone={OWNER}", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("实人认证"))
        {
            told = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(told, "the old phone is told");
    assert_eq!(app.audit_entries("account.taken_over").len(), 1);
}

#[tokio::test]
async fn registration_codes_reach_only_phones_without_an_account() {
    let app = spawn_app().await;
    let c = app.client().await;
    let before = app.outbox(OWNER).await.len();
    let taken = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": OWNER, "purpose": "register" }),
        )
        .await;
    let fresh_phone = "13600000006";
    let fresh = c
        .post(
            "/api/v1/auth/sms-code",
            json!({ "phone": fresh_phone, "purpose": "register" }),
        )
        .await;
    assert_eq!(taken.status, fresh.status);
    let keys = |a: &Answer| {
        let mut k: Vec<String> = a.body.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&taken), keys(&fresh));
    app.sms_code(fresh_phone).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        app.outbox(OWNER).await.len(),
        before,
        "no registration code to a registered phone"
    );
}

#[tokio::test]
async fn the_development_provider_takes_only_image_frames_and_nothing_else_passes() {
    let app = spawn_app().await;
    let c = app.register("13600000007").await;
    let rid = renche_server::demo::resident_id("44190019980808088").unwrap();
    let started = c
        .start_verification(
            json!({ "purpose": "account", "name": "褚相机", "residentId": rid.as_str() }),
        )
        .await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    let url = started.body["providerUrl"].as_str().unwrap().to_owned();
    for frame in [
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png;base64,aGVsbG8=",
        "",
    ] {
        let r = c.provider_form(&url, "pass", Some(frame)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{frame}");
    }
    let r = c.provider_form(&url, "", None).await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no outcome chosen"
    );
    // No result yet: the server asks the provider and is told so.
    let pending = c
        .post(
            &format!("/api/v1/identity/verifications/{id}/finish"),
            json!({}),
        )
        .await;
    assert_eq!(pending.code(), "VERIFICATION_PENDING");
    // The old switch is gone.
    let switch = c
        .post(
            "/api/v1/dev/identity",
            json!({ "phone": "13600000007", "outcome": "pass" }),
        )
        .await;
    assert_eq!(switch.status, StatusCode::NOT_FOUND);
    // A real frame and "pass"; the server fetches the result from the provider itself.
    let r = c.provider_form(&url, "pass", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c.provider_form(&url, "pass", None).await.status(),
        StatusCode::CONFLICT
    );
    let done = c
        .post(
            &format!("/api/v1/identity/verifications/{id}/finish"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(
        c.get(&format!("/api/v1/identity/verifications/{id}"))
            .await
            .body["status"],
        "passed"
    );
}

#[tokio::test]
async fn without_dev_and_without_a_provider_verification_is_unavailable() {
    let app = spawn_app_tweaked(|config| config.dev = false).await;
    assert!(app.state.identity.public_key().is_none());
    for path in ["/dev-identity/public-key", "/dev-identity/sessions/abc"] {
        let r = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} is not mounted");
    }
}

#[tokio::test]
async fn a_record_that_names_someone_else_is_not_linked() {
    let app = spawn_app().await;
    let (imported_rid, _) = imported_owner(&app).await;
    let c = app.register(ATTACKER).await;
    // The provider confirmed another name for this resident ID than the record holds.
    let r = c.verify_account("别的名字", &imported_rid, "pass").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "IDENTITY_MISMATCH")
    );
    refused_unverified(&c.get("/api/v1/vehicles").await);
    assert_eq!(app.audit_entries("identity.record_mismatch").len(), 1);
}

#[tokio::test]
async fn an_account_starts_at_most_twenty_verifications_a_day() {
    let app = spawn_app().await;
    let c = app.register("13600000008").await;
    let rid = renche_server::demo::resident_id("44190019990909099").unwrap();
    let body = json!({ "purpose": "account", "name": "韩多次", "residentId": rid.as_str() });
    for _ in 0..20 {
        let r = c.start_verification(body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let r = c.start_verification(body.clone()).await;
    assert_eq!(
        (r.status, r.code()),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "VERIFICATION_DAILY_CAP_REACHED"
        )
    );
    assert_eq!(r.body["error"]["params"]["limit"], 20);
    app.advance(86_400);
    let c = app.signed_in("13600000008").await;
    let r = c.start_verification(body).await;
    assert_eq!(r.status, StatusCode::CREATED, "a new day");
}
