//! Whatever HTML a message carries, what reaches the browser runs nothing: no script, frame,
//! object, form, meta refresh or base element, no event handler attribute, no script URL, and
//! no remote image the reader did not ask to see. Property tests (proptest) over documents
//! built from hostile pieces, broken markup and text.

use std::collections::HashMap;

use mailview::sanitize_html;
use proptest::prelude::*;

fn html() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<script>alert(1)</script>",
        "<SCRIPT SRC=http://evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<img src=\"http://tracker.example/p.gif\">",
        "<img src='cid:part1'>",
        "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"vbscript:msgbox\">x</a>",
        "<a href=\"https://example.org\" onclick=\"steal()\">ok</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<object data=x></object>",
        "<embed src=x>",
        "<form action=\"https://evil.example\"><input name=p></form>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        "<base href=\"https://evil.example/\">",
        "<svg onload=alert(1)><circle/></svg>",
        "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
        "<body onload=alert(1)>",
        "<div style=\"position:fixed;top:0\" onmouseover=alert(1)>",
        "<table background=\"javascript:alert(1)\"><tr><td>cell</td></tr></table>",
        "<p>Hello <b>there</b></p>",
        "<font face=Arial color=red>old mail</font>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<",
        ">",
        "\"",
        "'",
        "</div>",
        "<div>",
        "text & more ",
    ]);
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Lower case without white space, so `on error =` and `JavaScript :` look like what they are.
fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The text of every tag of serialised HTML, attribute values whole: a `>` inside quotes does
/// not end a tag (the serialiser escapes `<` in text, not `>` in attribute values).
fn inside_tags(html: &str) -> String {
    let mut out = String::new();
    let (mut in_tag, mut quote) = (false, None);
    for ch in html.chars() {
        match (in_tag, quote, ch) {
            (false, _, '<') => in_tag = true,
            (false, _, _) => {}
            (true, None, '>') => {
                in_tag = false;
                out.push(' ');
            }
            (true, None, '"' | '\'') => {
                quote = Some(ch);
                out.push(ch);
            }
            (true, Some(q), _) if ch == q => {
                quote = None;
                out.push(ch);
            }
            (true, _, _) => out.push(ch),
        }
    }
    out
}

fn assert_safe(out: &str) -> Result<(), TestCaseError> {
    let c = compact(out);
    for bad in [
        "<script", "<iframe", "<object", "<embed", "<form", "<input", "<meta", "<base", "<svg",
        "<math", "<body",
    ] {
        prop_assert!(!c.contains(bad), "{bad} survived in {out}");
    }
    // Handlers and URLs are attributes: looked for inside tags only. Text that reads
    // `onerror=` or `src="http` is escaped text (a `<` in text comes out as `&lt;`), as
    // harmless as any other.
    let tags = compact(&inside_tags(out));
    for handler in ["onerror=", "onclick=", "onload=", "onmouseover="] {
        prop_assert!(!tags.contains(handler), "{handler} survived in {out}");
    }
    // A URL as a browser reads it: tabs and line breaks removed anywhere, control characters
    // and spaces trimmed at the start. (A space or U+FFFD inside a scheme makes the URL a
    // harmless relative one.)
    let raw_tags = inside_tags(out);
    let lower = raw_tags.to_ascii_lowercase();
    for attribute in ["href=\"", "src=\"", "background=\""] {
        for (at, _) in lower.match_indices(attribute) {
            let value: String = lower[at + attribute.len()..]
                .split('"')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect();
            let value = value.trim_start_matches(|c: char| c <= ' ');
            for url in ["javascript:", "vbscript:", "data:image/svg"] {
                prop_assert!(
                    !value.starts_with(url),
                    "{attribute}{url} survived in {out}"
                );
            }
            prop_assert!(
                attribute == "href=\"" || !value.starts_with("http"),
                "a remote image nobody asked to see survived in {out}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_mail_html_comes_out_harmless(doc in html()) {
        let out = sanitize_html(&doc, HashMap::new(), &HashMap::new());
        assert_safe(&out.html)?;
    }

    /// Mail HTML as it arrives (`tests/corpus/html`: a newsletter, a reply, a hostile one), as
    /// it is and mutated.
    #[test]
    fn seed_documents_and_their_mutations_come_out_harmless(
        doc in testkit::corpus::seeded(testkit::corpus::seeds(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/html")))
    ) {
        let out = sanitize_html(&String::from_utf8_lossy(&doc), HashMap::new(), &HashMap::new());
        assert_safe(&out.html)?;
    }

    #[test]
    fn any_text_as_html_comes_out_harmless(doc in "\\PC{0,200}") {
        let out = sanitize_html(&doc, HashMap::new(), &HashMap::new());
        assert_safe(&out.html)?;
    }
}
