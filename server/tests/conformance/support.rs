//! Fresh stores for each test: a temporary SQLite file, or a PostgreSQL database made for the test and
//! dropped when it ends (pass or fail), plus the fixtures the cases share.

use renche::domain::{
    EngineSuffix, LicenceClass, LicenceStatus, OwnerKind, PhoneNumber, PlateNumber, PlateType,
    ResidentId, UseNature,
};
use renche::{CstDate, Timestamp};
use renche_server::store::postgres::PgStore;
use renche_server::store::sqlite::SqliteStore;
use renche_server::store::{LicenceRow, NewPerson, NewVehicle, Role, Store, StoreResult, Tx};
use std::sync::Arc;

/// 2026-09-01T10:00:00+08:00.
pub const T0: Timestamp = Timestamp::from_millis(1_788_228_000_000);

/// The server used to create and drop the test databases.
pub fn admin_url() -> String {
    std::env::var("RENCHE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `RENCHE_SKIP_POSTGRES=1` is the only way to run without PostgreSQL; otherwise its absence fails.
pub fn skip_postgres() -> bool {
    std::env::var("RENCHE_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

/// Runs blocking driver calls off the async runtime (the sync client may not run inside one).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("helper thread"))
}

/// A database that exists for one test and is dropped with this guard, also when the test panics.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let name = format!("renche_test_{}", renche_server::secrets::random_hex(6));
        let admin = admin_url();
        let result = off_runtime(|| -> Result<(), postgres::Error> {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
            c.batch_execute(&format!("CREATE DATABASE {name}"))
        });
        if let Err(e) = result {
            panic!(
                "PostgreSQL is required by the conformance suite and is not reachable at {admin}: {e}\n\
                 Start it (or point RENCHE_TEST_POSTGRES_URL at one), or set RENCHE_SKIP_POSTGRES=1 to skip \
                 the PostgreSQL half explicitly."
            );
        }
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("RENCHE_TEST_POSTGRES_URL has no database part: {admin}"),
        };
        TestDb { name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_url();
        let name = self.name.clone();
        let result = off_runtime(move || -> Result<(), postgres::Error> {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
            // FORCE ends the pool's connections that may still be open.
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        });
        if let Err(e) = result {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A store under test and what keeps its database alive.
pub struct Under {
    pub store: Arc<dyn Store>,
    pub _db: Keep,
}

pub enum Keep {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDb),
}

pub fn sqlite() -> Under {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(&dir.path().join("conformance.sqlite3"), T0).expect("sqlite opens");
    Under {
        store: Arc::new(store),
        _db: Keep::Sqlite(dir),
    }
}

pub fn postgres() -> Under {
    let db = TestDb::create();
    let store = PgStore::open(&format!("{}?pool_size=8", db.url), T0).expect("postgres opens");
    Under {
        store: Arc::new(store),
        _db: Keep::Postgres(db),
    }
}

/// Runs `f` as one write job; an `Err` rolls it back.
pub async fn write<T, F>(store: &Arc<dyn Store>, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> StoreResult<T> + Send + 'static,
{
    renche_server::store::write(store.as_ref(), f).await
}

/// Runs `f` as one read job.
pub async fn read<T, F>(store: &Arc<dyn Store>, f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> StoreResult<T> + Send + 'static,
{
    renche_server::store::read(store.as_ref(), f).await
}

/// A valid resident ID number, different for every `n` below a million.
pub fn resident_id(n: u32) -> ResidentId {
    let day = CstDate::from_days(3650 + i64::from(n / 1000));
    let (y, m, d) = day.ymd();
    let body = format!("440300{y:04}{m:02}{d:02}{:03}", n % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    ResidentId::parse(&format!("{body}{check}")).unwrap()
}

pub fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("138{n:08}")).unwrap()
}

/// A small-car plate (type 02), different for every `n` below 2.4 million.
pub fn plate(n: u32) -> PlateNumber {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    let letter = LETTERS[(n / 100_000) as usize % LETTERS.len()] as char;
    PlateNumber::parse(
        &format!("粤{letter}{:05}", n % 100_000),
        PlateType::parse("02").unwrap(),
    )
    .unwrap()
}

pub fn new_person(n: u32) -> NewPerson {
    NewPerson {
        name: format!("测试{n}"),
        resident_id: resident_id(n),
        phone: phone(n),
        registered_at: Some(T0),
        identity_verified: true,
        role: Role::Person,
        licence: Some(LicenceRow {
            class: LicenceClass::parse("C1").unwrap(),
            status: LicenceStatus::parse("normal").unwrap(),
            points: 0,
            cycle_start: Some(Timestamp::from_millis(T0.millis() - 100 * 86_400_000)),
        }),
        created_at: T0,
    }
}

pub fn new_vehicle(n: u32, owner: Option<i64>) -> NewVehicle {
    NewVehicle {
        plate_number: plate(n),
        engine_number: format!("ENG{n:06}"),
        engine_suffix: EngineSuffix::parse(&format!("{n:06}")).unwrap(),
        use_nature: UseNature::parse("A").unwrap(),
        owner_kind: OwnerKind::parse("individual").unwrap(),
        owner_person_id: owner,
        owner_name: format!("车主{n}"),
        owner_phone: phone(500_000 + n),
        owner_resident_id: Some(resident_id(500_000 + n)),
        city: "441900".into(),
        created_at: T0,
    }
}

/// Inserts `people` people and `vehicles` vehicles (owned by nobody registered); returns their ids.
pub async fn seed(store: &Arc<dyn Store>, people: u32, vehicles: u32) -> (Vec<i64>, Vec<i64>) {
    write(store, move |tx| {
        let p = (0..people)
            .map(|n| tx.insert_person(&new_person(n)))
            .collect::<StoreResult<Vec<_>>>()?;
        let v = (0..vehicles)
            .map(|n| tx.insert_vehicle(&new_vehicle(n, None)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((p, v))
    })
    .await
    .expect("seed")
}
