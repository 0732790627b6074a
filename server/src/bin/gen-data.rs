//! `gen-data`: fills an empty database with synthetic people, vehicles and violations for scale tests.
//!
//! Person `i` (id `i`, phone 137xxxxxxxx) owns vehicle `i` (粤 plates, small car, non-commercial, Dongguan)
//! which has `--violations-per-vehicle` camera violations in the last year. `--officers` window officers
//! follow the people (phones 139xxxxxxxx). With `--bound-percent`, that share of the vehicles is also bound
//! by the next vehicle's owner (a friend, by QR code, 30 days ago); none by default. Everything is registered and verified, so a benchmark can sign
//! anyone in. PostgreSQL is filled with `COPY`; SQLite with prepared statements in one transaction.

use clap::Parser;
use renche::{CstDate, Timestamp};
use renche_server::store::postgres::PgStore;
use renche_server::store::sqlite::{path_of_url, SqliteStore};
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "gen-data",
    about = "Fill an empty renche database with synthetic data"
)]
struct Args {
    /// sqlite://PATH or postgres://…; created and migrated if needed, and it must hold no people yet.
    #[arg(long)]
    database: String,
    /// How many vehicles (and owners).
    #[arg(long, default_value_t = 10_000)]
    vehicles: u32,
    #[arg(long, default_value_t = 10)]
    violations_per_vehicle: u32,
    #[arg(long, default_value_t = 64)]
    officers: u32,
    /// Percentage of the vehicles (0 to 100) bound by another owner, for benchmarks that need bindings.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    bound_percent: u8,
}

/// Authority letters of the plates (no I, no O).
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8] = b"10X98765432";
const CODES: &[(&str, &str, u8, u32)] = &[
    ("1039", "违反禁令标志指示", 3, 20_000),
    ("1352", "超速行驶(未达20%)", 3, 20_000),
    ("1344", "违反规定停放", 0, 20_000),
    ("1625", "不按导向车道行驶", 1, 10_000),
    ("1301", "机动车违反禁止标线指示", 3, 5_000),
    ("1242", "驾驶时拨打接听手持电话", 3, 5_000),
];
const PLACES: &[&str] = &[
    "东莞市南城区鸿福路",
    "东莞市东城区东纵路",
    "东莞市松山湖大道",
    "东莞市莞太路",
];

fn resident_id(n: u32) -> String {
    let (y, m, d) = CstDate::from_days(3650 + i64::from(n / 1000)).ymd();
    let body = format!("441900{y:04}{m:02}{d:02}{:03}", n % 1000);
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let check = CHECK.get((sum % 11) as usize).copied().unwrap_or(b'0');
    format!("{body}{}", check as char)
}

fn plate(n: u32) -> String {
    let i = (n / 100_000) as usize % LETTERS.len();
    let letter = LETTERS.get(i).copied().unwrap_or(b'A') as char;
    format!("粤{letter}{:05}", n % 100_000)
}

/// A cheap deterministic mix, so that runs are repeatable without a random source.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

struct Person {
    id: i64,
    name: String,
    resident_id: String,
    phone: String,
    role: &'static str,
}

/// Every generated person signs in with a verified account of their phone (docs/decisions.md, "Who is who").
const VERIFIED_ACCOUNTS: &str = "INSERT INTO accounts (phone, person_id, created_at, verified_at) \
     SELECT phone, id, registered_at, registered_at FROM people WHERE registered_at IS NOT NULL";

fn people(args: &Args) -> impl Iterator<Item = Person> + '_ {
    let owners = (1..=args.vehicles).map(|i| Person {
        id: i64::from(i),
        name: format!("车主{i}"),
        resident_id: resident_id(i),
        phone: format!("137{i:08}"),
        role: "person",
    });
    let officers = (1..=args.officers).map(move |k| Person {
        id: i64::from(args.vehicles + k),
        name: format!("警官{k}"),
        resident_id: resident_id(args.vehicles + k),
        phone: format!("139{k:08}"),
        role: "officer",
    });
    owners.chain(officers)
}

struct Violation {
    id: i64,
    vehicle_id: i64,
    occurred_at: i64,
    code: &'static str,
    description: &'static str,
    place: &'static str,
    points: u8,
    fine_fen: u32,
}

fn violations(args: &Args, now: i64) -> impl Iterator<Item = Violation> + '_ {
    let per = args.violations_per_vehicle;
    (1..=args.vehicles).flat_map(move |v| {
        (0..per).map(move |j| {
            let id = i64::from(v - 1) * i64::from(per) + i64::from(j) + 1;
            let r = mix(id as u64);
            let (code, description, points, fine_fen) = CODES
                .get((r % CODES.len() as u64) as usize)
                .copied()
                .unwrap_or(("1039", "违反禁令标志指示", 3, 20_000));
            Violation {
                id,
                vehicle_id: i64::from(v),
                occurred_at: now - ((r >> 8) % (365 * 86_400_000)) as i64,
                code,
                description,
                place: PLACES
                    .get(((r >> 40) % PLACES.len() as u64) as usize)
                    .copied()
                    .unwrap_or("东莞市"),
                points,
                fine_fen,
            }
        })
    })
}

/// (binder, vehicle) of each generated binding: vehicle `v`, when chosen, is bound by the owner of `v + 1`
/// (the last by the first), so that nobody binds more than one vehicle.
fn bindings(args: &Args) -> impl Iterator<Item = (i64, i64)> + '_ {
    let n = args.vehicles;
    (1..=n)
        .filter(move |v| mix(u64::from(*v) ^ 0xb1d) % 100 < u64::from(args.bound_percent))
        .filter(move |_| n > 1)
        .map(move |v| (i64::from(v % n + 1), i64::from(v)))
}

const BINDING_AGE_MS: i64 = 30 * 86_400_000;

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn fill_sqlite(args: &Args, now: Timestamp) -> Result<(), String> {
    let path = path_of_url(&args.database);
    // Creates and migrates the file, then lets go of it.
    drop(SqliteStore::open(&path, now).map_err(fail)?);
    let mut conn = rusqlite::Connection::open(&path).map_err(fail)?;
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(fail)?;
    let tx = conn.transaction().map_err(fail)?;
    let existing: i64 = tx
        .query_row("SELECT COUNT(*) FROM people", [], |r| r.get(0))
        .map_err(fail)?;
    if existing > 0 {
        return Err(format!("{} already holds people", path.display()));
    }
    {
        let mut p = tx
            .prepare(
                "INSERT INTO people (id, name, resident_id, phone, registered_at, identity_verified, role, \
                 licence_class, licence_status, licence_points, licence_cycle_start, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, 'C1', 'normal', 0, ?7, ?5)",
            )
            .map_err(fail)?;
        for x in people(args) {
            p.execute(rusqlite::params![
                x.id,
                x.name,
                x.resident_id,
                x.phone,
                now.millis(),
                x.role,
                now.millis() - 100 * 86_400_000
            ])
            .map_err(fail)?;
        }
        let mut v = tx
            .prepare(
                "INSERT INTO vehicles (id, plate_type, plate_number, engine_number, engine_suffix, use_nature, \
                 owner_kind, owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at) \
                 VALUES (?1, '02', ?2, ?3, ?4, 'A', 'individual', ?1, ?5, ?6, ?7, '441900', ?8)",
            )
            .map_err(fail)?;
        for i in 1..=args.vehicles {
            v.execute(rusqlite::params![
                i64::from(i),
                plate(i),
                format!("LJ4G{i:08}"),
                format!("{:06}", i % 1_000_000),
                format!("车主{i}"),
                format!("137{i:08}"),
                resident_id(i),
                now.millis()
            ])
            .map_err(fail)?;
        }
        let mut w = tx
            .prepare(
                "INSERT INTO violations (id, vehicle_id, occurred_at, code, description, place, points, fine_fen, \
                 source, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'device', 'unhandled', ?3)",
            )
            .map_err(fail)?;
        for x in violations(args, now.millis()) {
            let Violation {
                id,
                vehicle_id: v,
                occurred_at: at,
                code,
                description: d,
                place,
                points: p,
                fine_fen: f,
            } = x;
            w.execute(rusqlite::params![id, v, at, code, d, place, p, f])
                .map_err(fail)?;
        }
        let mut b = tx
            .prepare(
                "INSERT INTO bindings (binder_id, vehicle_id, relationship, method, created_at) \
                 VALUES (?1, ?2, 'friend', 'qr', ?3)",
            )
            .map_err(fail)?;
        for (binder, vehicle) in bindings(args) {
            b.execute(rusqlite::params![
                binder,
                vehicle,
                now.millis() - BINDING_AGE_MS
            ])
            .map_err(fail)?;
        }
    }
    tx.execute_batch(VERIFIED_ACCOUNTS).map_err(fail)?;
    tx.commit().map_err(fail)?;
    conn.execute_batch("ANALYZE").map_err(fail)?;
    Ok(())
}

/// Streams rows to `COPY table FROM STDIN` in text format (the generated values hold no tabs or newlines).
fn copy_rows(
    client: &mut postgres::Client,
    sql: &str,
    rows: impl Iterator<Item = String>,
) -> Result<(), String> {
    let sink = client.copy_in(sql).map_err(fail)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, sink);
    for line in rows {
        out.write_all(line.as_bytes()).map_err(fail)?;
    }
    out.into_inner().map_err(fail)?.finish().map_err(fail)?;
    Ok(())
}

fn fill_postgres(args: &Args, now: Timestamp) -> Result<(), String> {
    let store = PgStore::open(&args.database, now).map_err(fail)?;
    let mut client = store.bulk_client().map_err(fail)?;
    let client = &mut client;
    let existing: i64 = client
        .query_one("SELECT COUNT(*) FROM people", &[])
        .and_then(|r| r.try_get(0))
        .map_err(fail)?;
    if existing > 0 {
        return Err("the database already holds people".into());
    }
    let t = now.millis();
    let cycle = t - 100 * 86_400_000;
    copy_rows(
        client,
        "COPY people (id, name, resident_id, phone, registered_at, identity_verified, role, licence_class, \
         licence_status, licence_points, licence_cycle_start, created_at) FROM STDIN",
        people(args).map(|x| {
            format!(
                "{}\t{}\t{}\t{}\t{t}\tt\t{}\tC1\tnormal\t0\t{cycle}\t{t}\n",
                x.id, x.name, x.resident_id, x.phone, x.role
            )
        }),
    )?;
    copy_rows(
        client,
        "COPY vehicles (id, plate_type, plate_number, engine_number, engine_suffix, use_nature, owner_kind, \
         owner_person_id, owner_name, owner_phone, owner_resident_id, city, created_at) FROM STDIN",
        (1..=args.vehicles).map(|i| {
            format!(
                "{i}\t02\t{}\tLJ4G{i:08}\t{:06}\tA\tindividual\t{i}\t车主{i}\t137{i:08}\t{}\t441900\t{t}\n",
                plate(i),
                i % 1_000_000,
                resident_id(i)
            )
        }),
    )?;
    copy_rows(
        client,
        "COPY violations (id, vehicle_id, occurred_at, code, description, place, points, fine_fen, source, \
         state, created_at) FROM STDIN",
        violations(args, t).map(|x| {
            let Violation { id, vehicle_id: v, occurred_at: at, code, description: d, place, points: p, fine_fen: f } = x;
            format!("{id}\t{v}\t{at}\t{code}\t{d}\t{place}\t{p}\t{f}\tdevice\tunhandled\t{at}\n")
        }),
    )?;
    let bound_at = t - BINDING_AGE_MS;
    copy_rows(
        client,
        "COPY bindings (binder_id, vehicle_id, relationship, method, created_at) FROM STDIN",
        bindings(args)
            .map(|(binder, vehicle)| format!("{binder}\t{vehicle}\tfriend\tqr\t{bound_at}\n")),
    )?;
    client.batch_execute(VERIFIED_ACCOUNTS).map_err(fail)?;
    // New rows made by the server continue after the generated ids.
    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT MAX(id) FROM people)); \
             SELECT setval(pg_get_serial_sequence('vehicles', 'id'), (SELECT MAX(id) FROM vehicles)); \
             SELECT setval(pg_get_serial_sequence('violations', 'id'), GREATEST((SELECT MAX(id) FROM violations), 1))",
        )
        .map_err(fail)?;
    // Statistics for the tables filled here only. A table analyzed while empty is planned as empty (a
    // sequential scan) by every connection until autovacuum analyzes it again, a minute or more into a run
    // that fills it; never analyzed, as in a new deployment, it is planned at a default size (index scans).
    let analyze = if args.bound_percent > 0 {
        "ANALYZE people, vehicles, violations, accounts, bindings"
    } else {
        "ANALYZE people, vehicles, violations, accounts"
    };
    client.batch_execute(analyze).map_err(fail)?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let now = renche_server::clock::Clock::now(&renche_server::clock::SystemClock);
    let started = Instant::now();
    let result = if args.database.starts_with("postgres") {
        fill_postgres(&args, now)
    } else {
        fill_sqlite(&args, now)
    };
    match result {
        Ok(()) => {
            println!(
                "{} people, {} officers, {} vehicles, {} violations, {} bindings in {:.1}s",
                args.vehicles,
                args.officers,
                args.vehicles,
                u64::from(args.vehicles) * u64::from(args.violations_per_vehicle),
                bindings(&args).count(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-data: {e}");
            ExitCode::FAILURE
        }
    }
}
