//! Test messages built from parts instead of hand-written MIME strings, so every suite writes
//! the same well-formed headers and only says what its test is about.
//!
//! ```
//! let raw = testkit::mime::Mail::new("Quarterly figures")
//!     .from("Dana Lee <dana@example.org>")
//!     .html("<p>Figures attached</p>")
//!     .attach("figures.csv", "text/csv", b"a,b\n1,2\n")
//!     .build();
//! assert!(String::from_utf8(raw).unwrap().contains("Subject: Quarterly figures"));
//! ```

/// A message under construction. Without a body it carries its subject as plain text.
#[derive(Debug, Clone)]
pub struct Mail {
    subject: String,
    from: String,
    to: String,
    cc: Option<String>,
    date: String,
    message_id: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<(String, String, Vec<u8>)>,
    extra_headers: Vec<(String, String)>,
}

impl Mail {
    pub fn new(subject: &str) -> Mail {
        Mail {
            subject: subject.to_owned(),
            from: "Test Sender <sender@example.org>".to_owned(),
            to: "<alice.martin@example.com>".to_owned(),
            cc: None,
            date: "Tue, 07 Oct 2025 10:00:00 +0000".to_owned(),
            message_id: None,
            text: None,
            html: None,
            attachments: Vec::new(),
            extra_headers: Vec::new(),
        }
    }

    pub fn from(mut self, from: &str) -> Mail {
        self.from = from.to_owned();
        self
    }

    pub fn to(mut self, to: &str) -> Mail {
        self.to = to.to_owned();
        self
    }

    pub fn cc(mut self, cc: &str) -> Mail {
        self.cc = Some(cc.to_owned());
        self
    }

    /// An RFC 5322 date, e.g. `Mon, 02 Nov 2026 09:00:00 +0000`.
    pub fn date(mut self, date: &str) -> Mail {
        self.date = date.to_owned();
        self
    }

    /// Without one, the id is made from the subject (spaces as dashes) at `example.org`.
    pub fn message_id(mut self, id: &str) -> Mail {
        self.message_id = Some(id.to_owned());
        self
    }

    pub fn text(mut self, body: &str) -> Mail {
        self.text = Some(body.to_owned());
        self
    }

    pub fn html(mut self, body: &str) -> Mail {
        self.html = Some(body.to_owned());
        self
    }

    pub fn attach(mut self, name: &str, content_type: &str, data: &[u8]) -> Mail {
        self.attachments
            .push((name.to_owned(), content_type.to_owned(), data.to_vec()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Mail {
        self.extra_headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn build(self) -> Vec<u8> {
        let mut out = String::new();
        let id = self
            .message_id
            .clone()
            .unwrap_or_else(|| format!("<{}@example.org>", self.subject.replace(' ', "-")));
        out.push_str(&format!("From: {}\r\nTo: {}\r\n", self.from, self.to));
        if let Some(cc) = &self.cc {
            out.push_str(&format!("Cc: {cc}\r\n"));
        }
        out.push_str(&format!(
            "Subject: {}\r\nDate: {}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\n",
            self.subject, self.date
        ));
        for (name, value) in &self.extra_headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some(text) = &self.text {
            parts.push(format!(
                "Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            ));
        }
        if let Some(html) = &self.html {
            parts.push(format!(
                "Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
            ));
        }
        if parts.is_empty() {
            parts.push(format!(
                "Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
                self.subject
            ));
        }
        for (name, content_type, data) in &self.attachments {
            parts.push(format!(
                "Content-Type: {content_type}; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                base64(data)
            ));
        }
        if parts.len() == 1 {
            out.push_str(&parts[0]);
        } else {
            let boundary = "=_testkit_boundary";
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            ));
            for part in parts {
                out.push_str(&format!("--{boundary}\r\n{part}"));
            }
            out.push_str(&format!("--{boundary}--\r\n"));
        }
        out.into_bytes()
    }
}

/// Standard base64 with line breaks every 76 characters, as MIME wants it.
fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    let mut line = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = [
            TABLE[(n >> 18) as usize & 63],
            TABLE[(n >> 12) as usize & 63],
            if chunk.len() > 1 {
                TABLE[(n >> 6) as usize & 63]
            } else {
                b'='
            },
            if chunk.len() > 2 {
                TABLE[n as usize & 63]
            } else {
                b'='
            },
        ];
        for c in chars {
            out.push(c as char);
        }
        line += 4;
        if line >= 76 {
            out.push_str("\r\n");
            line = 0;
        }
    }
    out
}

/// One sample per charset real mail carries: its name, a phrase in its bytes, the same phrase as
/// text. Shared by the archive's, the index's and the reader's charset tests.
pub const CHARSET_SAMPLES: &[(&str, &[u8], &str)] = &[
    (
        "iso-2022-jp",
        b"\x1b$B%O%m!<!&%o!<%k%I\x1b(B",
        "\u{30cf}\u{30ed}\u{30fc}\u{30fb}\u{30ef}\u{30fc}\u{30eb}\u{30c9}",
    ),
    (
        "big5",
        b"\xa7A\xa6n\xa1A\xa5@\xac\xc9",
        "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
    ),
    (
        "gb2312",
        b"\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7",
        "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
    ),
    (
        "gbk",
        b"\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7",
        "\u{4f60}\u{597d}\u{ff0c}\u{4e16}\u{754c}",
    ),
    (
        "euc-kr",
        b"\xbe\xc8\xb3\xe7\xc7\xcf\xbc\xbc\xbf\xe4",
        "\u{c548}\u{b155}\u{d558}\u{c138}\u{c694}",
    ),
    (
        "koi8-r",
        b"\xf0\xd2\xc9\xd7\xc5\xd4",
        "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
    ),
    (
        "windows-1251",
        b"\xcf\xf0\xe8\xe2\xe5\xf2",
        "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
    ),
    (
        "windows-1252",
        b"Gr\xfc\xdfe \x93quoted\x94",
        "Gr\u{fc}\u{df}e \u{201c}quoted\u{201d}",
    ),
    (
        "windows-1250",
        b"P\xf8\xedli\x9a \x9elu\x9do\xe8k\xfd",
        "P\u{159}\u{ed}li\u{161} \u{17e}lu\u{165}o\u{10d}k\u{fd}",
    ),
    (
        "iso-8859-7",
        b"\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1",
        "\u{39a}\u{3b1}\u{3bb}\u{3b7}\u{3bc}\u{3ad}\u{3c1}\u{3b1}",
    ),
    (
        "shift_jis",
        b"\x83n\x83\x8D\x81[",
        "\u{30cf}\u{30ed}\u{30fc}",
    ),
];

/// A message whose subject (an RFC 2047 encoded word) and 8-bit body are `bytes` in `charset`,
/// each followed by `tag` so a test can tell the subject's word from the body's.
pub fn charset_message(charset: &str, bytes: &[u8], tag: &str) -> Vec<u8> {
    let word: String = bytes.iter().map(|b| format!("={b:02X}")).collect();
    let mut raw = format!(
        "From: sender@example.com\r\nTo: ann@example.com\r\n\
         Subject: =?{charset}?Q?{word}?= subject{tag}\r\n\
         Date: Mon, 15 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset={charset}\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(bytes);
    raw.extend_from_slice(format!(" body{tag}\r\n").as_bytes());
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_message_carries_its_subject() {
        let raw = String::from_utf8(Mail::new("Hello there").build()).unwrap_or_default();
        assert!(raw.contains("Subject: Hello there\r\n"));
        assert!(raw.contains("Message-ID: <Hello-there@example.org>\r\n"));
        assert!(raw.ends_with("\r\n\r\nHello there\r\n"));
    }

    #[test]
    fn parts_make_a_multipart_message() {
        let raw = String::from_utf8(
            Mail::new("Figures")
                .html("<p>see</p>")
                .attach("a.bin", "application/octet-stream", b"hello")
                .build(),
        )
        .unwrap_or_default();
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("filename=\"a.bin\""));
        assert!(raw.contains("aGVsbG8="), "{raw}");
        assert!(raw.trim_end().ends_with("--=_testkit_boundary--"));
    }
}
