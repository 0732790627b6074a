//! Test populations: people (with a signed-in session each), officers and vehicles, written through the
//! server's own store (`renche_server::startup::open_store`), so they go wherever the database URL points.
//! Also a policy directory for load runs, where the SMS caps and cool-down do not throttle the workload.

use crate::client::Session;
use crate::{err, Result};
use renche::domain::{
    EngineSuffix, LicenceClass, LicenceStatus, OwnerKind, PhoneNumber, PlateNumber, PlateType,
    ResidentId, UseNature,
};
use renche::Timestamp;
use renche_server::store::{LicenceRow, NewPerson, NewVehicle, Outcome, Role, Store, Tx};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct SeedPerson {
    pub id: i64,
    pub name: String,
    pub resident_id: String,
    pub phone: String,
    pub officer: bool,
    pub session: Session,
}

#[derive(Clone, Debug)]
pub struct SeedVehicle {
    pub id: i64,
    pub owner_id: i64,
    pub owner_phone: String,
    pub plate_type: String,
    pub plate_number: String,
    pub engine_suffix: String,
}

#[derive(Clone, Debug, Default)]
pub struct Population {
    pub people: Vec<SeedPerson>,
    pub officers: Vec<SeedPerson>,
    pub vehicles: Vec<SeedVehicle>,
}

/// What to create. Numbers are offsets so that several populations can live in one database.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    pub people: usize,
    pub officers: usize,
    /// Vehicles, owned round-robin by the first `owners` people.
    pub vehicles: usize,
    pub owners: usize,
    /// Index of the first person / vehicle (keeps identities unique across populations).
    pub first: usize,
}

const CHECK: &[u8; 11] = b"10X98765432";
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// A valid 18-character resident ID number, distinct for each `n` below 100 million.
pub fn resident_id(n: usize) -> String {
    let day = n / 1000;
    let seq = n % 1000;
    let year = 1960 + (day / 336) % 45;
    let month = 1 + (day % 336) / 28;
    let dom = 1 + day % 28;
    let area = 441900 + (n / (1000 * 336 * 45)) % 99;
    let first17 = format!("{area:06}{year:04}{month:02}{dom:02}{seq:03}");
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = CHECK.get((sum % 11) as usize).copied().unwrap_or(b'1');
    format!("{first17}{}", char::from(check))
}

/// A valid mainland mobile number, distinct for each `n` below 100 million.
pub fn phone(n: usize) -> String {
    format!("139{:08}", n % 100_000_000)
}

/// A valid small-car plate (type 02), distinct for each `n` below 2.5 million.
pub fn plate(n: usize) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    let letter = LETTERS
        .get((n / 100_000) % LETTERS.len())
        .copied()
        .unwrap_or(b'S');
    format!("粤{}{:05}", char::from(letter), n % 100_000)
}

pub fn engine_suffix(n: usize) -> String {
    format!("{:06}", (n * 7919 + 13) % 1_000_000)
}

/// Random hex of `bytes` bytes.
fn token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

/// Runs `f` in one write transaction of `store`, returning its value.
pub async fn write<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
) -> Result<T> {
    let (send, recv) = tokio::sync::oneshot::channel();
    let job: renche_server::store::Job = Box::new(move |tx| {
        let r = f(tx);
        let outcome = if r.is_ok() {
            Outcome::Commit
        } else {
            Outcome::Rollback
        };
        let _ = send.send(r);
        outcome
    });
    store.write(job).await.map_err(|e| err(e.to_string()))?;
    recv.await.map_err(|_| err("seed job gave no answer"))?
}

fn person_row(n: usize, officer: bool, at: Timestamp) -> Result<NewPerson> {
    Ok(NewPerson {
        name: format!("测试{n}"),
        resident_id: ResidentId::parse(&resident_id(n)).map_err(|e| err(format!("{e:?}")))?,
        phone: PhoneNumber::parse(&phone(n)).map_err(|e| err(format!("{e:?}")))?,
        registered_at: Some(at),
        identity_verified: false,
        role: if officer { Role::Officer } else { Role::Person },
        licence: Some(LicenceRow {
            class: LicenceClass::C1,
            status: LicenceStatus::Normal,
            points: 0,
            cycle_start: None,
        }),
        created_at: at,
    })
}

/// Creates the people (each with a session valid 48 hours), officers and vehicles of `plan`.
pub async fn seed(database: &str, plan: &SeedPlan) -> Result<Population> {
    let at = now();
    let store = renche_server::startup::open_store(database, at).map_err(|e| err(e.to_string()))?;
    let plan = plan.clone();
    let pop = write(&store, move |tx| {
        let mut pop = Population::default();
        let expires = Timestamp::from_millis(at.millis() + 48 * 3_600_000);
        for i in 0..plan.people + plan.officers {
            let n = plan.first + i;
            let officer = i >= plan.people;
            let row = person_row(n, officer, at)?;
            let id = tx.insert_person(&row).map_err(|e| err(e.to_string()))?;
            // Each seeded person stands for someone who registered and passed verification earlier:
            // an account linked to the record, and a session of that account.
            let account = tx
                .insert_account(row.phone.as_str(), at)
                .map_err(|e| err(e.to_string()))?;
            tx.link_account(account, id, at)
                .map_err(|e| err(e.to_string()))?;
            tx.mark_person_verified(id, row.phone.as_str(), at)
                .map_err(|e| err(e.to_string()))?;
            let (tok, csrf) = (token(32), token(32));
            tx.insert_session(
                &renche_server::flows::sessions::token_hash(&tok),
                Some(account),
                &csrf,
                at,
                expires,
            )
            .map_err(|e| err(e.to_string()))?;
            let p = SeedPerson {
                id,
                name: row.name.clone(),
                resident_id: row.resident_id.as_str().to_owned(),
                phone: row.phone.as_str().to_owned(),
                officer,
                session: Session {
                    person_id: id,
                    token: tok,
                    csrf,
                },
            };
            if officer {
                pop.officers.push(p);
            } else {
                pop.people.push(p);
            }
        }
        let owners = plan.owners.clamp(1, plan.people.max(1));
        for j in 0..plan.vehicles {
            let n = plan.first + j;
            let Some(owner) = pop.people.get(j % owners).cloned() else {
                return Err(err("vehicles need at least one person to own them"));
            };
            let plate_number = plate(n);
            let suffix = engine_suffix(n);
            let v = NewVehicle {
                plate_number: PlateNumber::parse(&plate_number, PlateType::SmallCar)
                    .map_err(|e| err(format!("{plate_number}: {e:?}")))?,
                engine_number: format!("E{suffix}"),
                engine_suffix: EngineSuffix::parse(&suffix).map_err(|e| err(format!("{e:?}")))?,
                use_nature: UseNature::NonCommercial,
                owner_kind: OwnerKind::Individual,
                owner_person_id: Some(owner.id),
                owner_name: owner.name.clone(),
                owner_phone: PhoneNumber::parse(&owner.phone).map_err(|e| err(format!("{e:?}")))?,
                owner_resident_id: ResidentId::parse(&owner.resident_id).ok(),
                city: "441900".into(),
                created_at: at,
            };
            let id = tx.insert_vehicle(&v).map_err(|e| err(e.to_string()))?;
            pop.vehicles.push(SeedVehicle {
                id,
                owner_id: owner.id,
                owner_phone: owner.phone.clone(),
                plate_type: "02".into(),
                plate_number,
                engine_suffix: suffix,
            });
        }
        Ok(pop)
    })
    .await?;
    Ok(pop)
}

/// Copies the policy directory `src` to `dst`, with the SMS cool-down at 0 s and the caps and budgets at a
/// million or more, so that a load run measures the flows rather than the throttles (which have their own tests).
pub fn load_policy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst.join("cities"))?;
    let text = std::fs::read_to_string(src.join("default.json"))?;
    let mut v: serde_json::Value = serde_json::from_str(&text)?;
    if let Some(sms) = v.get_mut("sms").and_then(|s| s.as_object_mut()) {
        sms.insert("resendCooldownSeconds".into(), 0.into());
        sms.insert("dailyCapPerPhone".into(), 1_000_000.into());
        sms.insert("dailyCapPerPlate".into(), 1_000_000.into());
        let lifted = serde_json::json!({ "perHour": 1_000_000, "perDay": 1_000_000 });
        for caps in ["perSession", "perAccount", "perAddress"] {
            sms.insert(caps.into(), lifted.clone());
        }
        let budget = serde_json::json!({ "register": 1_000_000_000u32, "signIn": 1_000_000_000u32, "binding": 1_000_000_000u32 });
        sms.insert("dailyBudget".into(), budget);
    }
    std::fs::write(dst.join("default.json"), serde_json::to_string_pretty(&v)?)?;
    if let Ok(entries) = std::fs::read_dir(src.join("cities")) {
        for e in entries.flatten() {
            std::fs::copy(e.path(), dst.join("cities").join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Adds one camera-recorded, unhandled violation (3 points, 200 yuan) of `vehicle_id`, occurring `at`.
pub async fn add_violation(database: &str, vehicle_id: i64, at: Timestamp) -> Result<i64> {
    use renche::domain::{Fen, Points, ViolationSource, ViolationState};
    use renche_server::store::NewViolation;
    let store =
        renche_server::startup::open_store(database, now()).map_err(|e| err(e.to_string()))?;
    write(&store, move |tx| {
        let v = NewViolation {
            vehicle_id,
            occurred_at: at,
            code: "1625".into(),
            description: "驾驶机动车违反道路交通信号灯通行".into(),
            place: "东莞大道与鸿福路交叉口".into(),
            points: Points::new(3).map_err(|e| err(format!("{e:?}")))?,
            fine_fen: Fen::new(20_000).ok_or_else(|| err("fine"))?,
            source: ViolationSource::Device,
            state: ViolationState::Unhandled,
            decision_number: None,
            decided_at: None,
            created_at: at,
        };
        tx.insert_violation(&v).map_err(|e| err(e.to_string()))
    })
    .await
}

/// The current wall-clock time as the server's store sees it.
pub fn wall_clock() -> Timestamp {
    now()
}
