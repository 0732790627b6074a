//! Demo data for Dongguan (441900), seeded on the first start with `--demo`: an owner, binders at and below
//! the limits, an officer, vehicles of every kind that matters and violations on every route.
//! `docs/demo.md` lists the accounts. Each demo person has a verified account of their phone (linked at
//! seeding); the owners who are not registered have none.

use crate::store::{
    LicenceRow, NewBinding, NewPerson, NewVehicle, NewViolation, Role, Store, StoreError, Tx,
};
use renche::domain::{
    BindingMethod, EngineSuffix, Fen, LicenceClass, LicenceStatus, OwnerKind, PhoneNumber,
    PlateNumber, PlateType, Points, Relationship, ResidentId, UseNature, ViolationSource,
    ViolationState,
};
use renche::Timestamp;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;
const CITY: &str = "441900";

/// Completes 17 digits with the GB 11643 check character.
pub fn resident_id(first17: &str) -> Option<ResidentId> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let digits: Option<Vec<u32>> = first17.chars().map(|c| c.to_digit(10)).collect();
    let digits = digits.filter(|d| d.len() == 17)?;
    let sum: u32 = digits.iter().zip(WEIGHTS.iter()).map(|(d, w)| d * w).sum();
    let check = CHECK.get((sum % 11) as usize)?;
    ResidentId::parse(&format!("{first17}{check}")).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo value {0} does not parse")]
    Value(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn ago(now: Timestamp, days: i64) -> Timestamp {
    Timestamp::from_millis(now.millis() - days * DAY_MS)
}

struct Seeder<'a> {
    tx: &'a mut dyn Tx,
    now: Timestamp,
}

impl Seeder<'_> {
    fn person(
        &mut self,
        name: &str,
        id17: &'static str,
        phone: &'static str,
        role: Role,
        licence: Option<(LicenceClass, u32)>,
    ) -> Result<i64, DemoError> {
        let now = self.now;
        let id = self.tx.insert_person(&NewPerson {
            name: name.to_owned(),
            resident_id: resident_id(id17).ok_or(DemoError::Value(id17))?,
            phone: PhoneNumber::parse(phone).map_err(|_| DemoError::Value(phone))?,
            registered_at: Some(now),
            identity_verified: true,
            role,
            licence: licence.map(|(class, points)| LicenceRow {
                class,
                status: LicenceStatus::Normal,
                points,
                cycle_start: Some(ago(now, 100)),
            }),
            created_at: now,
        })?;
        // Every demo person signs in with a verified account of their phone (as if verified at seeding).
        let account = self.tx.insert_account(phone, now)?;
        self.tx.link_account(account, id, now)?;
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn vehicle(
        &mut self,
        plate: &'static str,
        plate_type: PlateType,
        engine: &'static str,
        use_nature: UseNature,
        owner_kind: OwnerKind,
        owner: Option<i64>,
        owner_name: &str,
        owner_phone: &'static str,
    ) -> Result<i64, DemoError> {
        Ok(self.tx.insert_vehicle(&NewVehicle {
            plate_number: PlateNumber::parse(plate, plate_type)
                .map_err(|_| DemoError::Value(plate))?,
            engine_number: engine.to_owned(),
            engine_suffix: EngineSuffix::of_engine_number(engine)
                .map_err(|_| DemoError::Value(engine))?,
            use_nature,
            owner_kind,
            owner_person_id: owner,
            owner_name: owner_name.to_owned(),
            owner_phone: PhoneNumber::parse(owner_phone)
                .map_err(|_| DemoError::Value(owner_phone))?,
            owner_resident_id: None,
            city: CITY.to_owned(),
            created_at: self.now,
        })?)
    }

    fn bind(
        &mut self,
        binder: i64,
        vehicle: i64,
        days_ago: i64,
        relationship: Relationship,
    ) -> Result<(), DemoError> {
        self.tx.insert_binding(&NewBinding {
            binder_id: binder,
            vehicle_id: vehicle,
            relationship,
            method: BindingMethod::Qr,
            application_id: None,
            created_at: ago(self.now, days_ago),
        })?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn violation(
        &mut self,
        vehicle: i64,
        days_ago: i64,
        code: &str,
        description: &str,
        points: i64,
        yuan: u32,
        source: ViolationSource,
        decided_days_ago: Option<i64>,
    ) -> Result<(), DemoError> {
        let occurred_at = ago(self.now, days_ago);
        let decided_at = decided_days_ago.map(|d| ago(self.now, d));
        self.tx.insert_violation(&NewViolation {
            vehicle_id: vehicle,
            occurred_at,
            code: code.to_owned(),
            description: description.to_owned(),
            place: "东莞市南城区东莞大道与鸿福路交叉口".to_owned(),
            points: Points::new(points).map_err(|_| DemoError::Value("points"))?,
            fine_fen: Fen::from_yuan(yuan),
            source,
            state: if decided_at.is_some() {
                ViolationState::Handled
            } else {
                ViolationState::Unhandled
            },
            decision_number: decided_at.map(|_| format!("{CITY}DEMO{vehicle:04}{days_ago:04}")),
            decided_at,
            created_at: self.now,
        })?;
        Ok(())
    }
}

/// The demo people: name, first 17 digits of the resident ID, phone, role, licence points.
const PEOPLE: [(&str, &str, &str, Role, u32); 5] = [
    (
        "王车主",
        "44190019800101001",
        "13900000001",
        Role::Person,
        0,
    ),
    (
        "李满额",
        "44190019850202002",
        "13900000002",
        Role::Person,
        0,
    ),
    (
        "张绑定",
        "44190019900303003",
        "13900000003",
        Role::Person,
        3,
    ),
    (
        "赵新人",
        "44190019950404004",
        "13900000004",
        Role::Person,
        0,
    ),
    (
        "刘警官",
        "44190019750505005",
        "13900000010",
        Role::Officer,
        0,
    ),
];
const OWNER: usize = 0;
const FULL: usize = 1;
const BINDER: usize = 2;

/// The demo vehicles: plate, type, engine number, use, owner kind, owner (index into `PEOPLE`, or the
/// name and phone of an owner who has no account).
#[rustfmt::skip]
const VEHICLES: [(&str, PlateType, &str, UseNature, OwnerKind, Owner); 8] = [
    ("粤S12345", PlateType::SmallCar, "LJ4G18A123456", UseNature::NonCommercial, OwnerKind::Individual, Owner::Person(OWNER)),
    ("粤SD12345", PlateType::SmallNewEnergy, "TZ220XS654321", UseNature::NonCommercial, OwnerKind::Individual, Owner::Person(OWNER)),
    ("粤SB1234", PlateType::LargeCar, "WP10H300111111", UseNature::NonCommercial, OwnerKind::Individual, Owner::Person(OWNER)),
    ("粤ST2345", PlateType::SmallCar, "LJ4G15T222222", UseNature::Taxi, OwnerKind::Individual, Owner::Person(OWNER)),
    ("粤SG3456", PlateType::SmallCar, "LJ4G15G333333", UseNature::Rental, OwnerKind::Individual, Owner::Person(OWNER)),
    ("粤SU4567", PlateType::SmallCar, "LJ4G15U444444", UseNature::NonCommercial, OwnerKind::Unit, Owner::Absent("东莞示例科技有限公司", "13900000009")),
    ("粤S67890", PlateType::SmallCar, "LJ4G18C678901", UseNature::NonCommercial, OwnerKind::Individual, Owner::Absent("陈未注册", "13900000008")),
    ("粤S88888", PlateType::SmallCar, "LJ4G18D888888", UseNature::NonCommercial, OwnerKind::Individual, Owner::Absent("黄车主", "13900000007")),
];
const CAR: usize = 0;
const NEV: usize = 1;
const UNREGISTERED: usize = 6;

/// Who owns a demo vehicle.
#[derive(Clone, Copy)]
enum Owner {
    /// One of `PEOPLE`.
    Person(usize),
    /// Someone with no account: name and phone.
    Absent(&'static str, &'static str),
}

const RED: &str = "驾驶机动车违反道路交通信号灯通行";
const SPEED: &str =
    "驾驶中型以上载客载货汽车、危险物品运输车辆以外的其他机动车行驶超过规定时速20%以上未达到50%的";
const PARK: &str = "机动车违反规定停放、临时停车且驾驶人不在现场,妨碍其他车辆、行人通行的";
const LIGHTS: &str = "驾驶机动车不按规定使用灯光的";
const LANE: &str = "机动车不在机动车道内行驶的";
const SIGN: &str = "机动车违反禁令标志指示的";

/// A demo violation: vehicle (index into `VEHICLES`), days ago, code, offence, points, fine in yuan,
/// source, decided how many days ago.
type DemoViolation = (
    usize,
    i64,
    &'static str,
    &'static str,
    i64,
    u32,
    ViolationSource,
    Option<i64>,
);

/// The demo violations, one on every route.
#[rustfmt::skip]
const VIOLATIONS: [DemoViolation; 14] = [
    (CAR, 1, "1039", PARK, 0, 150, ViolationSource::Device, None), // a second unscored one: paying one leaves another
    (CAR, 10, "1625", RED, 6, 200, ViolationSource::Device, None), // online for both
    (CAR, 5, "1636", SPEED, 6, 500, ViolationSource::Device, None), // fine over ¥200: window
    (CAR, 3, "1039", PARK, 0, 150, ViolationSource::Device, None), // unscored: owner online, binder window
    (CAR, 60, "1352", LIGHTS, 1, 100, ViolationSource::Device, None), // before binding for 张绑定
    (CAR, 7, "1042", LANE, 3, 100, ViolationSource::OnSite, None), // on-site: owner window, binder unseen
    (CAR, 45, "1625", RED, 6, 200, ViolationSource::Device, Some(30)), // handled, unpaid, 15 days late: late fee ¥90
    (NEV, 12, "1344", SIGN, 3, 200, ViolationSource::Device, None),
    (2, 8, "1625", RED, 6, 200, ViolationSource::Device, None), // large car: window
    (3, 9, "1344", SIGN, 3, 200, ViolationSource::Device, None), // taxi: window
    (4, 11, "1344", SIGN, 3, 200, ViolationSource::Device, None), // rental: window
    (5, 6, "1625", RED, 6, 200, ViolationSource::Device, None), // unit-owned: window
    (UNREGISTERED, 4, "1344", SIGN, 3, 200, ViolationSource::Device, None), // 李满额 online
    (7, 2, "1625", RED, 6, 200, ViolationSource::Device, None),
];

fn seed(tx: &mut dyn Tx, now: Timestamp) -> Result<(), DemoError> {
    let mut s = Seeder { tx, now };
    let mut people = Vec::new();
    for (name, id17, phone, role, points) in PEOPLE {
        people.push(s.person(name, id17, phone, role, Some((LicenceClass::C1, points)))?);
    }
    let person = |i: usize| {
        people
            .get(i)
            .copied()
            .ok_or(DemoError::Value("person index"))
    };
    let mut vehicles = Vec::new();
    for (plate, plate_type, engine, use_nature, owner_kind, owner) in VEHICLES {
        let (owner_id, name, phone) = match owner {
            Owner::Person(i) => {
                let (name, _, phone, _, _) =
                    PEOPLE.get(i).ok_or(DemoError::Value("owner index"))?;
                (Some(person(i)?), *name, *phone)
            }
            Owner::Absent(name, phone) => (None, name, phone),
        };
        vehicles.push(s.vehicle(
            plate, plate_type, engine, use_nature, owner_kind, owner_id, name, phone,
        )?);
    }
    let vehicle = |i: usize| {
        vehicles
            .get(i)
            .copied()
            .ok_or(DemoError::Value("vehicle index"))
    };
    // 李满额 is at the limit of three; 张绑定 has one binding, made 30 days ago.
    s.bind(person(FULL)?, vehicle(CAR)?, 20, Relationship::Friend)?;
    s.bind(person(FULL)?, vehicle(NEV)?, 20, Relationship::Friend)?;
    s.bind(
        person(FULL)?,
        vehicle(UNREGISTERED)?,
        20,
        Relationship::Relative,
    )?;
    s.bind(person(BINDER)?, vehicle(CAR)?, 30, Relationship::Spouse)?;
    for (v, days, code, offence, points, yuan, source, decided) in VIOLATIONS {
        s.violation(
            vehicle(v)?,
            days,
            code,
            offence,
            points,
            yuan,
            source,
            decided,
        )?;
    }
    Ok(())
}

/// Seeds the demo data when the database has nobody in it yet.
pub async fn seed_if_empty(store: &Arc<dyn Store>, now: Timestamp) -> Result<bool, DemoError> {
    let seeded = crate::store::write(store.as_ref(), move |tx| match tx.count_people() {
        Ok(0) => seed(tx, now).map(|_| true),
        Ok(_) => Ok(false),
        Err(e) => Err(DemoError::Store(e)),
    })
    .await?;
    if seeded {
        tracing::info!("demo data seeded (Dongguan 441900; see docs/demo.md)");
    }
    Ok(seeded)
}
