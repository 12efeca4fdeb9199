//! Realistic synthetic mailboxes for benchmarks and demos: a folder tree, threads (Re: with
//! In-Reply-To), plain, HTML and multipart/alternative bodies, attachments, and several charsets
//! (UTF-8, ISO-8859-1 quoted-printable, UTF-8 base64 CJK). Deterministic for a given seed.

const FOLDERS: &[&[&str]] = &[
    &["Inbox"],
    &["Inbox"],
    &["Inbox"],
    &["Inbox", "Projects", "Apollo"],
    &["Inbox", "Projects", "Zephyr"],
    &["Sent Items"],
    &["Archive", "2023"],
    &["Archive", "2024"],
    &["Newsletters"],
];

const WORDS: &[&str] = &[
    "budget",
    "meeting",
    "report",
    "quarterly",
    "schedule",
    "contract",
    "invoice",
    "customer",
    "migration",
    "server",
    "deadline",
    "review",
    "proposal",
    "travel",
    "holiday",
    "design",
    "release",
    "backup",
    "security",
    "training",
    "forecast",
    "shipment",
    "warehouse",
    "audit",
    "the",
    "and",
    "for",
    "with",
    "please",
    "thanks",
    "about",
    "next",
    "week",
    "team",
    "update",
];
const LATIN: &[&str] = &[
    "réunion", "café", "Grüße", "München", "élève", "façade", "año", "crème",
];
const CJK: &[&str] = &["会議", "東京", "報告書", "予算", "締め切り", "お疲れ様です"];
const PEOPLE: &[&str] = &[
    "Ann Archer",
    "Bob Baker",
    "Chloé Dubois",
    "Dieter Müller",
    "Yuki Tanaka",
    "Eve Evans",
    "Frank Li",
];

/// A small xorshift generator: no dependency, same sequence everywhere.
pub struct MailGen {
    state: u64,
    subjects: Vec<String>,
}

impl MailGen {
    pub fn new(seed: u64) -> Self {
        MailGen {
            state: seed.max(1),
            subjects: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.pick(WORDS));
        }
        s.push('.');
        s
    }

    fn address(name: &str) -> String {
        let local: String = name
            .split_whitespace()
            .next()
            .unwrap_or("user")
            .chars()
            .filter(char::is_ascii_alphabetic)
            .collect();
        format!("{}@example.com", local.to_lowercase())
    }

    /// Message number `i`: the folder path it belongs in and its raw MIME.
    pub fn message(&mut self, i: usize) -> (Vec<String>, Vec<u8>) {
        let folder: Vec<String> = self.pick_folder();
        let from = self.pick(PEOPLE);
        let to = self.pick(PEOPLE);
        let reply = !self.subjects.is_empty() && self.below(3) == 0;
        let subject = if reply {
            let pick = self.below(self.subjects.len());
            let s = self.subjects[pick].clone();
            format!("Re: {s}")
        } else {
            let s = format!("{} {} {}", self.pick(WORDS), self.pick(WORDS), i);
            if self.subjects.len() < 2000 {
                self.subjects.push(s.clone());
            }
            s
        };
        let day = 1 + self.below(28);
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ][self.below(12)];
        let year = 2019 + self.below(6);
        let mut m = format!(
            "From: {from} <{}>\r\nTo: {to} <{}>\r\nSubject: {subject}\r\nDate: Mon, {day} {month} {year} {:02}:{:02}:00 +0000\r\nMessage-ID: <gen{i}@example.com>\r\n",
            Self::address(from),
            Self::address(to),
            self.below(24),
            self.below(60)
        );
        if reply {
            m.push_str(&format!(
                "In-Reply-To: <gen{}@example.com>\r\n",
                self.below(i.max(1))
            ));
        }
        m.push_str("MIME-Version: 1.0\r\n");
        let mut paragraphs = Vec::new();
        for _ in 0..(10 + self.below(60)) {
            let n = 8 + self.below(20);
            paragraphs.push(self.sentence(n));
        }
        let body_kind = self.below(4);
        let attachment = self.below(10) < 6;
        let boundary = format!("b{i}x");
        if attachment {
            m.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n"
            ));
        }
        match body_kind {
            0 => {
                // Latin-1, quoted-printable.
                paragraphs.push(
                    LATIN
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                m.push_str("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
                for p in &paragraphs {
                    m.push_str(&qp_latin1(p));
                    m.push_str("\r\n\r\n");
                }
            }
            1 => {
                let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
                m.push_str(&format!("Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>\r\n"));
            }
            2 => {
                let cjk = format!("{}{}{}", self.pick(CJK), self.pick(CJK), self.pick(CJK));
                paragraphs.push(cjk);
                let text = paragraphs.join("\r\n\r\n");
                m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                m.push_str(&base64_lines(text.as_bytes()));
            }
            _ => {
                let alt = format!("a{i}y");
                let text = paragraphs.join("\r\n\r\n");
                let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
                m.push_str(&format!(
                    "Content-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>\r\n--{alt}--\r\n"
                ));
            }
        }
        if attachment {
            let size = 25_000 + self.below(45_000);
            let bytes: Vec<u8> = (0..size).map(|_| (self.next() & 0xff) as u8).collect();
            let name = format!(
                "{}-{i}.{}",
                self.pick(WORDS),
                ["pdf", "xlsx", "docx", "png"][self.below(4)]
            );
            m.push_str(&format!(
                "\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--{boundary}--\r\n",
                base64_lines(&bytes)
            ));
        }
        (folder, m.into_bytes())
    }

    fn pick_folder(&mut self) -> Vec<String> {
        FOLDERS[self.below(FOLDERS.len())]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

fn qp_latin1(text: &str) -> String {
    let mut out = String::new();
    let mut line = 0;
    for c in text.chars() {
        let code = c as u32;
        let piece = if code < 128 && c != '=' {
            c.to_string()
        } else if code < 256 {
            format!("={code:02X}")
        } else {
            "?".to_string()
        };
        if line + piece.len() > 72 && c == ' ' {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 38 + 4);
    for (n, chunk) in bytes.chunks(3).enumerate() {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(v >> 18) as usize & 63] as char);
        out.push(T[(v >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(v >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[v as usize & 63] as char
        } else {
            '='
        });
        if n % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_mail_parses_with_realistic_sizes() {
        let mut g = MailGen::new(42);
        let mut sizes = Vec::new();
        for i in 0..200 {
            let (folder, raw) = g.message(i);
            assert!(!folder.is_empty());
            let meta = archive::meta::parse_message(&raw).unwrap();
            assert!(
                !meta.subject.is_empty() && !meta.sender_address.is_empty() && meta.date.is_some()
            );
            sizes.push(raw.len());
        }
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!((30_000..80_000).contains(&median), "median {median}");
    }
}
