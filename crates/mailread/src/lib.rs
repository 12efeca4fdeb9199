//! Reading real-world mail the way its sender meant it, for everything that shows or indexes mail
//! (the archive's listing facts, the search index, the reader).
//!
//! Always parse through [`Mail`]: it repairs the header faults that make mail-parser lose headers
//! or bodies ([`headers::repaired`]) on a copy, and leaves the archived bytes alone. Then
//! [`body_text`] and [`attachments`] say what is body and what is attached, also when the MIME is
//! broken, and [`message_date`] finds the date by the fallbacks of [`DateKind`].

mod body;
mod date;
mod headers;
mod html;

use std::borrow::Cow;

pub use body::{attachments, body_text, html_with_meta_charset, is_body_like};
pub use date::{parse_date, received_date, DateKind, FoundDate, Zone};
pub use headers::{eight_bit_header, message_date, quoted_sender, repaired};
pub use html::html_text;
pub use mail_parser::{Message, MessagePart};

/// A message's bytes as mail-parser should read them (repaired where needed).
pub struct Mail<'a> {
    bytes: Cow<'a, [u8]>,
}

impl<'a> Mail<'a> {
    pub fn new(raw: &'a [u8]) -> Self {
        Mail {
            bytes: repaired(raw),
        }
    }

    /// The parsed message; None when the bytes hold no message at all.
    pub fn message(&self) -> Option<Message<'_>> {
        mail_parser::MessageParser::default().parse(self.bytes.as_ref())
    }
}

/// The indexable text of a raw message: its body, HTML reduced to text.
pub fn raw_body_text(raw: &[u8]) -> String {
    let mail = Mail::new(raw);
    mail.message()
        .map(|message| body_text(&message))
        .unwrap_or_default()
}
