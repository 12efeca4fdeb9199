//! Hostile and ordinary mail, rendered as the reader pane would get it.

use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn hostile_html_loses_everything_that_could_run_or_load() {
    let view = mailview::render(&fixture("hostile.eml")).expect("render");
    let html = view.html.expect("an HTML body");
    let lower = html.to_lowercase();
    for forbidden in [
        "<script",
        "onload",
        "onerror",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<style",
        "<svg",
        "tracker.example",
        "attacker.example/frame",
        "data:text/html",
        "pwned",
    ] {
        assert!(
            !lower.contains(forbidden),
            "`{forbidden}` survived in: {html}"
        );
    }
    // What is harmless stays: text, safe links (opened outside the frame), inline styles.
    assert!(html.contains("Invoice"));
    assert!(html.contains("Thank you"));
    assert!(html.contains(r#"href="https://example.com/pay""#), "{html}");
    assert!(
        html.contains(r#"rel="noopener noreferrer nofollow""#),
        "{html}"
    );
    assert!(html.contains(r#"style="color:red""#), "{html}");
    // The overlay keeps its harmless declarations only.
    assert!(html.contains(r#"style="top:0;left:0""#), "{html}");
    // The cid: logo becomes an inline image; the two remote/broken images are counted as blocked.
    assert!(html.contains("data:image/png;base64,iVBOR"), "{html}");
    assert_eq!(view.remote_images_blocked, 2);
    assert!(view.text.is_none());
}

#[test]
fn attachments_are_listed_and_fetched_by_index() {
    let raw = fixture("hostile.eml");
    let view = mailview::render(&raw).expect("render");
    let pdf = view
        .attachments
        .iter()
        .find(|a| a.content_type == "application/pdf")
        .expect("the pdf is listed");
    let (meta, bytes) = mailview::attachment(&raw, pdf.index)
        .expect("parse")
        .expect("found");
    assert_eq!(meta, *pdf);
    assert!(bytes.starts_with(b"%PDF-1.4"));
    assert_eq!(bytes.len(), pdf.size);
    assert_eq!(
        meta.name, "invoice 2026.pdf",
        "no path survives in the name"
    );
    // The inline logo is shown in the body, so it is not listed again.
    assert_eq!(view.attachments.len(), 1, "{:?}", view.attachments);
    assert!(mailview::attachment(&raw, 99).expect("parse").is_none());
}

#[test]
fn plain_text_stays_plain_text() {
    let view = mailview::render(&fixture("plain.eml")).expect("render");
    assert!(view.html.is_none());
    let text = view.text.expect("a text body");
    assert!(text.contains("café on Friday? <b>not bold</b>"), "{text}");
    assert!(view.attachments.is_empty());
}

#[test]
fn body_document_carries_the_sanitised_html_only() {
    let doc = mailview::body_document("<p>hello</p>");
    assert!(doc.starts_with("<!DOCTYPE html>"));
    assert!(doc.contains("<body><p>hello</p></body>"));
    assert!(mailview::BODY_CSP.contains("default-src 'none'"));
    assert!(!mailview::BODY_CSP.contains("script-src"));
}

#[test]
fn every_corpus_message_renders_or_is_refused_cleanly() {
    // Real-world and malformed MIME: rendering never panics, and what renders has no script.
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut rendered = 0;
    let mut attempted = 0;
    let mut stack = vec![corpus];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "eml" || e == "raw") {
                attempted += 1;
                let raw = std::fs::read(&path).expect("read");
                if let Ok(view) = mailview::render(&raw) {
                    if let Some(html) = view.html {
                        assert!(
                            !html.to_lowercase().contains("<script"),
                            "{}",
                            path.display()
                        );
                    }
                    rendered += 1;
                }
            }
        }
    }
    // 53 .eml (mail-parser) and 87 .raw (enmime) messages; mail-parser is lenient and gets a
    // view out of every one of them, however broken.
    assert_eq!(attempted, 140);
    assert_eq!(
        rendered, attempted,
        "only {rendered} of {attempted} rendered"
    );
}

/// A newsletter's style sheet stays (so its layout does), without what could fetch or escape.
#[test]
fn newsletter_styles_are_kept_safe() {
    let raw = b"Subject: Weekly\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <html><head><title>Weekly title</title><style type=\"text/css\">\
        .wrap { width: 600px; margin: 0 auto; background: #f4f4f4 }\
        .hero td { padding: 24px; background-image: url(https://tracker.example/bg.png) }\
        @import url(https://tracker.example/x.css);\
        @media only screen and (max-width: 480px) { .wrap { width: 100% !important } }\
        .ad { position: fixed; bottom: 0 }\
        </style></head><body><table class=\"wrap\"><tr class=\"hero\"><td>News</td></tr></table></body></html>";
    let view = mailview::render(raw).expect("render");
    let html = view.html.expect("an HTML body");
    assert!(
        html.starts_with("<style>.wrap{width:600px;margin:0 auto;background:#f4f4f4}"),
        "{html}"
    );
    assert!(html.contains(".hero td{padding:24px}"), "{html}");
    assert!(
        html.contains("@media only screen and (max-width: 480px){.wrap{width:100% !important}}"),
        "{html}"
    );
    assert!(html.contains(".ad{bottom:0}"), "{html}");
    assert!(html.contains(r#"class="wrap""#), "{html}");
    for gone in ["tracker.example", "@import", "fixed", "Weekly title"] {
        assert!(!html.contains(gone), "{gone} survived: {html}");
    }
}

/// Every charset's text reaches the reader decoded.
#[test]
fn every_charset_reads_as_written() {
    for (charset, bytes, text) in testkit::mime::CHARSET_SAMPLES {
        let raw = testkit::mime::charset_message(charset, bytes, "");
        let view = mailview::render(&raw).expect("render");
        let shown = view.text.unwrap_or_default();
        assert!(shown.contains(text), "{charset}: {shown:?}");
    }
}

/// Broken MIME shows its text in the reader and lists no attachment for it.
#[test]
fn broken_mime_shows_its_text() {
    let raw = b"Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQgZnJvbSBiYXNlNjQ=\r\n";
    let view = mailview::render(raw).expect("render");
    assert_eq!(
        view.text.as_deref().map(str::trim),
        Some("Hello world from base64")
    );
    assert!(view.attachments.is_empty(), "{:?}", view.attachments);
}
