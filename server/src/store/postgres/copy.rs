//! Copying a whole SQLite database into an empty, migrated PostgreSQL database (`migrate-data`).
//!
//! Column lists and types come from the PostgreSQL side, values from SQLite; every table goes over with one
//! `COPY … FROM STDIN`, all inside one transaction, so a failed copy leaves the target as it was.

use super::PgStore;
use crate::store::{StoreError, StoreResult};
use ::postgres::Client;
use renche::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::path::Path;

/// Tables in an order where every reference points to a table already copied.
const TABLES: &[&str] = &[
    "people",
    "accounts",
    "vehicles",
    "bindings",
    "qr_codes",
    "sms_challenges",
    "violations",
    "binding_applications",
    "identity_verifications",
    "identity_results",
    "audit_log",
    "idempotency_keys",
    "sessions",
    "rate_counters",
    "notifications",
    "server_keys",
    "kiosks",
    "kiosk_nonces",
    "sms_notices",
    "review_photos",
];

#[derive(Debug, Default)]
pub struct CopyReport {
    /// Rows copied per table, in copy order.
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, n) in &self.tables {
            writeln!(f, "{table:<22} {n:>10} rows")?;
        }
        write!(f, "copied {} rows", self.total())
    }
}

/// `renche-server migrate-data --from sqlite://… --to postgres://…`: migrates the target, then copies every
/// row of the source into it in one transaction (see `copy_from_sqlite`).
pub fn migrate_data(from: &str, to: &str, now: Timestamp) -> StoreResult<CopyReport> {
    let source = crate::store::sqlite::path_of_url(from);
    if !source.is_file() {
        return Err(StoreError::Database(format!(
            "{} is not a SQLite database file",
            source.display()
        )));
    }
    let target = PgStore::open(to, now)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut client = target.bulk_client()?;
            copy_from_sqlite(&source, &mut client)
        })
        .join()
        .unwrap_or_else(|_| Err(StoreError::Database("the copy panicked".into())))
    })
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Copies every row of the SQLite database at `sqlite_path` into `pg`, which must hold the same schema
/// version and no rows yet. Ids are kept; the identity sequences then continue after the largest id.
pub fn copy_from_sqlite(sqlite_path: &Path, pg: &mut Client) -> StoreResult<CopyReport> {
    let source = Connection::open_with_flags(sqlite_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    check_tables(&source)?;
    check_versions(&source, pg)?;
    let mut tx = pg.transaction()?;
    let mut report = CopyReport::default();
    for table in TABLES {
        let existing: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])?
            .try_get(0)?;
        if existing > 0 {
            return Err(db(format!(
                "the target table {table} already has {existing} rows; copy into a fresh database"
            )));
        }
        let columns: Vec<(String, String)> = tx
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[table],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<StoreResult<_>>()?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let list = names.join(", ");
        let mut stmt = source.prepare(&format!("SELECT {list} FROM {table}"))?;
        let mut rows = stmt.query([])?;
        let sink = tx.copy_in(&format!("COPY {table} ({list}) FROM STDIN"))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, sink);
        let mut line = String::new();
        let mut count = 0u64;
        while let Some(row) = rows.next()? {
            line.clear();
            for (i, (name, ty)) in columns.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                push_value(&mut line, row.get_ref(i)?, ty)
                    .map_err(|e| db(format!("{table}.{name}: {e}")))?;
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(db)?;
            count += 1;
        }
        let sink = out.into_inner().map_err(db)?;
        sink.finish()?;
        let identity: Option<String> = tx
            .query_opt(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name = $1 AND is_identity = 'YES'",
                &[table],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(col) = identity {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), \
                     COALESCE((SELECT MAX({col}) FROM {table}), 0) + 1, false)"
                ),
                &[],
            )?;
        }
        report.tables.push(((*table).to_owned(), count));
    }
    tx.commit()?;
    Ok(report)
}

/// A table this tool does not know would be left behind silently: refuse instead.
fn check_tables(source: &Connection) -> StoreResult<()> {
    let mut stmt = source.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> 'schema_migrations'",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(unknown) = names.iter().find(|n| !TABLES.contains(&n.as_str())) {
        return Err(db(format!(
            "the SQLite database has a table `{unknown}` that the copy does not know"
        )));
    }
    Ok(())
}

/// Both sides must be at the same migration version, or the columns would not line up.
fn check_versions(source: &Connection, pg: &mut Client) -> StoreResult<()> {
    let mut stmt = source.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let from = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let to: Vec<String> = pg
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if from != to {
        return Err(db(format!(
            "schema versions differ: SQLite has {from:?}, PostgreSQL has {to:?}; start the server once on \
             the SQLite database with this version to migrate it first"
        )));
    }
    Ok(())
}

/// One value in COPY's text format, converted to the target column's type.
fn push_value(line: &mut String, v: ValueRef<'_>, ty: &str) -> Result<(), String> {
    match (v, ty) {
        (ValueRef::Null, _) => line.push_str("\\N"),
        (ValueRef::Integer(i), "boolean") => line.push(if i != 0 { 't' } else { 'f' }),
        (ValueRef::Integer(i), _) => line.push_str(&i.to_string()),
        (ValueRef::Real(f), _) => line.push_str(&f.to_string()),
        (ValueRef::Blob(b), "bytea") => {
            // `\x…` hex, with COPY's own backslash escaped.
            line.push_str("\\\\x");
            line.push_str(&hex::encode(b));
        }
        (ValueRef::Text(t), "bytea") => {
            line.push_str("\\\\x");
            line.push_str(&hex::encode(t));
        }
        (ValueRef::Text(t), _) => {
            let s = std::str::from_utf8(t).map_err(|e| e.to_string())?;
            escape_into(line, s);
        }
        (ValueRef::Blob(_), other) => return Err(format!("a blob where {other} was expected")),
    }
    Ok(())
}

fn escape_into(line: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c => line.push(c),
        }
    }
}
