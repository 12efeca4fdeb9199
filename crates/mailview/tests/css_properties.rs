//! No style sheet or style attribute, however hostile, comes out of the sanitiser able to fetch,
//! run, escape the frame or close its own <style> element. Property tests (proptest).

use proptest::prelude::*;

/// Pieces hostile and ordinary CSS is made of.
fn css() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("url(".to_owned()),
        Just("URL (".to_owned()),
        Just("u\\72l(".to_owned()),
        Just("expression(".to_owned()),
        Just("@import".to_owned()),
        Just("@font-face".to_owned()),
        Just("@media screen".to_owned()),
        Just("position:fixed".to_owned()),
        Just("position : sticky".to_owned()),
        Just("behavior:".to_owned()),
        Just("-moz-binding:".to_owned()),
        Just("</style>".to_owned()),
        Just("<script>".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        "[{};:'\"()\\\\ ]",
        "[a-z#0-9.%-]{1,10}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn assert_safe(out: &str) -> Result<(), TestCaseError> {
    let c = compact(out);
    for bad in [
        "url(",
        "expression(",
        "@import",
        "behavior",
        "-moz-binding",
        "<",
        "\\",
    ] {
        prop_assert!(!c.contains(bad), "{bad} survived in {out}");
    }
    // Positioning that escapes the frame: a `position` declaration that is fixed or sticky.
    for declaration in c.split([';', '{', '}']) {
        if let Some(("position", value)) = declaration.split_once(':') {
            prop_assert!(
                !value.contains("fixed") && !value.contains("sticky"),
                "{declaration} survived in {out}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn style_sheets_come_out_safe(sheet in css()) {
        let html = format!("<style>{sheet}</style><p class=a>x</p>");
        let view = mailview::sanitize_html(&html, Default::default(), &Default::default());
        let styles: String = view
            .html
            .split("<style>")
            .skip(1)
            .filter_map(|s| s.split("</style>").next())
            .collect();
        assert_safe(&styles)?;
        prop_assert_eq!(view.html.matches("<style>").count(), view.html.matches("</style>").count());
    }

    #[test]
    fn style_attributes_come_out_safe(style in css()) {
        let html = format!("<p style=\"{}\">x</p>", style.replace('"', "&quot;"));
        let view = mailview::sanitize_html(&html, Default::default(), &Default::default());
        for attribute in view.html.split("style=\"").skip(1) {
            let value = attribute.split('"').next().unwrap_or_default();
            let decoded = value.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            assert_safe(&decoded)?;
        }
    }
}
