//! The raw ceilings printed beside the scale bench's figures: the same shape of transaction as a window
//! commit (lock the person, lock the vehicle, count both, insert a binding and an audit entry) on the same
//! database, without HTTP or the server, from as many client threads as the bench has clients.
//!
//! PostgreSQL is measured twice: as one server-side function call (one round trip per commit) and as six
//! statements between BEGIN and COMMIT (eight round trips). A third PostgreSQL ceiling is renche's own
//! commit, every statement of it, as one function call (`postgres_commit`). SQLite gets the same six statements on one
//! connection, which is what its single writer thread can do at best. The scratch tables live in the
//! bench's database and are dropped afterwards.
//!
//! `RoundTripCounter` is a TCP relay that counts round trips on the wire: each burst of bytes a client
//! sends after the database has answered is one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Commits per second and the 99th latency percentile (ms) of one measured loop.
pub struct Rate {
    pub per_second: f64,
    pub p99: f64,
}

impl Rate {
    fn of(mut latencies: Vec<Duration>, seconds: f64) -> Rate {
        latencies.sort_unstable();
        Rate {
            per_second: latencies.len() as f64 / seconds,
            p99: super::bench::percentile(&latencies, 0.99),
        }
    }
}

const PG_SETUP: &str = "
DROP TABLE IF EXISTS ceiling_audit, ceiling_bindings, ceiling_people, ceiling_vehicles;
CREATE TABLE ceiling_people (id BIGINT PRIMARY KEY);
CREATE TABLE ceiling_vehicles (id BIGINT PRIMARY KEY);
CREATE TABLE ceiling_bindings (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person BIGINT NOT NULL REFERENCES ceiling_people, vehicle BIGINT NOT NULL REFERENCES ceiling_vehicles,
    created_at BIGINT NOT NULL);
CREATE INDEX ceiling_bindings_person ON ceiling_bindings (person);
CREATE INDEX ceiling_bindings_vehicle ON ceiling_bindings (vehicle);
CREATE TABLE ceiling_audit (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, binding BIGINT NOT NULL,
    what TEXT NOT NULL, at BIGINT NOT NULL);
CREATE OR REPLACE FUNCTION ceiling_bind(p BIGINT, v BIGINT, now BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE np BIGINT; nv BIGINT; bid BIGINT;
BEGIN
  PERFORM 1 FROM ceiling_people WHERE id = p FOR NO KEY UPDATE;
  PERFORM 1 FROM ceiling_vehicles WHERE id = v FOR NO KEY UPDATE;
  SELECT COUNT(*) INTO np FROM ceiling_bindings WHERE person = p;
  SELECT COUNT(*) INTO nv FROM ceiling_bindings WHERE vehicle = v;
  INSERT INTO ceiling_bindings (person, vehicle, created_at) VALUES (p, v, now) RETURNING id INTO bid;
  INSERT INTO ceiling_audit (binding, what, at) VALUES (bid, 'bind ' || np || ' ' || nv, now);
  RETURN bid;
END $$;
";

const PG_TEARDOWN: &str = "
DROP FUNCTION IF EXISTS ceiling_bind(BIGINT, BIGINT, BIGINT);
DROP TABLE IF EXISTS ceiling_audit, ceiling_bindings, ceiling_people, ceiling_vehicles;
";

/// The six statements, in the order both ceilings run them.
const STATEMENTS: [&str; 6] = [
    "SELECT id FROM ceiling_people WHERE id = $1 FOR NO KEY UPDATE",
    "SELECT id FROM ceiling_vehicles WHERE id = $1 FOR NO KEY UPDATE",
    "SELECT COUNT(*) FROM ceiling_bindings WHERE person = $1",
    "SELECT COUNT(*) FROM ceiling_bindings WHERE vehicle = $1",
    "INSERT INTO ceiling_bindings (person, vehicle, created_at) VALUES ($1, $2, $3) RETURNING id",
    "INSERT INTO ceiling_audit (binding, what, at) VALUES ($1, $2, $3)",
];

fn pair(rng: &mut impl rand::Rng, n: i64) -> (i64, i64) {
    (rng.gen_range(1..=n), rng.gen_range(1..=n))
}

/// PostgreSQL's two ceilings: (one function call, six statements), each for `seconds` from `clients`
/// connections.
pub fn postgres(url: &str, rows: i64, clients: usize, seconds: u64) -> (Rate, Rate) {
    let url = url.split('?').next().unwrap_or(url).to_owned();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin.batch_execute(PG_SETUP).unwrap();
    admin
        .execute(
            "INSERT INTO ceiling_people SELECT generate_series(1, $1::BIGINT)",
            &[&rows],
        )
        .unwrap();
    admin
        .execute(
            "INSERT INTO ceiling_vehicles SELECT generate_series(1, $1::BIGINT)",
            &[&rows],
        )
        .unwrap();
    admin.batch_execute("ANALYZE").unwrap();
    let one_call = pg_loop(&url, rows, clients, seconds, |c, p, v| {
        let s = c.prepared("SELECT ceiling_bind($1, $2, $3)");
        c.client.query_one(&s, &[&p, &v, &now()]).unwrap();
    });
    let statements = pg_loop(&url, rows, clients, seconds, |c, p, v| {
        let prepared: Vec<_> = STATEMENTS.iter().map(|s| c.prepared(s)).collect();
        let mut tx = c.client.transaction().unwrap();
        tx.query_one(&prepared[0], &[&p]).unwrap();
        tx.query_one(&prepared[1], &[&v]).unwrap();
        let np: i64 = tx.query_one(&prepared[2], &[&p]).unwrap().get(0);
        let nv: i64 = tx.query_one(&prepared[3], &[&v]).unwrap().get(0);
        let bid: i64 = tx
            .query_one(&prepared[4], &[&p, &v, &now()])
            .unwrap()
            .get(0);
        tx.execute(&prepared[5], &[&bid, &format!("bind {np} {nv}"), &now()])
            .unwrap();
        tx.commit().unwrap();
    });
    admin.batch_execute(PG_TEARDOWN).unwrap();
    (one_call, statements)
}

/// Renche's own window commit as one function call: the guard's key claim with the session read, the
/// person's and vehicle's locks with the new binding's id, both sides' active bindings, the binder's
/// applications, the officer, then the binding, audit entry, two notifications and the stored answer. The
/// rows it writes go to copies of renche's tables, filled with what the bench left in them; people,
/// vehicles, sessions and applications are renche's own. The claim commits with the rest here (renche
/// commits it first, in a transaction of its own), and the binding is not decided by the rules: every
/// call writes one (`ON CONFLICT DO NOTHING` for a pair already bound).
const PG_COMMIT_SETUP: &str = "
DROP TABLE IF EXISTS ceiling_c_bindings, ceiling_c_audit, ceiling_c_notifications, ceiling_c_keys;
CREATE TABLE ceiling_c_bindings (LIKE bindings INCLUDING ALL);
ALTER TABLE ceiling_c_bindings ADD FOREIGN KEY (binder_id) REFERENCES people (id),
    ADD FOREIGN KEY (vehicle_id) REFERENCES vehicles (id), ADD FOREIGN KEY (removed_by) REFERENCES people (id);
INSERT INTO ceiling_c_bindings SELECT * FROM bindings;
SELECT setval(pg_get_serial_sequence('ceiling_c_bindings', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM bindings));
CREATE TABLE ceiling_c_audit (LIKE audit_log INCLUDING ALL);
INSERT INTO ceiling_c_audit (at, actor_id, action, subject, detail)
    SELECT at, actor_id, action, subject, detail FROM audit_log;
CREATE TABLE ceiling_c_notifications (LIKE notifications INCLUDING ALL);
ALTER TABLE ceiling_c_notifications ADD FOREIGN KEY (person_id) REFERENCES people (id);
INSERT INTO ceiling_c_notifications (person_id, kind, message_zh, message_en, created_at, read_at)
    SELECT person_id, kind, message_zh, message_en, created_at, read_at FROM notifications;
CREATE TABLE ceiling_c_keys (LIKE idempotency_keys INCLUDING ALL);
INSERT INTO ceiling_c_keys SELECT * FROM idempotency_keys;
CREATE OR REPLACE FUNCTION ceiling_commit(tok BYTEA, k TEXT, p BIGINT, v BIGINT, officer BIGINT, now BIGINT)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE claimed TEXT; bid BIGINT; binder people%ROWTYPE; car vehicles%ROWTYPE; n BIGINT;
BEGIN
  INSERT INTO ceiling_c_keys (scope, key, fingerprint, state, created_at)
    SELECT CASE WHEN COALESCE(a.person_id, s.person_id) IS NOT NULL THEN 'p:' || COALESCE(a.person_id, s.person_id)
                WHEN s.account_id IS NOT NULL THEN 'a:' || s.account_id ELSE 's:' || encode(tok, 'hex') END,
           k, sha256(convert_to(k, 'UTF8')), 'running', now
    FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = tok AND s.expires_at > now
    ON CONFLICT (scope, key) DO NOTHING RETURNING scope INTO claimed;
  PERFORM s.account_id, COALESCE(a.person_id, s.person_id), s.csrf_token, s.expires_at, s.kiosk_id
    FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = tok;
  SELECT * INTO binder FROM people WHERE id = p FOR NO KEY UPDATE;
  SELECT * INTO car FROM vehicles WHERE id = v FOR NO KEY UPDATE;
  bid := nextval(pg_get_serial_sequence('ceiling_c_bindings', 'id'));
  SELECT count(*) INTO n FROM (
    SELECT id FROM ceiling_c_bindings WHERE binder_id = p AND removed_at IS NULL
    UNION ALL SELECT id FROM ceiling_c_bindings WHERE vehicle_id = v AND removed_at IS NULL) b;
  PERFORM id, submitted_at FROM binding_applications WHERE binder_id = p AND submitted_at IS NOT NULL
    ORDER BY submitted_at DESC LIMIT 400;
  PERFORM * FROM people WHERE id = officer;
  INSERT INTO ceiling_c_bindings (binder_id, vehicle_id, relationship, method, application_id, created_at, id)
    VALUES (p, v, 'friend', 'window', NULL, now, bid) ON CONFLICT DO NOTHING;
  INSERT INTO ceiling_c_audit (at, actor_id, action, subject, detail)
    VALUES (now, officer, 'binding.created', 'vehicle:' || v || '/binder:' || p,
            json_build_object('binding', bid, 'method', 'window', 'channel', 'window', 'relationship', 'friend',
              'policyVersion', '441900-2026-09-01.1', 'application', NULL,
              'documentsChecked', json_build_array('driving_licence', 'id_card', 'vehicle_licence'))::text);
  INSERT INTO ceiling_c_notifications (person_id, kind, message_zh, message_en, created_at)
    VALUES (p, 'binding_created', '您已绑定机动车' || car.plate_number || '(方式:窗口办理)。',
            'You have bound vehicle ' || car.plate_number || ' (at a window).', now);
  INSERT INTO ceiling_c_notifications (person_id, kind, message_zh, message_en, created_at)
    VALUES (COALESCE(car.owner_person_id, officer), 'binding_created',
            '车*****已绑定您的机动车' || car.plate_number || '。', 'Someone has bound your vehicle ' || car.plate_number || '.', now);
  UPDATE ceiling_c_keys SET state = 'done', status = 200,
         body = convert_to(json_build_object('binding', bid, 'binder', p, 'vehicle', v)::text, 'UTF8'), finished_at = now
    WHERE scope = claimed AND key = k;
  RETURN bid;
END $$;
";

const PG_COMMIT_TEARDOWN: &str = "
DROP FUNCTION IF EXISTS ceiling_commit(BYTEA, TEXT, BIGINT, BIGINT, BIGINT, BIGINT);
DROP TABLE IF EXISTS ceiling_c_bindings, ceiling_c_audit, ceiling_c_notifications, ceiling_c_keys;
";

/// Renche's whole window commit as one call (`PG_COMMIT_SETUP`), by an officer whose session is live in
/// the bench's database, from `clients` connections for `seconds`.
pub fn postgres_commit(url: &str, rows: i64, clients: usize, seconds: u64) -> Rate {
    let url = url.split('?').next().unwrap_or(url).to_owned();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let officer = admin
        .query_one(
            "SELECT s.token_hash, a.person_id FROM sessions s JOIN accounts a ON a.id = s.account_id \
             JOIN people p ON p.id = a.person_id WHERE p.role = 'officer' AND s.expires_at > $1 LIMIT 1",
            &[&now()],
        )
        .unwrap();
    let (token, officer_id): (Vec<u8>, i64) = (officer.get(0), officer.get(1));
    admin.batch_execute(PG_COMMIT_SETUP).unwrap();
    admin.batch_execute("ANALYZE").unwrap();
    let calls = AtomicU64::new(0);
    let rate = pg_loop(&url, rows, clients, seconds, |c, p, v| {
        let s = c.prepared("SELECT ceiling_commit($1, $2, $3, $4, $5, $6)");
        let key = format!("ceiling-{}", calls.fetch_add(1, Ordering::Relaxed));
        c.client
            .query_one(&s, &[&token, &key, &p, &v, &officer_id, &now()])
            .unwrap();
    });
    admin.batch_execute(PG_COMMIT_TEARDOWN).unwrap();
    rate
}

/// A connection with its statements prepared once.
struct PgConn {
    client: postgres::Client,
    prepared: std::collections::HashMap<&'static str, postgres::Statement>,
}

impl PgConn {
    fn prepared(&mut self, sql: &'static str) -> postgres::Statement {
        if let Some(s) = self.prepared.get(sql) {
            return s.clone();
        }
        let s = self.client.prepare(sql).unwrap();
        self.prepared.insert(sql, s.clone());
        s
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn pg_loop(
    url: &str,
    rows: i64,
    clients: usize,
    seconds: u64,
    commit: impl Fn(&mut PgConn, i64, i64) + Sync,
) -> Rate {
    let conns: Vec<PgConn> = (0..clients)
        .map(|_| PgConn {
            client: postgres::Client::connect(url, postgres::NoTls).unwrap(),
            prepared: Default::default(),
        })
        .collect();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let latencies = std::thread::scope(|s| {
        let handles: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let commit = &commit;
                s.spawn(move || {
                    let mut rng =
                        <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(i as u64);
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let (p, v) = pair(&mut rng, rows);
                        let t = Instant::now();
                        commit(&mut c, p, v);
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    Rate::of(latencies, start.elapsed().as_secs_f64())
}

/// SQLite's ceiling: the six statements in one `BEGIN IMMEDIATE` transaction per commit, on one
/// connection with the server's settings (WAL, synchronous NORMAL), for `seconds`.
pub fn sqlite(path: &std::path::Path, rows: i64, seconds: u64) -> Rate {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.pragma_update(None, "foreign_keys", "ON").unwrap();
    let setup = PG_SETUP
        .split("CREATE OR REPLACE FUNCTION")
        .next()
        .unwrap()
        .replace("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "INTEGER PRIMARY KEY")
        .replace(
            "DROP TABLE IF EXISTS ceiling_audit, ceiling_bindings, ceiling_people, ceiling_vehicles;",
            SQLITE_DROP,
        );
    c.execute_batch(&setup).unwrap();
    c.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO ceiling_people SELECT i FROM n",
        [rows],
    )
    .unwrap();
    c.execute(
        "INSERT INTO ceiling_vehicles SELECT id FROM ceiling_people",
        [],
    )
    .unwrap();
    let sql: Vec<String> = STATEMENTS
        .iter()
        .map(|s| s.replace(" FOR NO KEY UPDATE", "").replace('$', "?"))
        .collect();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut lat = Vec::new();
    while Instant::now() < deadline {
        let (p, v) = pair(&mut rng, rows);
        let t = Instant::now();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        let one = |i: usize, a: &[&dyn rusqlite::ToSql]| -> i64 {
            c.prepare_cached(&sql[i])
                .unwrap()
                .query_row(a, |r| r.get(0))
                .unwrap()
        };
        one(0, &[&p]);
        one(1, &[&v]);
        let np = one(2, &[&p]);
        let nv = one(3, &[&v]);
        let bid = one(4, &[&p, &v, &now()]);
        c.prepare_cached(&sql[5])
            .unwrap()
            .execute(rusqlite::params![bid, format!("bind {np} {nv}"), now()])
            .unwrap();
        c.execute_batch("COMMIT").unwrap();
        lat.push(t.elapsed());
    }
    let rate = Rate::of(lat, start.elapsed().as_secs_f64());
    c.execute_batch(SQLITE_DROP).unwrap();
    rate
}

/// SQLite drops one table per statement, children first.
const SQLITE_DROP: &str =
    "DROP TABLE IF EXISTS ceiling_audit; DROP TABLE IF EXISTS ceiling_bindings; \
    DROP TABLE IF EXISTS ceiling_people; DROP TABLE IF EXISTS ceiling_vehicles;";

/// A relay on a free port in front of PostgreSQL that counts round trips: a burst of bytes from the
/// client after the database last spoke is one. Counts every connection through it.
pub struct RoundTripCounter {
    pub port: u16,
    trips: Arc<AtomicU64>,
}

impl RoundTripCounter {
    /// Runs on a thread and runtime of its own: the bench's runtime blocks a worker while an instance
    /// starts, and a task spawned there would wait for it.
    pub fn start(upstream: String) -> RoundTripCounter {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let trips = Arc::new(AtomicU64::new(0));
        let counted = trips.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    tokio::spawn(relay(client, server, counted.clone()));
                }
            });
        });
        RoundTripCounter { port, trips }
    }

    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }
}

async fn relay(client: TcpStream, server: TcpStream, trips: Arc<AtomicU64>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // Set when the server has sent something since the client last started a round trip.
    let answered = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let heard = answered.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from_client.read(&mut buf).await {
            // Before forwarding: the answer may come back before this task runs again.
            if n > 0 && answered.swap(false, Ordering::AcqRel) {
                trips.fetch_add(1, Ordering::Relaxed);
            }
            if n == 0 || to_server.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from_server.read(&mut buf).await {
            if n == 0 || to_client.write_all(&buf[..n]).await.is_err() {
                break;
            }
            heard.store(true, Ordering::Release);
        }
    };
    tokio::join!(up, down);
}
