//! `renche-server import`: people, vehicles or violations from CSV (header row, camelCase names) or a JSON
//! array. Every row is parsed with the core's parsers; a file with any bad row loads nothing (one
//! transaction), and the report names each bad row by its line.

use crate::store::{LicenceRow, NewPerson, NewVehicle, NewViolation, Role, Store, Tx};
use renche::domain::{
    EngineSuffix, Fen, LicenceClass, LicenceStatus, OffenceCode, OwnerKind, PhoneNumber,
    PlateNumber, PlateType, Points, ResidentId, UseNature, ViolationSource, ViolationState,
};
use renche::message::Explain;
use renche::{CstDate, Timestamp};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    People,
    Vehicles,
    Violations,
}

impl ImportKind {
    /// `people.csv`, `vehicles.json`, `2026-violations.csv` …
    pub fn from_file_name(path: &Path) -> Option<ImportKind> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.contains("people") || name.contains("person") {
            Some(ImportKind::People)
        } else if name.contains("vehicle") {
            Some(ImportKind::Vehicles)
        } else if name.contains("violation") {
            Some(ImportKind::Violations)
        } else {
            None
        }
    }
}

#[derive(Debug)]
pub enum ImportError {
    File(String),
    /// Every bad row, by line (CSV) or item number (JSON); nothing was loaded.
    Rows(Vec<(usize, String)>),
    Store(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::File(e) => write!(f, "cannot read the file: {e}"),
            ImportError::Store(e) => write!(f, "database: {e}"),
            ImportError::Rows(rows) => {
                writeln!(f, "{} bad row(s); nothing was loaded:", rows.len())?;
                for (line, problem) in rows {
                    writeln!(f, "  line {line}: {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ImportError {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PersonRecord {
    name: String,
    resident_id: String,
    phone: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    registered: Option<bool>,
    #[serde(default)]
    identity_verified: Option<bool>,
    #[serde(default)]
    licence_class: Option<String>,
    #[serde(default)]
    licence_status: Option<String>,
    #[serde(default)]
    licence_points: Option<u32>,
    /// `YYYY-MM-DD`, China Standard Time.
    #[serde(default)]
    licence_cycle_start: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VehicleRecord {
    plate_type: String,
    plate_number: String,
    engine_number: String,
    use_nature: String,
    owner_kind: String,
    owner_name: String,
    owner_phone: String,
    #[serde(default)]
    owner_resident_id: Option<String>,
    city: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ViolationRecord {
    plate_type: String,
    plate_number: String,
    occurred_at: String,
    code: String,
    description: String,
    place: String,
    points: i64,
    fine_fen: u64,
    source: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    decided_at: Option<String>,
    #[serde(default)]
    decision_number: Option<String>,
}

fn explain(field: &str, e: &dyn Explain) -> String {
    format!("{field}: {} ({})", e.message().en, e.code())
}

fn text(field: &str, s: &str, max: usize) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(format!("{field}: 1 to {max} characters"));
    }
    Ok(t.to_owned())
}

fn parse_date(field: &str, s: &str) -> Result<Timestamp, String> {
    let mut parts = s.trim().split('-').map(|p| p.parse::<i64>());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) => CstDate::from_ymd(y, m, d)
            .map(|d| d.start())
            .ok_or_else(|| format!("{field}: not a real date")),
        _ => Err(format!("{field}: expected YYYY-MM-DD")),
    }
}

fn parse_instant(field: &str, s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(s.trim()).map_err(|e| format!("{field}: {e}"))
}

fn person_row(r: PersonRecord, now: Timestamp) -> Result<NewPerson, String> {
    let licence = match r
        .licence_class
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(class) => Some(LicenceRow {
            class: LicenceClass::parse(class).map_err(|e| format!("licenceClass: {e}"))?,
            status: LicenceStatus::parse(r.licence_status.as_deref().unwrap_or("normal"))
                .map_err(|e| format!("licenceStatus: {e}"))?,
            points: match r.licence_points.unwrap_or(0) {
                p if p <= 12 => p,
                _ => return Err("licencePoints: from 0 to 12".into()),
            },
            cycle_start: r
                .licence_cycle_start
                .as_deref()
                .map(|s| parse_date("licenceCycleStart", s))
                .transpose()?,
        }),
        None => None,
    };
    Ok(NewPerson {
        name: text("name", &r.name, 40)?,
        resident_id: ResidentId::parse(&r.resident_id).map_err(|e| explain("residentId", &e))?,
        phone: PhoneNumber::parse(&r.phone).map_err(|e| explain("phone", &e))?,
        registered_at: r.registered.unwrap_or(false).then_some(now),
        identity_verified: r.identity_verified.unwrap_or(false),
        role: match r.role.as_deref().map(str::trim) {
            None | Some("") => Role::Person,
            Some(s) => Role::parse(s).ok_or_else(|| "role: person or officer".to_owned())?,
        },
        licence,
        created_at: now,
    })
}

fn vehicle_row(r: VehicleRecord, now: Timestamp) -> Result<NewVehicle, String> {
    let plate_type = PlateType::parse(&r.plate_type).map_err(|e| explain("plateType", &e))?;
    let city = r.city.trim().to_owned();
    if city.len() != 6 || !city.bytes().all(|b| b.is_ascii_digit()) {
        return Err("city: a six-digit code".into());
    }
    let engine_number = text("engineNumber", &r.engine_number, 32)?;
    Ok(NewVehicle {
        plate_number: PlateNumber::parse(&r.plate_number, plate_type)
            .map_err(|e| explain("plateNumber", &e))?,
        engine_suffix: EngineSuffix::of_engine_number(&engine_number)
            .map_err(|e| explain("engineNumber", &e))?,
        engine_number,
        use_nature: UseNature::parse(&r.use_nature).map_err(|e| format!("useNature: {e}"))?,
        owner_kind: OwnerKind::parse(&r.owner_kind).map_err(|e| format!("ownerKind: {e}"))?,
        owner_person_id: None,
        owner_name: text("ownerName", &r.owner_name, 80)?,
        owner_phone: PhoneNumber::parse(&r.owner_phone).map_err(|e| explain("ownerPhone", &e))?,
        owner_resident_id: match r
            .owner_resident_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(ResidentId::parse(s).map_err(|e| explain("ownerResidentId", &e))?),
            None => None,
        },
        city,
        created_at: now,
    })
}

/// A violation row and the plate it belongs to (looked up in the transaction).
struct ViolationImport {
    plate: PlateNumber,
    row: NewViolation,
}

fn violation_row(r: ViolationRecord, now: Timestamp) -> Result<ViolationImport, String> {
    let plate_type = PlateType::parse(&r.plate_type).map_err(|e| explain("plateType", &e))?;
    let state = match r.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => ViolationState::parse(s).map_err(|e| format!("state: {e}"))?,
        None => ViolationState::Unhandled,
    };
    let decided_at = r
        .decided_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_instant("decidedAt", s))
        .transpose()?;
    if state != ViolationState::Unhandled && decided_at.is_none() {
        return Err("decidedAt: required for a handled or paid violation".into());
    }
    Ok(ViolationImport {
        plate: PlateNumber::parse(&r.plate_number, plate_type)
            .map_err(|e| explain("plateNumber", &e))?,
        row: NewViolation {
            vehicle_id: 0,
            occurred_at: parse_instant("occurredAt", &r.occurred_at)?,
            // The violation code (违法代码) is what a page names the offence by in English.
            code: OffenceCode::parse(&r.code)
                .map_err(|e| format!("code: {e}"))?
                .to_string(),
            description: text("description", &r.description, 200)?,
            place: text("place", &r.place, 200)?,
            points: Points::new(r.points).map_err(|e| explain("points", &e))?,
            fine_fen: Fen::new(r.fine_fen).ok_or_else(|| "fineFen: too large".to_owned())?,
            source: ViolationSource::parse(&r.source).map_err(|e| format!("source: {e}"))?,
            state,
            decision_number: r.decision_number.filter(|s| !s.trim().is_empty()),
            decided_at,
            created_at: now,
        },
    })
}

/// Reads records of `T` with their line numbers (CSV) or item numbers (JSON).
/// Rows by line (or item) number, each parsed or with its problem.
type Numbered<T> = Vec<(usize, Result<T, String>)>;

fn records<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<Numbered<T>, ImportError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let items: Vec<serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|e| ImportError::File(format!("not a JSON array: {e}")))?;
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    i + 1,
                    serde_json::from_value::<T>(v).map_err(|e| e.to_string()),
                )
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ImportError::File(e.to_string()))?
        .clone();
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position().map(|p| p.line() as usize))
            .unwrap_or(i + 2);
        let parsed = rec.map_err(|e| e.to_string()).and_then(|r| {
            r.deserialize::<T>(Some(&headers))
                .map_err(|e| e.to_string())
        });
        out.push((line, parsed));
    }
    Ok(out)
}

fn parse_all<T: DeserializeOwned, R>(
    path: &Path,
    bytes: &[u8],
    now: Timestamp,
    convert: fn(T, Timestamp) -> Result<R, String>,
) -> Result<Vec<(usize, R)>, ImportError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (line, rec) in records::<T>(path, bytes)? {
        match rec.and_then(|r| convert(r, now)) {
            Ok(row) => good.push((line, row)),
            Err(e) => bad.push((line, e)),
        }
    }
    if !bad.is_empty() {
        return Err(ImportError::Rows(bad));
    }
    Ok(good)
}

enum Rows {
    People(Vec<(usize, NewPerson)>),
    Vehicles(Vec<(usize, NewVehicle)>),
    Violations(Vec<(usize, ViolationImport)>),
}

fn load(tx: &mut dyn Tx, rows: Rows) -> Result<usize, Vec<(usize, String)>> {
    let mut bad = Vec::new();
    let mut n = 0;
    let mut fail = |line: usize, e: String| bad.push((line, e));
    match rows {
        Rows::People(rows) => {
            for (line, p) in rows {
                match tx.insert_person(&p) {
                    Ok(_) => n += 1,
                    Err(e) => fail(line, format!("{e} (resident ID or phone already present?)")),
                }
            }
        }
        Rows::Vehicles(rows) => {
            for (line, mut v) in rows {
                if v.owner_kind == OwnerKind::Individual {
                    if let Some(rid) = &v.owner_resident_id {
                        match tx.person_by_resident_id(rid.as_str()) {
                            Ok(p) => v.owner_person_id = p.map(|p| p.id),
                            Err(e) => {
                                fail(line, e.to_string());
                                continue;
                            }
                        }
                    }
                }
                match tx.insert_vehicle(&v) {
                    Ok(_) => n += 1,
                    Err(e) => fail(line, format!("{e} (plate already present?)")),
                }
            }
        }
        Rows::Violations(rows) => {
            for (line, mut v) in rows {
                match tx.vehicle_by_plate(v.plate.plate_type(), v.plate.as_str()) {
                    Ok(Some(vehicle)) => v.row.vehicle_id = vehicle.id,
                    Ok(None) => {
                        fail(
                            line,
                            format!(
                                "plateNumber: no vehicle {} of type {}",
                                v.plate.as_str(),
                                v.plate.plate_type().code()
                            ),
                        );
                        continue;
                    }
                    Err(e) => {
                        fail(line, e.to_string());
                        continue;
                    }
                }
                match tx.insert_violation(&v.row) {
                    Ok(_) => n += 1,
                    Err(e) => fail(line, e.to_string()),
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(n)
    } else {
        Err(bad)
    }
}

/// Imports one file into an open store; returns how many rows were loaded.
pub async fn import_file(
    store: &Arc<dyn Store>,
    kind: ImportKind,
    path: &Path,
    now: Timestamp,
) -> Result<usize, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|e| ImportError::File(format!("{}: {e}", path.display())))?;
    let rows = match kind {
        ImportKind::People => {
            Rows::People(parse_all::<PersonRecord, _>(path, &bytes, now, person_row)?)
        }
        ImportKind::Vehicles => Rows::Vehicles(parse_all::<VehicleRecord, _>(
            path,
            &bytes,
            now,
            vehicle_row,
        )?),
        ImportKind::Violations => Rows::Violations(parse_all::<ViolationRecord, _>(
            path,
            &bytes,
            now,
            violation_row,
        )?),
    };
    crate::store::write(store.as_ref(), move |tx| {
        load(tx, rows).map_err(ImportFailure::Rows)
    })
    .await
    .map_err(|e| match e {
        ImportFailure::Rows(rows) => ImportError::Rows(rows),
        ImportFailure::Store(e) => ImportError::Store(e.to_string()),
    })
}

/// Inside the import's transaction: a row's failure, or the store's.
enum ImportFailure<R> {
    Rows(R),
    Store(crate::store::StoreError),
}

impl<R> From<crate::store::StoreError> for ImportFailure<R> {
    fn from(e: crate::store::StoreError) -> Self {
        ImportFailure::Store(e)
    }
}

/// The command: opens the database (creating and migrating it), imports, and reports.
pub async fn run(
    database: &str,
    kind: Option<ImportKind>,
    path: &Path,
) -> Result<String, ImportError> {
    let kind = kind
        .or_else(|| ImportKind::from_file_name(path))
        .ok_or_else(|| {
            ImportError::File(
                "say --kind people|vehicles|violations (the file name does not tell)".into(),
            )
        })?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let store =
        crate::startup::open_store(database, now).map_err(|e| ImportError::Store(e.to_string()))?;
    let n = import_file(&store, kind, path, now).await?;
    Ok(format!(
        "loaded {n} row(s) of {kind:?} from {}",
        path.display()
    ))
}
