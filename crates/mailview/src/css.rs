//! Mail's own CSS, kept where it is safe. Newsletters lay themselves out with `<style>` blocks and
//! `style` attributes; dropping them (as ammonia does) leaves a page no sender meant. The body is
//! shown in a sandboxed frame whose policy forbids every load and script, so what remains to take
//! out is whatever could fetch, run or escape the frame: `url()`, `image-set()`, `@import` and
//! every other at-rule but `@media`, `expression()`, `behavior`, `-moz-binding`, fixed and sticky
//! positioning. Escapes (`\75 rl(`) could hide any of those, so a declaration with a backslash
//! goes too. A rule or declaration that cannot be read cleanly is dropped, never repaired.

/// Words that make a declaration unsafe wherever they appear in it (compared in lower case,
/// without whitespace).
const FORBIDDEN: &[&str] = &[
    "url(",
    "image-set(",
    "image(",
    "expression(",
    "javascript:",
    "vbscript:",
    "behavior",
    "-moz-binding",
    "@import",
    "</",
    "<!--",
    "-->",
];

/// Nesting limit for `@media` inside `@media`.
const MAX_DEPTH: usize = 3;

/// A style sheet of rules and `@media` blocks with every unsafe part removed.
pub fn sanitize_style_sheet(css: &str) -> String {
    // `<!--` and `-->` around a sheet hid it from pre-CSS browsers; CSS ignores them.
    let css = without_comments(css)
        .replace("<!--", " ")
        .replace("-->", " ");
    let mut out = String::with_capacity(css.len());
    sheet(&css, 0, &mut out);
    out
}

/// A `style` attribute's declarations with every unsafe one removed; None when none is left.
pub fn sanitize_declarations(style: &str) -> Option<String> {
    let cleaned = declarations(&without_comments(style));
    (!cleaned.is_empty()).then_some(cleaned)
}

fn without_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn sheet(css: &str, depth: usize, out: &mut String) {
    let mut rest = css.trim_start();
    while !rest.is_empty() {
        // A statement: an at-rule ending in `;`, or a prelude followed by a `{ block }`.
        let Some(open) = find_outside_strings(rest, &['{', ';']) else {
            return;
        };
        if rest.as_bytes()[open] == b';' {
            // `@import ...;`, `@charset ...;` or junk: never kept.
            rest = rest[open + 1..].trim_start();
            continue;
        }
        let prelude = rest[..open].trim();
        let Some(close) = matching_brace(rest, open) else {
            return;
        };
        let block = &rest[open + 1..close];
        rest = rest[close + 1..].trim_start();
        if let Some(at_rule) = prelude.strip_prefix('@') {
            let name = at_rule
                .split(|c: char| c.is_whitespace() || c == '(')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if name == "media" && depth < MAX_DEPTH && safe_text(prelude) {
                let mut inner = String::new();
                sheet(block, depth + 1, &mut inner);
                if !inner.is_empty() {
                    out.push_str(prelude);
                    out.push('{');
                    out.push_str(&inner);
                    out.push('}');
                }
            }
            continue;
        }
        if prelude.is_empty() || !safe_text(prelude) || prelude.contains(['{', '}']) {
            continue;
        }
        let kept = declarations(block);
        if !kept.is_empty() {
            out.push_str(prelude);
            out.push('{');
            out.push_str(&kept);
            out.push('}');
        }
    }
}

/// The safe declarations of a block, `;`-separated.
fn declarations(block: &str) -> String {
    let mut kept: Vec<String> = Vec::new();
    for declaration in split_outside_strings(block, ';') {
        let Some((property, value)) = declaration.split_once(':') else {
            continue;
        };
        let property = property.trim().to_ascii_lowercase();
        let value = value.trim();
        let valid_name = !property.is_empty()
            && property
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        // The name too: `behavior` and `-moz-binding` run code whatever their value.
        if !valid_name
            || !safe_text(&property)
            || value.is_empty()
            || !safe_text(value)
            || value.contains(['{', '}'])
        {
            continue;
        }
        let compact: String = value
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if property == "position" && (compact.contains("fixed") || compact.contains("sticky")) {
            continue;
        }
        kept.push(format!("{property}:{value}"));
    }
    kept.join(";")
}

/// No escapes, no markup, nothing that fetches or runs.
fn safe_text(text: &str) -> bool {
    if text.contains(['\\', '<', '\0']) {
        return false;
    }
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    !FORBIDDEN.iter().any(|word| compact.contains(word))
}

/// The first of `wanted` outside quoted strings and parentheses.
fn find_outside_strings(text: &str, wanted: &[char]) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut parens = 0usize;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => parens += 1,
            (None, ')') => parens = parens.saturating_sub(1),
            (None, c) if parens == 0 && wanted.contains(&c) => return Some(i),
            _ => {}
        }
    }
    None
}

fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_outside_strings(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = find_outside_strings(rest, &[separator]) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len_utf8()..];
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_survives() {
        let css = ".wrap{width:600px;margin:0 auto}/* c */td.hero { background-color: #1a73e8; color:#fff; font: 16px/1.4 Georgia, 'Times New Roman', serif }\n@media (max-width: 600px) { .wrap { width: 100% } }";
        assert_eq!(
            sanitize_style_sheet(css),
            ".wrap{width:600px;margin:0 auto}td.hero{background-color:#1a73e8;color:#fff;font:16px/1.4 Georgia, 'Times New Roman', serif}@media (max-width: 600px){.wrap{width:100%}}"
        );
    }

    #[test]
    fn whatever_fetches_runs_or_escapes_goes() {
        let css = "@import url(https://t.example/x.css);\n@import 'y.css';\
                   @font-face { font-family: X; src: url(https://t.example/f.woff) }\
                   body { background: URL ( https://t.example/p.gif ); color: red }\
                   p { width: expression(alert(1)); behavior: url(x.htc); -moz-binding: url(x); }\
                   .a { background-image: image-set('x.png' 1x); position: fixed; top: 0 }\
                   .b { color: \\75 rl(x); position: absolute }\
                   </style><script>alert(1)</script><style>\
                   .c { content: '</style>' }";
        let out = sanitize_style_sheet(css);
        for bad in [
            "url",
            "import",
            "font-face",
            "expression",
            "behavior",
            "binding",
            "image-set",
            "fixed",
            "\\",
            "<",
            "script",
        ] {
            assert!(!out.to_ascii_lowercase().contains(bad), "{bad} in {out}");
        }
        assert!(out.contains("body{color:red}"), "{out}");
        assert!(out.contains(".a{top:0}"), "{out}");
        assert!(out.contains(".b{position:absolute}"), "{out}");
    }

    #[test]
    fn attributes_keep_their_safe_declarations() {
        assert_eq!(
            sanitize_declarations("color: red; background: url(http://t/x.gif); font-weight:bold"),
            Some("color:red;font-weight:bold".to_owned())
        );
        assert_eq!(sanitize_declarations("background:url(x)"), None);
        // Found by the property test: a name that runs code, whatever the value.
        assert_eq!(sanitize_declarations("behavior:/**/*//*"), None);
        assert_eq!(
            sanitize_declarations("-moz-binding: none; color: red"),
            Some("color:red".to_owned())
        );
    }

    #[test]
    fn old_html_comment_wrappers_are_ignored() {
        assert_eq!(
            sanitize_style_sheet("<!-- DIV {margin:0px;} -->"),
            "DIV{margin:0px}"
        );
    }

    #[test]
    fn unbalanced_sheets_end_quietly() {
        assert_eq!(sanitize_style_sheet("p { color: red"), "");
        assert_eq!(sanitize_style_sheet("p { color: red } q {"), "p{color:red}");
        assert_eq!(sanitize_style_sheet("}}} p{color:red}"), "");
    }
}
