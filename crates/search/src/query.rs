//! The search language: words, "quoted phrases", `field:value` (from, to, cc, subject, body,
//! attachment, folder), `has:attachment`, `before:`/`after:` dates (YYYY-MM-DD, UTC; `after:D`
//! includes D, `before:D` excludes it), AND / OR / NOT (upper case), `-word`, and parentheses.
//! Juxtaposed terms are ANDed.

use archive::{Archive, MailboxId};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, EnableScoring, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery, TermSetQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use crate::tokenizer::{pairs, tokens};
use crate::{Fields, SearchError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("unbalanced parentheses")]
    Parentheses,
    #[error("unterminated quote")]
    Quote,
    #[error("`{0}` is not a date (use YYYY-MM-DD)")]
    Date(String),
    #[error("`has:{0}` is not supported (use has:attachment)")]
    Has(String),
    #[error("operator `{0}` has nothing to apply to")]
    Dangling(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    And(Vec<Clause>),
    Or(Vec<Clause>),
    Not(Box<Clause>),
    /// Text to match in a field (None: any text field); `phrase` when it was quoted.
    Text {
        field: Option<String>,
        text: String,
    },
    Folder(String),
    HasAttachment,
    /// Unix seconds, inclusive lower bound.
    After(i64),
    /// Unix seconds, exclusive upper bound.
    Before(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    Open,
    Close,
    And,
    Or,
    Not,
    Term { field: Option<String>, text: String },
}

const TEXT_FIELDS: [&str; 6] = ["from", "to", "cc", "subject", "body", "attachment"];
const OTHER_FIELDS: [&str; 4] = ["folder", "has", "before", "after"];

fn lex(input: &str) -> Result<Vec<Lexeme>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let read_quoted = |i: &mut usize| -> Result<String, QueryError> {
        // chars[*i] is the opening quote.
        let start = *i + 1;
        let end = chars[start..]
            .iter()
            .position(|&c| c == '"')
            .ok_or(QueryError::Quote)?
            + start;
        *i = end + 1;
        Ok(chars[start..end].iter().collect())
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Lexeme::Open);
            i += 1;
        } else if c == ')' {
            out.push(Lexeme::Close);
            i += 1;
        } else if c == '"' {
            let text = read_quoted(&mut i)?;
            out.push(Lexeme::Term { field: None, text });
        } else if c == '-' && i + 1 < chars.len() && !chars[i + 1].is_whitespace() {
            out.push(Lexeme::Not);
            i += 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && chars[i] != '('
                && chars[i] != ')'
                && chars[i] != '"'
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.as_str() {
                "AND" => out.push(Lexeme::And),
                "OR" => out.push(Lexeme::Or),
                "NOT" => out.push(Lexeme::Not),
                _ => {
                    let field = word
                        .split_once(':')
                        .map(|(f, _)| f.to_lowercase())
                        .filter(|f| {
                            TEXT_FIELDS.contains(&f.as_str()) || OTHER_FIELDS.contains(&f.as_str())
                        });
                    match field {
                        Some(field) => {
                            let mut text = word[field.len() + 1..].to_owned();
                            if text.is_empty() && i < chars.len() && chars[i] == '"' {
                                text = read_quoted(&mut i)?;
                            }
                            out.push(Lexeme::Term {
                                field: Some(field),
                                text,
                            });
                        }
                        None => out.push(Lexeme::Term {
                            field: None,
                            text: word,
                        }),
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(text: &str) -> Result<i64, QueryError> {
    let bad = || QueryError::Date(text.to_owned());
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if y.to_string().len() != 4 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * 86_400)
}

struct Parser {
    lexemes: Vec<Lexeme>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.at)
    }

    fn or(&mut self) -> Result<Clause, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Lexeme::Or) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Clause::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Clause, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Lexeme::And) => {
                    self.at += 1;
                    parts.push(self.unary()?);
                }
                Some(Lexeme::Or) | Some(Lexeme::Close) | None => break,
                Some(_) => parts.push(self.unary()?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Clause::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Clause, QueryError> {
        match self.peek().cloned() {
            Some(Lexeme::Not) => {
                self.at += 1;
                if self.peek().is_none() {
                    return Err(QueryError::Dangling("NOT".into()));
                }
                Ok(Clause::Not(Box::new(self.unary()?)))
            }
            Some(Lexeme::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Lexeme::Close) {
                    return Err(QueryError::Parentheses);
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Lexeme::Term { field, text }) => {
                self.at += 1;
                term(field, text)
            }
            Some(Lexeme::Close) => Err(QueryError::Parentheses),
            Some(Lexeme::And) => Err(QueryError::Dangling("AND".into())),
            Some(Lexeme::Or) => Err(QueryError::Dangling("OR".into())),
            None => Err(QueryError::Dangling("AND".into())),
        }
    }
}

fn term(field: Option<String>, text: String) -> Result<Clause, QueryError> {
    Ok(match field.as_deref() {
        Some("folder") => Clause::Folder(text),
        Some("has") => {
            if matches!(text.to_lowercase().as_str(), "attachment" | "attachments") {
                Clause::HasAttachment
            } else {
                return Err(QueryError::Has(text));
            }
        }
        Some("before") => Clause::Before(parse_date(&text)?),
        Some("after") => Clause::After(parse_date(&text)?),
        _ => Clause::Text { field, text },
    })
}

/// Parses a query; None for an empty one (which matches everything in scope).
pub fn parse_query(input: &str) -> Result<Option<Clause>, QueryError> {
    let lexemes = lex(input)?;
    if lexemes.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { lexemes, at: 0 };
    let clause = parser.or()?;
    if parser.at != parser.lexemes.len() {
        return Err(QueryError::Parentheses);
    }
    Ok(Some(clause))
}

/// Text in one field: a word, or a phrase. `pairs` is the field's index of adjacent word pairs,
/// if it has one: a phrase is then found through its pairs (all of them present, and for three
/// words or more the positions checked only in those messages), which matches exactly what the
/// phrase does and reads no positions for a two-word phrase.
fn text_query(field: Field, pairs_field: Option<Field>, text: &str) -> Option<Box<dyn Query>> {
    let words = tokens(text);
    let terms: Vec<Term> = words
        .iter()
        .map(|t| Term::from_field_text(field, t))
        .collect();
    match (terms.len(), pairs_field) {
        (0, _) => None,
        (1, _) => Some(Box::new(TermQuery::new(
            terms[0].clone(),
            IndexRecordOption::WithFreqsAndPositions,
        ))),
        (_, None) => Some(Box::new(PhraseQuery::new(terms))),
        (n, Some(pairs_field)) => {
            let mut parts: Vec<(Occur, Box<dyn Query>)> = pairs(&words)
                .iter()
                .map(|pair| {
                    let term = Term::from_field_text(pairs_field, pair);
                    let query: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                    (Occur::Must, query)
                })
                .collect();
            if n > 2 {
                parts.push((Occur::Must, Box::new(PhraseQuery::new(terms.clone()))));
            }
            let matching: Box<dyn Query> = if parts.len() == 1 {
                parts.remove(0).1
            } else {
                Box::new(BooleanQuery::new(parts))
            };
            Some(Box::new(PhraseByPairs {
                matching,
                words: terms,
            }))
        }
    }
}

/// A phrase matched through its word pairs, which shows its words, not its pairs, to whatever
/// asks for the query's terms (the snippet's highlighting).
#[derive(Debug)]
struct PhraseByPairs {
    matching: Box<dyn Query>,
    words: Vec<Term>,
}

impl Clone for PhraseByPairs {
    fn clone(&self) -> Self {
        PhraseByPairs {
            matching: self.matching.box_clone(),
            words: self.words.clone(),
        }
    }
}

impl Query for PhraseByPairs {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        self.matching.weight(enable_scoring)
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for word in &self.words {
            visitor(word, true);
        }
    }
}

pub(crate) async fn build(
    clause: &Clause,
    f: &Fields,
    archive: &Archive,
    mailboxes: &[MailboxId],
) -> Result<Box<dyn Query>, SearchError> {
    // Folder names are resolved to ids first so that the rest is synchronous and recursion-free
    // in async code.
    let mut folders = std::collections::HashMap::new();
    collect_folders(clause, &mut folders);
    for (name, ids) in folders.iter_mut() {
        *ids = archive.folders_named(mailboxes, name).await?;
    }
    Ok(to_query(clause, f, &folders))
}

fn collect_folders(clause: &Clause, out: &mut std::collections::HashMap<String, Vec<i64>>) {
    match clause {
        Clause::And(v) | Clause::Or(v) => v.iter().for_each(|c| collect_folders(c, out)),
        Clause::Not(c) => collect_folders(c, out),
        Clause::Folder(name) => {
            out.insert(name.clone(), Vec::new());
        }
        _ => {}
    }
}

fn to_query(
    clause: &Clause,
    f: &Fields,
    folders: &std::collections::HashMap<String, Vec<i64>>,
) -> Box<dyn Query> {
    match clause {
        Clause::And(parts) => Box::new(BooleanQuery::new(
            parts
                .iter()
                .map(|p| (Occur::Must, to_query(p, f, folders)))
                .collect(),
        )),
        Clause::Or(parts) => Box::new(BooleanQuery::new(
            parts
                .iter()
                .map(|p| (Occur::Should, to_query(p, f, folders)))
                .collect(),
        )),
        // tantivy matches nothing with only a MustNot, so negation is "everything but".
        Clause::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, to_query(inner, f, folders)),
        ])),
        Clause::Text { field, text } => {
            let fields: Vec<Field> = match field.as_deref() {
                Some("from") => vec![f.from],
                Some("to") => vec![f.to],
                Some("cc") => vec![f.cc],
                Some("subject") => vec![f.subject],
                Some("body") => vec![f.body],
                Some("attachment") => vec![f.attachments],
                _ => vec![f.subject, f.from, f.to, f.cc, f.body, f.attachments],
            };
            let queries: Vec<(Occur, Box<dyn Query>)> = fields
                .into_iter()
                .filter_map(|field| {
                    let pairs_field = (field == f.body).then_some(f.body_pairs);
                    text_query(field, pairs_field, text).map(|q| (Occur::Should, q))
                })
                .collect();
            if queries.is_empty() {
                // Nothing searchable in it (punctuation only): it constrains nothing.
                Box::new(AllQuery)
            } else {
                Box::new(BooleanQuery::new(queries))
            }
        }
        Clause::Folder(name) => {
            let ids = folders.get(name).cloned().unwrap_or_default();
            if ids.is_empty() {
                Box::new(EmptyQuery)
            } else {
                Box::new(TermSetQuery::new(
                    ids.into_iter()
                        .map(|id| Term::from_field_u64(f.folder_id, id as u64)),
                ))
            }
        }
        Clause::HasAttachment => Box::new(TermQuery::new(
            Term::from_field_u64(f.has_attachment, 1),
            IndexRecordOption::Basic,
        )),
        Clause::After(t) => Box::new(RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_i64(f.date, *t)),
            std::ops::Bound::Unbounded,
        )),
        Clause::Before(t) => Box::new(RangeQuery::new(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Excluded(Term::from_field_i64(f.date, *t)),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(field: Option<&str>, t: &str) -> Clause {
        Clause::Text {
            field: field.map(str::to_owned),
            text: t.into(),
        }
    }

    #[test]
    fn parses_fields_phrases_and_operators() {
        let q = parse_query(
            r#"from:ann subject:"quarterly report" has:attachment after:2024-01-31 -spam"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            q,
            Clause::And(vec![
                text(Some("from"), "ann"),
                text(Some("subject"), "quarterly report"),
                Clause::HasAttachment,
                Clause::After(days_from_civil(2024, 1, 31) * 86_400),
                Clause::Not(Box::new(text(None, "spam"))),
            ])
        );
        let q = parse_query("(a OR b) AND NOT folder:Inbox")
            .unwrap()
            .unwrap();
        assert_eq!(
            q,
            Clause::And(vec![
                Clause::Or(vec![text(None, "a"), text(None, "b")]),
                Clause::Not(Box::new(Clause::Folder("Inbox".into()))),
            ])
        );
        assert_eq!(parse_query("  ").unwrap(), None);
        assert_eq!(parse_query("foo:bar").unwrap(), Some(text(None, "foo:bar")));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 3, 1) * 86_400, 1_709_251_200);
    }

    #[test]
    fn rejects_bad_queries() {
        assert_eq!(
            parse_query("before:2024-13-01"),
            Err(QueryError::Date("2024-13-01".into()))
        );
        assert_eq!(
            parse_query("after:yesterday"),
            Err(QueryError::Date("yesterday".into()))
        );
        assert_eq!(parse_query("(a OR b"), Err(QueryError::Parentheses));
        assert_eq!(parse_query("a)"), Err(QueryError::Parentheses));
        assert_eq!(parse_query("\"open"), Err(QueryError::Quote));
        assert_eq!(
            parse_query("has:wings"),
            Err(QueryError::Has("wings".into()))
        );
        assert!(parse_query("a OR").is_err());
    }
}
