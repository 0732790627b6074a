//! Unread writes sent as one statement: consecutive queued `INSERT`, `UPDATE` and `DELETE` statements
//! become data-modifying CTEs of one statement (`WITH w1 AS (…), w2 AS (…) …`), so that a commit's
//! binding, audit entry, notices and stored answer cost the database one statement, not five.
//!
//! The sub-statements of one statement all see the snapshot taken before it and not one another's
//! changes, where one after another each sees the ones before. Statements are therefore merged only
//! where that cannot matter: no statement reads or changes a table that an earlier one in its group
//! changed, except plain `INSERT … VALUES` rows into one table (new rows that nothing in the group
//! reads). Foreign keys are checked at the end of the whole statement, which is after every
//! sub-statement, so a row inserted in one CTE may be referred to by a row of a later one, and the CTEs
//! are read in order so that they run in order (`as_ctes`). Anything else
//! (a lock, `SET LOCAL`, a statement with `RETURNING` or its own `WITH`) ends a group and is sent alone.

use crate::store::sql::OwnedArg;

/// A shared write statement, as far as merging needs to know it.
struct Write<'a> {
    table: &'a str,
    /// `INSERT INTO t (…) VALUES (…)`: reads nothing, conflicts with nothing.
    plain_insert: bool,
}

fn write_of(sql: &str) -> Option<Write<'_>> {
    let (rest, insert) = if let Some(rest) = sql.strip_prefix("INSERT INTO ") {
        (rest, true)
    } else if let Some(rest) = sql.strip_prefix("UPDATE ") {
        (rest, false)
    } else if let Some(rest) = sql.strip_prefix("DELETE FROM ") {
        (rest, false)
    } else {
        return None;
    };
    if mentions(sql, "RETURNING") || mentions(sql, "WITH") {
        return None;
    }
    let table = rest
        .split(|c: char| !is_word_char(c))
        .next()
        .filter(|t| !t.is_empty())?;
    let plain_insert = insert && !mentions(sql, "SELECT") && !sql.contains("ON CONFLICT");
    Some(Write {
        table,
        plain_insert,
    })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `word` occurs in `sql` as a whole word (a table's or a keyword's name).
fn mentions(sql: &str, word: &str) -> bool {
    sql.match_indices(word).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// Whether `next` may join a group whose statements are `group`.
fn fits(group: &[(&str, Write<'_>)], next: (&str, &Write<'_>)) -> bool {
    let (sql, write) = next;
    group.iter().all(|(_, earlier)| {
        !mentions(sql, earlier.table)
            || (earlier.plain_insert && write.plain_insert && earlier.table == write.table)
    })
}

/// `$n` → `$(n + offset)`: the shared statements hold no `$` other than their placeholders.
fn shifted(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// One statement's text and arguments, in `$1` form.
pub(super) struct Statement {
    pub sql: String,
    pub args: Vec<OwnedArg>,
}

/// A statement to send, and how many of the statements given it stands for.
pub(super) type Merged<T> = (Result<Statement, T>, usize);

/// Merges the runs of mergeable statements among `statements`, in order; an `Err` is something never
/// merged (`BEGIN`, sent as a simple query) and passes through where it was.
pub(super) fn merged<T>(statements: Vec<Result<Statement, T>>) -> Vec<Merged<T>> {
    let mut out: Vec<Merged<T>> = Vec::with_capacity(statements.len());
    let mut group: Vec<Statement> = Vec::new();
    let flush = |group: &mut Vec<Statement>, out: &mut Vec<Merged<T>>| {
        let n = group.len();
        match n {
            0 => {}
            1 => out.extend(group.pop().map(|s| (Ok(s), 1))),
            _ => out.push((Ok(as_ctes(std::mem::take(group))), n)),
        }
    };
    for statement in statements {
        let statement = match statement {
            Ok(s) => s,
            Err(other) => {
                flush(&mut group, &mut out);
                out.push((Err(other), 1));
                continue;
            }
        };
        let joins = match write_of(&statement.sql) {
            None => None,
            Some(write) => {
                let earlier: Vec<(&str, Write<'_>)> = group
                    .iter()
                    .filter_map(|s| write_of(&s.sql).map(|w| (s.sql.as_str(), w)))
                    .collect();
                Some(fits(&earlier, (&statement.sql, &write)))
            }
        };
        match joins {
            Some(true) => group.push(statement),
            Some(false) => {
                flush(&mut group, &mut out);
                group.push(statement);
            }
            None => {
                flush(&mut group, &mut out);
                out.push((Ok(statement), 1));
            }
        }
    }
    flush(&mut group, &mut out);
    out
}

/// `WITH w0 AS (… RETURNING 1), w1 AS (…) SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1)`.
/// Sub-statements that nothing reads run after the main query, in an order PostgreSQL does not promise
/// (today the last first); read one by one in the select list, they run in the order given, so rows
/// inserted into one table get their ids in the order the flow wrote them, as they would one by one.
fn as_ctes(group: Vec<Statement>) -> Statement {
    let mut ctes = Vec::with_capacity(group.len());
    let mut reads = Vec::with_capacity(group.len());
    let mut args = Vec::new();
    for (i, s) in group.into_iter().enumerate() {
        ctes.push(format!(
            "w{i} AS ({} RETURNING 1)",
            shifted(&s.sql, args.len())
        ));
        reads.push(format!("(SELECT count(*) FROM w{i})"));
        args.extend(s.args);
    }
    Statement {
        sql: format!("WITH {} SELECT {}", ctes.join(", "), reads.join(", ")),
        args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Item = Result<Statement, ()>;

    fn st(sql: &str, n: usize) -> Item {
        Ok(Statement {
            sql: sql.to_owned(),
            args: (0..n).map(|i| OwnedArg::Int(Some(i as i64))).collect(),
        })
    }

    /// How many statements each statement sent stands for.
    fn sizes(statements: Vec<Item>) -> Vec<usize> {
        merged(statements).iter().map(|(_, n)| *n).collect()
    }

    const BINDING: &str = "INSERT INTO bindings (binder_id, vehicle_id) VALUES ($1, $2)";
    const AUDIT: &str = "INSERT INTO audit_log (at, detail) VALUES ($1, $2)";
    const NOTICE: &str = "INSERT INTO notifications (person_id) VALUES ($1)";
    const ANSWER: &str = "UPDATE idempotency_keys SET state = 'done' WHERE scope = $1 AND key = $2";

    #[test]
    fn a_commits_writes_become_one_statement_with_placeholders_renumbered() {
        let out = merged(vec![
            Err(()),
            st(BINDING, 2),
            st(AUDIT, 2),
            st(NOTICE, 1),
            st(NOTICE, 1),
            st(ANSWER, 2),
        ]);
        assert_eq!(out.len(), 2);
        assert!(out[0].0.is_err());
        let (Ok(merged), n) = (&out[1].0, out[1].1) else {
            panic!("merged into one statement")
        };
        assert_eq!(n, 5);
        assert_eq!(
            merged.sql,
            "WITH w0 AS (INSERT INTO bindings (binder_id, vehicle_id) VALUES ($1, $2) RETURNING 1), \
             w1 AS (INSERT INTO audit_log (at, detail) VALUES ($3, $4) RETURNING 1), \
             w2 AS (INSERT INTO notifications (person_id) VALUES ($5) RETURNING 1), \
             w3 AS (INSERT INTO notifications (person_id) VALUES ($6) RETURNING 1), \
             w4 AS (UPDATE idempotency_keys SET state = 'done' WHERE scope = $7 AND key = $8 RETURNING 1) \
             SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1), (SELECT count(*) FROM w2), \
             (SELECT count(*) FROM w3), (SELECT count(*) FROM w4)"
        );
        assert_eq!(merged.args.len(), 8);
    }

    #[test]
    fn a_statement_that_reads_or_changes_an_earlier_ones_table_starts_a_new_group() {
        let update = "UPDATE bindings SET removed_at = $1 WHERE id = $2";
        let reads = "INSERT INTO audit_log (detail) SELECT id FROM bindings WHERE id = $1";
        assert_eq!(
            sizes(vec![
                st(BINDING, 2),
                st(update, 2),
                st(reads, 1),
                st(AUDIT, 2),
            ]),
            [1, 1, 1, 1]
        );
        // Two updates of one table, or an insert that may conflict with an earlier one, stay apart too;
        // writes to other tables join them.
        let upsert = "INSERT INTO notifications (person_id) VALUES ($1) ON CONFLICT DO NOTHING";
        assert_eq!(
            sizes(vec![
                st(ANSWER, 2),
                st(ANSWER, 2),
                st(NOTICE, 1),
                st(upsert, 1),
            ]),
            [1, 2, 1]
        );
    }

    #[test]
    fn locks_returning_and_simple_statements_are_never_merged() {
        let lock = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
        let returning = "INSERT INTO kiosks (city) VALUES ($1) RETURNING id";
        let out = merged(vec![
            st(AUDIT, 2),
            st(lock, 2),
            st(NOTICE, 1),
            st(returning, 1),
            st(NOTICE, 1),
            Err(()),
            st(ANSWER, 2),
        ]);
        assert_eq!(out.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1; 7]);
        assert!(out
            .iter()
            .all(|(s, _)| s.as_ref().map_or(true, |s| !s.sql.starts_with("WITH"))));
    }

    #[test]
    fn table_names_are_matched_as_whole_words() {
        assert!(mentions("SELECT 1 FROM bindings b", "bindings"));
        assert!(!mentions(
            "SELECT binding_id FROM binding_applications",
            "bindings"
        ));
        assert!(!mentions(
            "INSERT INTO kiosk_sessions (a) VALUES ($1)",
            "kiosk"
        ));
        assert_eq!(
            shifted("a = $1 AND b = $12, '$'", 3),
            "a = $4 AND b = $15, '$'"
        );
    }
}
