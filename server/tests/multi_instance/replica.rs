//! Violation lists from a hot standby (`--replica-database`): served by the standby while it is within
//! its bound, by the primary once it falls behind, and a person who has just bound a vehicle sees it at
//! once while another device of theirs may see the standby's older answer, never older than the bound.
//! The standby's replay is paused (`pg_wal_replay_pause`) to make it lag on purpose.

use super::failover::{free_port, server_binaries, Pair};
use super::*;

#[path = "../shared/frame.rs"]
mod frame;

/// The bound under test: the largest allowed, so that the stale read below is well inside it.
const MAX_LAG_MS: u64 = 5000;

/// An owner with a vehicle and a binder, both with verified accounts: (owner's phone, binder's phone,
/// the vehicle's id, its plate).
async fn seed_pair(url: &str) -> (String, String, i64, String) {
    let store: Arc<dyn Store> = Arc::new(PgStore::open(url, T0).unwrap());
    write(&store, |tx| {
        let mut ids = Vec::new();
        for n in [1, 2] {
            let p = new_person(n);
            let id = tx.insert_person(&p)?;
            let account = tx.insert_account(p.phone.as_str(), T0)?;
            tx.link_account(account, id, T0)?;
            ids.push(id);
        }
        let v = new_vehicle(1, Some(ids[0]));
        let plate = v.plate_number.as_str().to_owned();
        let vehicle = tx.insert_vehicle(&v)?;
        Ok((
            phone(1).as_str().to_owned(),
            phone(2).as_str().to_owned(),
            vehicle,
            plate,
        ))
    })
    .await
    .unwrap()
}

/// `renche_replica_reads_total` served by the standby, from the instance's metrics listener.
async fn standby_reads(metrics: &str) -> u64 {
    let text = reqwest::get(format!("{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("renche_replica_reads_total{served_by=\"standby\"} "))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The plates in a person's violation list (own and bound vehicles).
fn plates(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["vehicle"]["plateNumber"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads the list on a device without the recent-write mark until the standby serves it (15 s at most);
/// every answer meanwhile has exactly `expected`.
async fn standby_serves(binder: &Browser, base: &str, metrics: &str, expected: &[String]) {
    let started = Instant::now();
    loop {
        let before = standby_reads(metrics).await;
        let list = binder
            .get_with_session_only(base, "/api/v1/violations")
            .await;
        assert_eq!(plates(&list), expected);
        if standby_reads(metrics).await > before {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the standby never served a read"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn on_standby(pair: &Pair, sql: &'static str) {
    let url = pair.url_of(pair.standby_port, "postgres");
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    })
    .join()
    .unwrap();
}

/// The binder scans the owner's QR code, passes real-person verification on the development provider's
/// page, and commits: the binding's answer.
async fn post(base: &str, b: &Browser, path: String, body: serde_json::Value) -> Answer {
    b.send(base, Method::POST, &path, Some(&body), Some(&new_key()))
        .await
        .unwrap()
}

async fn bind_by_qr(base: &str, owner: &Browser, binder: &Browser, vehicle: i64) -> Answer {
    let qr = post(
        base,
        owner,
        format!("/api/v1/vehicles/{vehicle}/qr-codes"),
        json!({}),
    )
    .await;
    assert_eq!(qr.status, StatusCode::CREATED, "{:?}", qr.body);
    let opened = post(
        base,
        binder,
        "/api/v1/bindings/qr/redeem".into(),
        json!({ "qrText": qr.body["qrText"] }),
    )
    .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:?}", opened.body);
    let application = opened.body["applicationId"].as_str().unwrap().to_owned();
    let started = post(
        base,
        binder,
        "/api/v1/identity/verifications".into(),
        json!({ "purpose": "application", "applicationId": application }),
    )
    .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let provider = started.body["providerUrl"].as_str().unwrap();
    let passed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}{provider}"))
        .form(&[
            ("frame", frame::frame_data_url()),
            ("outcome", "pass".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), StatusCode::SEE_OTHER);
    let location = passed.headers()["location"].to_str().unwrap().to_owned();
    let result = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("result="))
        .unwrap()
        .to_owned();
    post(
        base,
        binder,
        format!("/api/v1/binding-applications/{application}/commit"),
        json!({ "relationship": "friend", "policyVersion": "441900-2026-09-01.1", "expectedAllowed": true,
                "verificationId": started.body["id"], "result": result }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violation_lists_come_from_the_standby_within_its_bound_and_a_new_binding_is_seen_at_once()
{
    let Some(bin) = server_binaries() else {
        return;
    };
    let pair = tokio::task::spawn_blocking(move || Pair::start_both(bin))
        .await
        .unwrap();
    let primary = pair.url_of(pair.primary_port, "renche");
    let standby = pair.url_of(pair.standby_port, "renche");
    let (owner_phone, binder_phone, vehicle, plate) = seed_pair(&primary).await;
    let scratch = tempfile::tempdir().unwrap();
    let metrics_at = format!("127.0.0.1:{}", free_port());
    let lag = MAX_LAG_MS.to_string();
    let instance = Instance::start_with(
        &primary,
        scratch.path(),
        &[
            "--replica-database",
            &standby,
            "--replica-max-lag-ms",
            &lag,
            "--metrics-listen",
            &metrics_at,
        ],
    );
    let metrics = format!("http://{metrics_at}");
    let base = instance.base.clone();
    let (mut owner, mut binder) = (Browser::new(), Browser::new());
    owner.sign_in(&base, &base, &owner_phone).await;
    binder.sign_in(&base, &base, &binder_phone).await;
    assert!(
        binder.holds_recent_write_mark(&base),
        "signing in is a change"
    );

    // The standby serves a list once it has caught up (the tracker's first samples).
    standby_serves(&binder, &base, &metrics, &[]).await;

    // The standby stops replaying: from the first change on, it falls behind.
    on_standby(&pair, "SELECT pg_wal_replay_pause()");
    let first_change = Instant::now();
    let bound = bind_by_qr(&base, &owner, &binder, vehicle).await;
    assert_eq!(bound.status, StatusCode::CREATED, "{:?}", bound.body);

    // The binder, whose browser has just made the change, sees the vehicle at once (the primary).
    let own = binder
        .send(&base, Method::GET, "/api/v1/violations", None, None)
        .await
        .unwrap();
    assert_eq!(plates(&own), vec![plate.clone()]);
    // Another device of the same person may get the standby's older answer while it is within the bound.
    let elsewhere = binder
        .get_with_session_only(&base, "/api/v1/violations")
        .await;
    let inside = first_change.elapsed();
    if inside < Duration::from_millis(MAX_LAG_MS - 1000) {
        assert_eq!(
            plates(&elsewhere),
            Vec::<String>::new(),
            "{inside:?} after the change, inside the bound: the paused standby's answer"
        );
    }
    // Past the bound, the standby (still paused) is not asked: every device sees the binding.
    let past = Duration::from_millis(MAX_LAG_MS + 500);
    tokio::time::sleep(past.saturating_sub(first_change.elapsed())).await;
    let reads_before = standby_reads(&metrics).await;
    let elsewhere = binder
        .get_with_session_only(&base, "/api/v1/violations")
        .await;
    assert_eq!(
        plates(&elsewhere),
        vec![plate.clone()],
        "no staler than the bound"
    );
    assert_eq!(
        standby_reads(&metrics).await,
        reads_before,
        "the lagging standby was not asked"
    );

    // Replaying again, the standby serves once more, binding included.
    on_standby(&pair, "SELECT pg_wal_replay_resume()");
    standby_serves(&binder, &base, &metrics, std::slice::from_ref(&plate)).await;

    // The standby goes away: a list sent to it meanwhile fails as a retryable 503 within seconds, and once
    // the tracker stops trusting it the lists come from the primary.
    let pair = tokio::task::spawn_blocking(move || {
        pair.stop_standby();
        pair
    })
    .await
    .unwrap();
    let stopped = Instant::now();
    let first = binder
        .get_with_session_only(&base, "/api/v1/violations")
        .await;
    match first.status {
        StatusCode::OK => assert_eq!(plates(&first), vec![plate.clone()]),
        StatusCode::SERVICE_UNAVAILABLE => assert_eq!(first.retry_after.as_deref(), Some("1")),
        other => panic!("a list while the standby is gone: {other} {:?}", first.body),
    }
    eprintln!(
        "replica: the first list after the standby stopped answered {} in {:?}",
        first.status,
        stopped.elapsed()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "the list hung on a dead standby: {:?}",
        stopped.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(MAX_LAG_MS + 500).saturating_sub(stopped.elapsed()))
        .await;
    let after = binder
        .get_with_session_only(&base, "/api/v1/violations")
        .await;
    assert_eq!(plates(&after), vec![plate.clone()], "from the primary");
    drop(instance);
    drop(pair);
}
