//! Publishing a policy version while two instances run on one PostgreSQL database: after SIGHUP both
//! decide with it; a bad document is refused, naming its field, and changes nothing.

use crate::harness::Instance;
use crate::support::{skip_postgres, TestDb};
use std::path::Path;
use std::time::{Duration, Instant};

/// The version of the sample city (533300) that `base` answers with, and its `featureEnabled`.
async fn sample_city(http: &reqwest::Client, base: &str) -> (String, bool) {
    let body: serde_json::Value = http
        .get(format!("{base}/api/v1/policy?city=533300"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        body["version"].as_str().unwrap().to_owned(),
        body["featureEnabled"].as_bool().unwrap(),
    )
}

/// Waits (a signal is handled a moment after it is sent) until every instance answers `want`.
async fn until_all(http: &reqwest::Client, instances: &[Instance], want: (&str, bool)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in instances {
        loop {
            let got = sample_city(http, &i.base).await;
            if (got.0.as_str(), got.1) == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} still answers {got:?}",
                i.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn copy_policies(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    std::fs::create_dir_all(to.join("cities")).unwrap();
    std::fs::copy(from.join("default.json"), to.join("default.json")).unwrap();
    for entry in std::fs::read_dir(from.join("cities")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        // The sample city's scheduled version is left out: these instances run on the real clock, and the
        // test must not depend on today's date.
        if name.starts_with("533300-") {
            continue;
        }
        std::fs::copy(&path, to.join("cities").join(name)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_version_decides_on_every_instance_and_a_bad_one_changes_nothing() {
    if skip_postgres() {
        eprintln!("RENCHE_SKIP_POSTGRES=1: skipped");
        return;
    }
    let db = TestDb::create();
    let url = format!("{}?pool_size=4", db.url);
    let scratch = tempfile::tempdir().unwrap();
    let policies = scratch.path().join("policies");
    copy_policies(&policies);
    // Every instance has its own copy of the same files, as on separate machines.
    let second = scratch.path().join("policies-2");
    copy_policies(&second);
    let instances = [
        Instance::start_with_policies(&url, scratch.path(), &policies, &[]),
        Instance::start_with_policies(&url, scratch.path(), &second, &[]),
    ];
    let http = reqwest::Client::new();
    until_all(&http, &instances, ("533300-2026-09-01.1", false)).await;

    // A version in force from an instant already past: published by writing it and signalling.
    let switched_on = r#"{
  "extends": "default",
  "version": "533300-2026-11-01.1",
  "effectiveFrom": "2026-11-01T00:00:00+08:00",
  "city": { "code": "533300", "nameZh": "示例市", "nameEn": "Sample city" },
  "platePrefixes": ["云Q"],
  "featureEnabled": true
}"#;
    for dir in [&policies, &second] {
        std::fs::write(dir.join("cities/533300-2026-11-01.json"), switched_on).unwrap();
    }
    for i in &instances {
        i.hang_up();
    }
    until_all(&http, &instances, ("533300-2026-11-01.1", true)).await;

    // A bad document: refused, and the version in force keeps deciding on both.
    let bad = switched_on
        .replace("533300-2026-11-01.1", "533300-2026-11-15.1")
        .replace("2026-11-01T00:00:00+08:00", "2026-11-15T00:00:00+08:00")
        .replace("\"featureEnabled\": true", "\"featureEnabled\": \"yes\"");
    for dir in [&policies, &second] {
        std::fs::write(dir.join("cities/533300-2026-11-15.json"), &bad).unwrap();
    }
    for i in &instances {
        i.hang_up();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in &instances {
        assert_eq!(
            sample_city(&http, &i.base).await,
            ("533300-2026-11-01.1".to_owned(), true),
            "{}",
            i.base
        );
    }
    // Corrected, it is published like any other.
    let fixed = bad.replace("\"featureEnabled\": \"yes\"", "\"featureEnabled\": false");
    for dir in [&policies, &second] {
        std::fs::write(dir.join("cities/533300-2026-11-15.json"), &fixed).unwrap();
    }
    for i in &instances {
        i.hang_up();
    }
    until_all(&http, &instances, ("533300-2026-11-15.1", false)).await;
}
