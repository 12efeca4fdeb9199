//! HTML reduced to text on real newsletters: the words a reader sees, apart where the page
//! shows them apart, and nothing of their style sheets.

use std::path::PathBuf;

fn text_of(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The HTML alternative itself, not the plain one beside it.
    let mail = mailread::Mail::new(&raw);
    let message = mail.message().expect("a message");
    let html = match message.html_part(0).map(|p| &p.body) {
        Some(mail_parser::PartType::Html(html)) => html.to_string(),
        _ => panic!("{name} has no HTML part"),
    };
    let text = mailread::html_text(&html);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_news_digest_reads_as_its_readers_saw_it() {
    let text = text_of("media-unspun.eml");
    for phrase in [
        "What the Press is Reporting and Why",
        "Tuesday, October 8, 2002",
        "Top Spins... Bush Covers the Waterfront The Biggest Cable Hookup",
        "Is Media Unspun useful to you? Then pass it on to a colleague.",
        "Register now at: http://www.poptech.org",
        "that pesky port lockout",
    ] {
        assert!(text.contains(phrase), "{phrase:?} not in {text}");
    }
    for leaked in ["font-family", "{", "}", "<!--", "&nbsp;", "&amp;"] {
        assert!(!text.contains(leaked), "{leaked:?} leaked into {text}");
    }
}

#[test]
fn a_table_laid_out_newsletter_keeps_its_cells_apart() {
    let text = text_of("cnet-message-boards.eml");
    for phrase in [
        "1. Wireless 2. Computer Help 3. Speakeasy",
        "92% 8% (3629 votes) RAMBooster",
        "Dear Readers, With all the corporate scandals--such as WorldCom and Enron",
        "Email me: messageboards@cnet.com",
    ] {
        assert!(text.contains(phrase), "{phrase:?} not in {text}");
    }
    assert!(!text.contains("WirelessComputer"), "cells glued: {text}");
    assert!(!text.contains("font-family"), "{text}");
}
