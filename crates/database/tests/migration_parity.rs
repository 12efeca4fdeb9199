//! The two migration folders describe one schema: the same file names, and the same statements
//! once the genuine dialect differences are normalised. A column added to one backend only would
//! otherwise surface as a failure on the other backend in production, not here.
//!
//! Normalised, and nothing else (comments and whitespace are not statements, so they are ignored):
//!
//! - Auto-numbered ids: SQLite `INTEGER PRIMARY KEY AUTOINCREMENT` (the rowid alias, which must be
//!   spelled exactly `INTEGER`) and PostgreSQL `BIGSERIAL PRIMARY KEY` both become one
//!   `<auto id> PRIMARY KEY`.
//! - Integer width: a SQLite `INTEGER` column is 64-bit whatever it is called, so it reads as
//!   `BIGINT`, which is what PostgreSQL needs to hold (or reference) a `BIGSERIAL` id. A PostgreSQL
//!   `INTEGER` is 32-bit and has no SQLite match: the test reports it.
//! - Triggers: their bodies are procedural and each dialect spells them its own way (SQLite
//!   `CREATE TRIGGER ... BEGIN ... END`, one per event; PostgreSQL a PL/pgSQL function and one
//!   `CREATE TRIGGER ... EXECUTE FUNCTION` for several events). What must agree is where they
//!   act: each side's set of (table, event) its triggers fire on. PostgreSQL's trigger functions
//!   have no SQLite counterpart and are not compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn folder(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
        }
    }
}

const AUTO_ID: &str = "<auto id>";

/// SQL split into statements of tokens: words, quoted literals and identifiers, and single
/// punctuation characters. Comments and whitespace are dropped.
fn statements(sql: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            // A doubled quote inside is an escaped quote, not the end.
            let start = i;
            i += 1;
            loop {
                match chars.get(i) {
                    None => break,
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            current.push(chars[start..i.min(chars.len())].iter().collect());
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            current.push(chars[start..i].iter().collect());
        } else if c == '$' && next == Some('$') {
            // A PostgreSQL dollar-quoted body is one token.
            let start = i;
            i += 2;
            while i < chars.len() && !(chars[i] == '$' && chars.get(i + 1) == Some(&'$')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            current.push(chars[start..i].iter().collect());
        } else if c == ';' {
            // Inside a SQLite trigger's BEGIN ... END the semicolons end its own statements.
            let in_trigger_body = starts_with_words(&current, &["CREATE", "TRIGGER"])
                && current.iter().any(|t| is_word(t, "BEGIN"))
                && !current.last().is_some_and(|t| is_word(t, "END"));
            if in_trigger_body {
                current.push(";".into());
            } else if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            i += 1;
        } else {
            current.push(c.to_string());
            i += 1;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn is_word(token: &str, word: &str) -> bool {
    token.eq_ignore_ascii_case(word)
}

fn starts_with_words(tokens: &[String], words: &[&str]) -> bool {
    tokens.len() >= words.len() && tokens.iter().zip(words).all(|(t, w)| is_word(t, w))
}

/// The statement with this dialect's spelling of the differences listed at the top replaced.
fn normalise(dialect: Dialect, tokens: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let rest = &tokens[i..];
        match dialect {
            Dialect::Sqlite
                if starts_with_words(rest, &["INTEGER", "PRIMARY", "KEY", "AUTOINCREMENT"]) =>
            {
                out.extend([AUTO_ID.to_owned(), "PRIMARY".into(), "KEY".into()]);
                i += 4;
            }
            Dialect::Postgres if starts_with_words(rest, &["BIGSERIAL", "PRIMARY", "KEY"]) => {
                out.extend([AUTO_ID.to_owned(), "PRIMARY".into(), "KEY".into()]);
                i += 3;
            }
            Dialect::Sqlite if is_word(&rest[0], "INTEGER") => {
                out.push("BIGINT".into());
                i += 1;
            }
            _ => {
                out.push(rest[0].clone());
                i += 1;
            }
        }
    }
    out
}

fn render(tokens: &[String]) -> String {
    tokens.join(" ")
}

/// The parts of a statement's first parenthesised list (a table's columns and constraints),
/// split at its top-level commas; empty for statements without one.
fn definitions(tokens: &[String]) -> Vec<&[String]> {
    let Some(open) = tokens.iter().position(|t| t == "(") else {
        return Vec::new();
    };
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for (n, token) in tokens.iter().enumerate().skip(open + 1) {
        match token.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                parts.push(&tokens[start..n]);
                break;
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                parts.push(&tokens[start..n]);
                start = n + 1;
            }
            _ => {}
        }
    }
    parts
}

/// What tells a reader which statement this is: `CREATE TABLE users`, `CREATE INDEX x`, ...
fn statement_name(tokens: &[String]) -> String {
    let end = tokens
        .iter()
        .position(|t| t == "(")
        .unwrap_or(tokens.len())
        .min(6);
    render(&tokens[..end])
}

/// Whether a statement is procedural: a trigger or a (PostgreSQL) function.
fn is_procedural(tokens: &[String]) -> bool {
    starts_with_words(tokens, &["CREATE", "TRIGGER"])
        || starts_with_words(tokens, &["CREATE", "FUNCTION"])
        || starts_with_words(tokens, &["CREATE", "OR", "REPLACE", "FUNCTION"])
}

/// The (table, event) pairs the triggers among these statements fire on.
fn trigger_events(statements: &[Vec<String>]) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for s in statements
        .iter()
        .filter(|s| starts_with_words(s, &["CREATE", "TRIGGER"]))
    {
        let Some(on) = s.iter().position(|t| is_word(t, "ON")) else {
            continue;
        };
        let table = s.get(on + 1).cloned().unwrap_or_default().to_lowercase();
        let timing = s
            .iter()
            .position(|t| is_word(t, "AFTER") || is_word(t, "BEFORE"))
            .unwrap_or(on);
        for event in s[timing + 1..on].iter().filter(|t| !is_word(t, "OR")) {
            out.insert((table.clone(), event.to_uppercase()));
        }
    }
    out
}

/// Every difference between the two sides' files, as one line each; empty when they agree.
fn compare(sqlite: &BTreeMap<String, String>, postgres: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for name in sqlite.keys().filter(|n| !postgres.contains_key(*n)) {
        problems.push(format!("{name}: in sqlite/ but missing from postgresql/"));
    }
    for name in postgres.keys().filter(|n| !sqlite.contains_key(*n)) {
        problems.push(format!("{name}: in postgresql/ but missing from sqlite/"));
    }
    for (name, lite_sql) in sqlite {
        let Some(pg_sql) = postgres.get(name) else {
            continue;
        };
        let (lite_procedural, lite): (Vec<Vec<String>>, Vec<Vec<String>>) = statements(lite_sql)
            .iter()
            .map(|s| normalise(Dialect::Sqlite, s))
            .partition(|s| is_procedural(s));
        let (pg_procedural, pg): (Vec<Vec<String>>, Vec<Vec<String>>) = statements(pg_sql)
            .iter()
            .map(|s| normalise(Dialect::Postgres, s))
            .partition(|s| is_procedural(s));
        let (lite_fires, pg_fires) = (
            trigger_events(&lite_procedural),
            trigger_events(&pg_procedural),
        );
        if lite_fires != pg_fires {
            problems.push(format!(
                "{name}: triggers fire on {lite_fires:?} in sqlite/, on {pg_fires:?} in postgresql/"
            ));
        }
        if lite.len() != pg.len() {
            problems.push(format!(
                "{name}: {} statements in sqlite/, {} in postgresql/",
                lite.len(),
                pg.len()
            ));
        }
        for (l, p) in lite.iter().zip(&pg) {
            if l == p {
                continue;
            }
            let (ld, pd) = (definitions(l), definitions(p));
            let column = ld.iter().zip(&pd).find(|(a, b)| a != b);
            let detail = match column {
                Some((a, b)) => format!("sqlite `{}` vs postgresql `{}`", render(a), render(b)),
                None if ld.len() != pd.len() => format!(
                    "{} definitions in sqlite, {} in postgresql",
                    ld.len(),
                    pd.len()
                ),
                None => format!("sqlite `{}` vs postgresql `{}`", render(l), render(p)),
            };
            problems.push(format!("{name}: {}: {detail}", statement_name(l)));
        }
    }
    problems
}

fn read_folder(dir: &Path) -> BTreeMap<String, String> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read migrations folder {}: {e}", dir.display()));
    let mut files = BTreeMap::new();
    for entry in entries {
        let path = entry.expect("folder entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("migration file names are UTF-8")
            .to_owned();
        let sql = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        files.insert(name, sql);
    }
    files
}

fn migrations_dir(dialect: Dialect) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(dialect.folder())
}

#[test]
fn sqlite_and_postgresql_migrations_describe_the_same_schema() {
    let sqlite = read_folder(&migrations_dir(Dialect::Sqlite));
    let postgres = read_folder(&migrations_dir(Dialect::Postgres));
    assert!(!sqlite.is_empty(), "no SQLite migrations found");
    for expected in [
        "0001_accounts.sql",
        "0002_user_addresses.sql",
        "0100_archive.sql",
        "0200_sync.sql",
        "0201_sync_items.sql",
    ] {
        assert!(sqlite.contains_key(expected), "{expected} was read");
    }
    let problems = compare(&sqlite, &postgres);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect()
}

#[test]
fn a_file_on_one_side_only_is_reported() {
    let sqlite = files(&[
        ("0001_a.sql", "CREATE TABLE a (x TEXT);"),
        ("0002_b.sql", ""),
    ]);
    let postgres = files(&[
        ("0001_a.sql", "CREATE TABLE a (x TEXT);"),
        ("0003_c.sql", ""),
    ]);
    let problems = compare(&sqlite, &postgres);
    assert_eq!(
        problems,
        vec![
            "0002_b.sql: in sqlite/ but missing from postgresql/".to_owned(),
            "0003_c.sql: in postgresql/ but missing from sqlite/".to_owned(),
        ]
    );
}

#[test]
fn a_differing_column_is_reported_by_name() {
    let sqlite = files(&[(
        "0001_a.sql",
        "CREATE TABLE a (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  size BIGINT NOT NULL,\n  \
         UNIQUE (id, size)\n);",
    )]);
    let postgres = files(&[(
        "0001_a.sql",
        "CREATE TABLE a (\n  id BIGSERIAL PRIMARY KEY,\n  size TEXT NOT NULL,\n  UNIQUE (id, size)\n);",
    )]);
    let problems = compare(&sqlite, &postgres);
    assert_eq!(
        problems,
        vec![
            "0001_a.sql: CREATE TABLE a: sqlite `size BIGINT NOT NULL` vs postgresql `size TEXT NOT NULL`"
                .to_owned()
        ]
    );
}

#[test]
fn a_column_on_one_side_only_is_reported() {
    let sqlite = files(&[("0001_a.sql", "CREATE TABLE a (x TEXT, y TEXT);")]);
    let postgres = files(&[("0001_a.sql", "CREATE TABLE a (x TEXT);")]);
    let problems = compare(&sqlite, &postgres);
    assert_eq!(
        problems,
        vec!["0001_a.sql: CREATE TABLE a: 2 definitions in sqlite, 1 in postgresql".to_owned()]
    );
}

#[test]
fn only_the_listed_dialect_differences_are_normalised() {
    let sqlite = files(&[(
        "0001_a.sql",
        "-- a comment only here\nCREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
         b_id   INTEGER NOT NULL REFERENCES b(id), note TEXT DEFAULT '--; x');",
    )]);
    let postgres = files(&[(
        "0001_a.sql",
        "CREATE TABLE a (id BIGSERIAL PRIMARY KEY, b_id BIGINT NOT NULL REFERENCES b(id), \
         note TEXT DEFAULT '--; x');",
    )]);
    assert_eq!(compare(&sqlite, &postgres), Vec::<String>::new());

    // A 32-bit PostgreSQL INTEGER cannot hold every SQLite INTEGER.
    let postgres_int = files(&[(
        "0001_a.sql",
        "CREATE TABLE a (id BIGSERIAL PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b(id), \
         note TEXT DEFAULT '--; x');",
    )]);
    assert_eq!(compare(&sqlite, &postgres_int).len(), 1);

    // An extra statement (an index on one side only) is a difference too.
    let postgres_index = files(&[(
        "0001_a.sql",
        "CREATE TABLE a (id BIGSERIAL PRIMARY KEY, b_id BIGINT NOT NULL REFERENCES b(id), \
         note TEXT DEFAULT '--; x'); CREATE INDEX a_b ON a(b_id);",
    )]);
    assert_eq!(
        compare(&sqlite, &postgres_index),
        vec!["0001_a.sql: 1 statements in sqlite/, 2 in postgresql/".to_owned()]
    );
}

#[test]
fn triggers_are_compared_by_where_they_fire() {
    let sqlite = files(&[(
        "0001_t.sql",
        "CREATE TABLE t (x TEXT);\n\
         CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN UPDATE c SET n = n + 1; END;\n\
         CREATE TRIGGER t_del AFTER DELETE ON t WHEN OLD.x IS NULL BEGIN UPDATE c SET n = n - 1; END;",
    )]);
    let postgres = files(&[(
        "0001_t.sql",
        "CREATE TABLE t (x TEXT);\n\
         CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN UPDATE c SET n = n + 1; RETURN NULL; END; $$ LANGUAGE plpgsql;\n\
         CREATE TRIGGER t_all AFTER INSERT OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION f();",
    )]);
    assert!(
        compare(&sqlite, &postgres).is_empty(),
        "{:?}",
        compare(&sqlite, &postgres)
    );
    let fewer = files(&[(
        "0001_t.sql",
        "CREATE TABLE t (x TEXT);\n\
         CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql;\n\
         CREATE TRIGGER t_all AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();",
    )]);
    let problems = compare(&sqlite, &fewer);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("triggers fire on"), "{problems:?}");
}
