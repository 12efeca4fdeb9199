//! The few OData query forms a restore's Graph requests use: `$filter` equality on a property
//! or on a single-value extended property (`singleValueExtendedProperties/Any(...)`), the
//! `$expand=singleValueExtendedProperties($filter=id eq '...')` of a listing, and `$select`.

/// One `$filter` clause the simulator understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `field eq 'value'`; the field as written (compared without regard to case).
    Eq(String, String),
    /// `singleValueExtendedProperties/Any(ep: ep/id eq 'id' [and ep/value eq 'value'])`.
    Extended {
        id: String,
        value: Option<String>,
    },
    Or(Vec<Filter>),
}

/// An OData string literal: `'it''s'` is `it's`.
fn literal(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // A lone quote inside a literal ends it early: malformed.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// Splits on a keyword (` and `, ` or `, ` eq `) outside string literals, ignoring case.
fn split_outside_quotes<'a>(s: &'a str, keyword: &str) -> Vec<&'a str> {
    let lower = s.to_ascii_lowercase();
    let kw = keyword.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut in_quote = false;
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_quote = !in_quote,
            b'(' if !in_quote => depth += 1,
            b')' if !in_quote => depth -= 1,
            _ if !in_quote && depth == 0 && bytes[i..].starts_with(kw.as_bytes()) => {
                parts.push(&s[start..i]);
                i += kw.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

fn eq_clause(s: &str) -> Option<(String, String)> {
    let parts = split_outside_quotes(s, " eq ");
    let [field, value] = parts.as_slice() else {
        return None;
    };
    Some((field.trim().to_string(), literal(value)?))
}

fn extended(s: &str) -> Option<Filter> {
    let t = s.trim();
    let open = t.find('(')?;
    let head = t[..open].trim();
    if !head.eq_ignore_ascii_case("singleValueExtendedProperties/any") {
        return None;
    }
    let inner = t[open + 1..].strip_suffix(')')?;
    let (var, body) = inner.split_once(':')?;
    let var = var.trim();
    let mut id = None;
    let mut value = None;
    for clause in split_outside_quotes(body, " and ") {
        let (field, v) = eq_clause(clause)?;
        let (owner, prop) = field.split_once('/')?;
        if owner.trim() != var {
            return None;
        }
        match prop.trim().to_ascii_lowercase().as_str() {
            "id" => id = Some(v),
            "value" => value = Some(v),
            _ => return None,
        }
    }
    Some(Filter::Extended { id: id?, value })
}

pub fn parse_filter(s: &str) -> Option<Filter> {
    let alternatives = split_outside_quotes(s.trim(), " or ");
    if alternatives.len() > 1 {
        return alternatives
            .into_iter()
            .map(parse_filter)
            .collect::<Option<Vec<_>>>()
            .map(Filter::Or);
    }
    let t = s.trim();
    if let Some(inner) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return parse_filter(inner);
    }
    if let Some(f) = extended(t) {
        return Some(f);
    }
    let (field, value) = eq_clause(t)?;
    if field.contains(['(', ')', ' ']) {
        return None;
    }
    Some(Filter::Eq(field, value))
}

/// The property id of `$expand=singleValueExtendedProperties($filter=id eq '...')`: `Ok(None)`
/// for the expansion without a filter, `Err` when the expansion is something else.
pub fn expanded_property(expand: &str) -> Result<Option<String>, ()> {
    let t = expand.trim();
    let (head, rest) = match t.find('(') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    if !head
        .trim()
        .eq_ignore_ascii_case("singleValueExtendedProperties")
    {
        return Err(());
    }
    let Some(rest) = rest else {
        return Ok(None);
    };
    let inner = rest.strip_suffix(')').ok_or(())?;
    let filter = inner
        .trim()
        .strip_prefix("$filter=")
        .or_else(|| inner.trim().strip_prefix("$filter ="))
        .ok_or(())?;
    match eq_clause(filter) {
        Some((field, id)) if field.eq_ignore_ascii_case("id") => Ok(Some(id)),
        _ => Err(()),
    }
}

/// The field names of `$select`, `None` without one.
pub fn select(q: Option<&String>) -> Option<Vec<String>> {
    q.map(|s| {
        s.split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect()
    })
}

/// Percent-encodes a query value so it survives a round trip through a link.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'$') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_the_restore_sends() {
        assert_eq!(
            parse_filter("internetMessageId eq '<a''b@x>'"),
            Some(Filter::Eq("internetMessageId".into(), "<a'b@x>".into()))
        );
        assert_eq!(
            parse_filter(
                "singleValueExtendedProperties/Any(ep: ep/id eq 'String {g} Name SRSourceItem' and ep/value eq 'v and w')"
            ),
            Some(Filter::Extended {
                id: "String {g} Name SRSourceItem".into(),
                value: Some("v and w".into())
            })
        );
        assert!(matches!(
            parse_filter("displayName eq 'A' or displayName eq 'B'"),
            Some(Filter::Or(v)) if v.len() == 2
        ));
        assert_eq!(parse_filter("startswith(displayName,'A')"), None);
        assert_eq!(parse_filter("displayName eq 'unterminated"), None);
        assert_eq!(
            expanded_property("singleValueExtendedProperties($filter=id eq 'X')"),
            Ok(Some("X".into()))
        );
        assert_eq!(expanded_property("attachments"), Err(()));
    }
}
