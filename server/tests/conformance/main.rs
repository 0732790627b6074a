//! One suite, every store: each case in `cases.rs` runs against SQLite and against PostgreSQL, each time on
//! a fresh database. PostgreSQL must be reachable (`RENCHE_TEST_POSTGRES_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres); only `RENCHE_SKIP_POSTGRES=1` skips that half.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cases;
mod postgres_only;
mod support;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let under = crate::support::sqlite();
                    crate::cases::$case(under.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    if crate::support::skip_postgres() {
                        eprintln!("RENCHE_SKIP_POSTGRES=1: skipped");
                        return;
                    }
                    let under = crate::support::postgres();
                    crate::cases::$case(under.store.clone()).await;
                }
            )*
        }
    };
}

conformance!(
    people_round_trip,
    vehicles_round_trip,
    one_active_binding_per_pair,
    binding_limits_hold_under_concurrency,
    licence_points_are_not_lost,
    qr_code_is_used_once,
    sms_challenges,
    sms_daily_cap_holds_under_concurrency,
    sms_caps_hold_under_concurrency,
    violations,
    applications,
    sessions_and_purge,
    idempotency_keys,
    session_claims_use_the_session_scope,
    session_claims_race,
    idempotency_answer_commits_with_the_work,
    rate_counters,
    notifications_and_audit,
    notices_read_and_sms_outbox,
    history_and_applications_by_vehicle,
    review_photos,
    server_key_is_made_once,
    rollback_and_snapshot,
    commits_and_removals_interleave,
    policy_preview_reads,
);

/// The whole server on each store: built from its database URL, demo data seeded, answering.
mod api {
    use crate::support::{skip_postgres, TestDb};
    use renche_server::{build, Config};

    async fn serve_and_check(database: String, backend: &str) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let tmp = tempfile::tempdir().unwrap();
        let app = build(Config {
            listen: "127.0.0.1:0".into(),
            database,
            policy_dir: root.join("policies"),
            dev: true,
            demo: true,
            www: tmp.path().to_path_buf(),
            pkg: tmp.path().to_path_buf(),
            clock: None,
            trusted_proxies: vec![],
            identity_provider: None,
            public_url: None,
            ..Config::default()
        })
        .await
        .unwrap();
        let base = format!("http://{}", app.addr);
        let server = tokio::spawn(app.run_until(std::future::pending()));
        let health: serde_json::Value = reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        assert_eq!(health["store"], backend);
        let session = reqwest::get(format!("{base}/api/v1/session"))
            .await
            .unwrap();
        assert_eq!(session.status(), 200);
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_serves() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("api.sqlite3").display());
        serve_and_check(url, "sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_serves() {
        if skip_postgres() {
            return;
        }
        let db = TestDb::create();
        serve_and_check(db.url.clone(), "postgres").await;
    }
}
