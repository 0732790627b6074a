//! What only the PostgreSQL store has to get right: aborted transactions, several instances migrating one
//! database at once, and copying a SQLite database over (`migrate-data`).

use crate::support::*;
use crate::support::{read, write};
use renche_server::store::postgres::{copy_from_sqlite, parse_url, PgStore};
use renche_server::store::sqlite::SqliteStore;
use renche_server::store::*;
use std::sync::Arc;

fn postgres_or_skip() -> Option<TestDb> {
    if skip_postgres() {
        None
    } else {
        Some(TestDb::create())
    }
}

/// PostgreSQL aborts a transaction at its first failed statement; a job that ignores the error and asks to
/// commit must hear that nothing was kept, not believe it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_statement_is_never_reported_committed() {
    let Some(db) = postgres_or_skip() else { return };
    let store: Arc<dyn Store> = Arc::new(PgStore::open(&db.url, T0).unwrap());
    write(&store, |tx| tx.insert_person(&new_person(1)))
        .await
        .unwrap();
    let job: Job = Box::new(|tx: &mut dyn Tx| {
        let _ = tx.insert_person(&new_person(2));
        let _ = tx.insert_person(&new_person(1)); // duplicate: fails
        Outcome::Commit
    });
    let result = store.write(job).await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    let n = read(&store, |tx| tx.count_people()).await.unwrap();
    assert_eq!(n, 1);
    // The connection is usable again afterwards.
    write(&store, |tx| tx.insert_person(&new_person(3)))
        .await
        .unwrap();
}

/// Three instances starting at the same moment on an empty database: one migrates, all open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_migrate_one_database_together() {
    let Some(db) = postgres_or_skip() else { return };
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| PgStore::open(&format!("{}?pool_size=2", db.url), T0)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &opened {
        assert!(o.is_ok(), "{:?}", o.as_ref().err());
    }
    drop(opened);
    // Opening again applies nothing twice.
    PgStore::open(&db.url, T0).unwrap();
}

#[test]
fn url_options() {
    assert_eq!(
        parse_url("postgres://u@h/db?pool_size=5")
            .unwrap()
            .pool_size,
        5
    );
    assert!(parse_url("postgres://u@h/db?pool_size=0").is_err());
    let u = parse_url("postgres://u@h:5433/db?application_name=x&pool_size=3").unwrap();
    assert_eq!(u.pool_size, 3);
    assert_eq!(u.config.get_application_name(), Some("x"));
    assert_eq!(u.config.get_dbname(), Some("db"));
}

/// Fills a SQLite database through the store, copies it, and reads it back through the PostgreSQL store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_data_copies_every_table() {
    let Some(db) = postgres_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.sqlite3");
    let source: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, T0).unwrap());
    let (people, vehicles) = seed(&source, 4, 4).await;
    let (p, v) = (people[1], vehicles[2]);
    write(&source, move |tx| {
        tx.insert_binding(&NewBinding {
            binder_id: p,
            vehicle_id: v,
            relationship: renche::domain::Relationship::parse("parent").unwrap(),
            method: renche::domain::BindingMethod::parse("qr").unwrap(),
            application_id: Some("app-9".into()),
            created_at: T0,
        })?;
        let account = tx.insert_account(phone(1).as_str(), T0)?;
        tx.link_account(account, p, T0)?;
        tx.insert_session(b"\x00\x01\xfe\\binary", Some(account), "csrf\ttab", T0, T0)?;
        tx.idempotency_begin("p:1", "key\\1", b"fp", T0, T0)?;
        tx.idempotency_finish("p:1", "key\\1", 201, b"{\"a\":\"line\\nbreak\"}", T0)?;
        tx.insert_notification(p, "k", "多行\n文字", "two\nlines", T0)?;
        tx.insert_server_key("qr-hmac", &[7u8; 32], T0)?;
        tx.bump_counter("c", T0)?;
        tx.append_audit(&AuditEntry {
            at: T0,
            actor_id: None,
            action: "binding.created",
            subject: "s".into(),
            detail: serde_json::json!({"x": "\\"}),
        })
    })
    .await
    .unwrap();
    drop(source);

    let target = PgStore::open(&db.url, T0).unwrap();
    let report = {
        let mut client = target.bulk_client().unwrap();
        let path = path.clone();
        tokio::task::spawn_blocking(move || copy_from_sqlite(&path, &mut client).unwrap())
            .await
            .unwrap()
    };
    let count = |name: &str| {
        report
            .tables
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, n)| *n)
            .unwrap()
    };
    assert_eq!(
        (count("people"), count("vehicles"), count("bindings")),
        (4, 4, 1)
    );
    let store: Arc<dyn Store> = Arc::new(target);
    let (person, binding, session, replay, notes, key, counter) = write(&store, move |tx| {
        Ok((
            tx.person(p)?.unwrap(),
            tx.active_bindings_of_vehicle(v)?,
            tx.session(b"\x00\x01\xfe\\binary")?.unwrap(),
            tx.idempotency_begin("p:1", "key\\1", b"fp", T0, T0)?,
            tx.notifications_of(p, 5)?,
            tx.server_key("qr-hmac")?,
            tx.counter("c", T0)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(person.phone.as_str(), phone(1).as_str());
    assert!(person.identity_verified);
    assert_eq!(binding.len(), 1);
    assert_eq!(binding[0].binder_id, p);
    assert_eq!(session.csrf_token, "csrf\ttab");
    assert_eq!(
        session.person_id,
        Some(p),
        "the account and its link came over"
    );
    assert_eq!(count("accounts"), 1);
    match replay {
        IdempotencyBegin::Replay { status, body } => {
            assert_eq!(status, 201);
            assert_eq!(body, b"{\"a\":\"line\\nbreak\"}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(notes[0].message_zh, "多行\n文字");
    assert_eq!(key, Some(vec![7u8; 32]));
    assert_eq!(counter, 1);
    // New rows continue after the copied ids.
    let next = write(&store, |tx| tx.insert_person(&new_person(77)))
        .await
        .unwrap();
    assert!(next > *people.iter().max().unwrap());
    // A second copy into a database that has rows is refused.
    let mut client = PgStore::open(&db.url, T0).unwrap().bulk_client().unwrap();
    let again = tokio::task::spawn_blocking(move || copy_from_sqlite(&path, &mut client))
        .await
        .unwrap();
    assert!(again.is_err());
}
