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

fn assert_safe(out: &str) -> Result<(), TestCaseError> {
    let c = compact(out);
    for bad in [
        "<script", "<iframe", "<object", "<embed", "<form", "<input", "<meta", "<base", "<svg",
        "<math", "<body",
    ] {
        prop_assert!(!c.contains(bad), "{bad} survived in {out}");
    }
    for handler in ["onerror=", "onclick=", "onload=", "onmouseover="] {
        prop_assert!(!c.contains(handler), "{handler} survived in {out}");
    }
    for url in ["javascript:", "vbscript:", "data:image/svg"] {
        for attribute in ["href=\"", "src=\"", "background=\""] {
            prop_assert!(
                !c.contains(&format!("{attribute}{url}")),
                "{attribute}{url} survived in {out}"
            );
        }
    }
    prop_assert!(
        !c.contains("src=\"http"),
        "a remote image nobody asked to see survived in {out}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_mail_html_comes_out_harmless(doc in html()) {
        let out = sanitize_html(&doc, HashMap::new(), &HashMap::new());
        assert_safe(&out.html)?;
    }

    #[test]
    fn any_text_as_html_comes_out_harmless(doc in "\\PC{0,200}") {
        let out = sanitize_html(&doc, HashMap::new(), &HashMap::new());
        assert_safe(&out.html)?;
    }
}
