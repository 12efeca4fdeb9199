//! Whatever arrives as mail, reading it never panics, and repairing headers never touches the
//! body. Property tests (proptest): a few hundred generated inputs per property on every run.

use proptest::prelude::*;

/// Pieces real broken mail is made of, to build messages that reach deep into the reader.
fn header_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "Date: [ -~]{0,40}",
        "Date: [A-Za-z]{3}, [0-9]{1,2} [A-Za-z]{3} [0-9]{2,4} [0-9:]{5,8} [+-A-Z0-9]{0,6}",
        "From: [ -~]{0,40}",
        "From: \"[a-z@.]{1,12}\"@[a-z.]{1,12}",
        "From: =\\?[a-z0-9-]{1,12}\\?[BQbq]\\?[A-Za-z0-9=+/]{0,20}\\?=@[a-z.]{1,10}",
        "Subject: [ -~]{0,40}",
        "Received: [ -~]{0,30}; [ -~]{0,30}",
        "Content-Type: (text|multipart|image)/[a-z]{1,10}[ ;]{0,2}[a-z]{0,8}=?\"?[A-Za-z0-9 _-]{0,12}\"?",
        "Content-Transfer-Encoding: (base64|quoted-printable|8bit|7bit|x-uue)",
        "Content-Disposition: (inline|attachment)(; filename=[a-z.]{1,10})?",
        "[ \t][ -~]{0,30}",
    ]
}

fn body_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "--[A-Za-z0-9 =_-]{0,16}(--)?",
        "[A-Za-z0-9+/=!*]{0,76}",
        "[ -~]{0,60}",
        "<[a-z/!]{1,8}[ -~]{0,20}>?",
        "=[0-9A-Fa-f]{0,2}",
        "Content-Type: [ -~]{0,30}",
        "",
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(header_line(), 0..8),
        proptest::collection::vec(body_line(), 0..16),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(headers, body, tail, crlf)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut raw = headers.join(eol).into_bytes();
            raw.extend_from_slice(eol.as_bytes());
            raw.extend_from_slice(eol.as_bytes());
            raw.extend_from_slice(body.join(eol).as_bytes());
            raw.extend_from_slice(&tail);
            raw
        })
}

fn read_everything(raw: &[u8]) {
    let mail = mailread::Mail::new(raw);
    if let Some(message) = mail.message() {
        let _ = mailread::body_text(&message);
        let _ = mailread::attachments(&message);
    }
    let _ = mailread::message_date(raw);
    let _ = mailread::quoted_sender(raw);
    let _ = mailread::eight_bit_header(raw, "subject");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(384), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mail_shaped_input_reads_without_panic(raw in message()) {
        read_everything(&raw);
    }

    /// Real messages (`tests/corpus/mime`), as they are and mutated.
    #[test]
    fn seeds_and_their_mutations_read_without_panic(
        raw in testkit::corpus::seeded(testkit::corpus::seeds(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/mime")))
    ) {
        read_everything(&raw);
    }

    #[test]
    fn any_bytes_read_without_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        read_everything(&raw);
    }

    #[test]
    fn any_date_text_reads_without_panic(value in "\\PC{0,60}") {
        let _ = mailread::parse_date(&value);
        let _ = mailread::received_date(&value);
    }

    #[test]
    fn any_html_reduces_without_panic(html in "(<[a-zA-Z/!]{0,8}[^>]{0,12}>?|[^<]{0,16}|&[a-z#0-9]{0,6};?){0,24}") {
        let _ = mailread::html_text(&html);
    }

    /// The repair rewrites header lines only: the body after the blank line is untouched.
    #[test]
    fn repair_never_touches_the_body(
        headers in proptest::collection::vec(header_line(), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut raw = headers.join("\r\n").into_bytes();
        raw.extend_from_slice(b"\r\nSubject: s\r\n\r\n");
        let body: Vec<u8> = body.into_iter().filter(|b| *b != b'\n').collect();
        raw.extend_from_slice(&body);
        let fixed = mailread::repaired(&raw);
        prop_assert!(fixed.ends_with(&body));
    }
}
