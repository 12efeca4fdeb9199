//! What the reader pane shows of a message, made safe for a browser.
//!
//! Mail HTML is hostile input. It is sanitised here with `ammonia` (no scripts, event handlers,
//! forms, frames or `javascript:` links survive), style sheets and style attributes keep only
//! what cannot fetch, run or escape the frame (`css`), remote images are removed (they track the
//! reader), and the portal serves the result in a sandboxed frame under a strict
//! Content-Security-Policy ([`BODY_CSP`]) as a second wall.

mod css;
mod remote;
mod sanitize;

use std::borrow::Cow;
use std::collections::HashMap;

use mail_parser::{MimeHeaders, PartType};
use mailread::Mail;

pub use remote::{is_public, ImageError, ImageFetcher, MAX_IMAGES, MAX_IMAGE_BYTES};
pub use sanitize::{sanitize_html, Sanitized};

/// The Content-Security-Policy for a served message body: nothing may load or run but inline
/// styles and inline (data:) images.
pub const BODY_CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
     font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("the message cannot be parsed as MIME")]
    Unparseable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Position among the message's attachments: the handle a download uses.
    pub index: usize,
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// The body and attachments of a message, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// Sanitised HTML, when the message has an HTML body.
    pub html: Option<String>,
    /// The plain-text body, when the message has no HTML body.
    pub text: Option<String>,
    /// How many remote images were removed from the HTML.
    pub remote_images_blocked: usize,
    /// The addresses of the remote images, each once: what "Show images" fetches.
    pub remote_images: Vec<String>,
    pub attachments: Vec<Attachment>,
}

fn parse<'a>(mail: &'a Mail<'_>) -> Result<mail_parser::Message<'a>, ViewError> {
    mail.message().ok_or(ViewError::Unparseable)
}

fn content_type_of(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned())
        .to_lowercase()
}

/// The attachment's file name, made safe (no path, no control characters), or a generated one.
fn attachment_name(part: &mail_parser::MessagePart<'_>, index: usize) -> String {
    match part.attachment_name() {
        Some(name) if !name.trim().is_empty() => {
            safe_filename(name, &format!("attachment-{}", index + 1))
        }
        _ => match &part.body {
            PartType::Message(_) => format!("message-{}.eml", index + 1),
            _ => format!("attachment-{}", index + 1),
        },
    }
}

fn part_bytes<'a>(part: &'a mail_parser::MessagePart<'_>) -> Cow<'a, [u8]> {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => Cow::Borrowed(text.as_bytes()),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Cow::Borrowed(bytes.as_ref()),
        PartType::Message(message) => Cow::Borrowed(message.raw_message.as_ref()),
        PartType::Multipart(_) => Cow::Borrowed(&[]),
    }
}

/// Renders a message for the reader pane, remote images blocked.
pub fn render(raw: &[u8]) -> Result<MessageView, ViewError> {
    render_with_images(raw, &HashMap::new())
}

/// Renders a message with the remote images the reader asked to see: `shown` maps their
/// addresses to the `data:` URLs of what [`ImageFetcher`] fetched.
pub fn render_with_images(
    raw: &[u8],
    shown: &HashMap<String, String>,
) -> Result<MessageView, ViewError> {
    let mail = Mail::new(raw);
    let message = parse(&mail)?;

    // An HTML body only when the message really has one: mail-parser would otherwise convert the
    // text body to HTML, and plain text reads better as plain text.
    // Decoded as a browser would: an HTML part without a MIME charset by its <meta> charset.
    let html_source: Option<Cow<'_, str>> =
        message.html_part(0).and_then(|part| match &part.body {
            PartType::Html(html) => Some(
                mailread::html_with_meta_charset(&message, part)
                    .map(Cow::Owned)
                    .unwrap_or(Cow::Borrowed(html.as_ref())),
            ),
            _ => None,
        });
    let (html, remote_images_blocked, remote_images) = match html_source.as_deref() {
        Some(html) => {
            let sanitized = sanitize_html(html, inline_images(&message), shown);
            (
                Some(sanitized.html),
                sanitized.remote_images_blocked,
                sanitized.remote_images,
            )
        }
        None => (None, 0, Vec::new()),
    };
    // Without HTML, the text of every body part, broken ones decoded as far as they go.
    let text = if html.is_none() {
        Some(mailread::body_text(&message))
    } else {
        None
    };

    // Images shown inside the body are not listed again as attachments (mail clients do the
    // same); indexes stay those of `mailread::attachments`, which downloads use.
    let shown_inline = |part: &mail_parser::MessagePart<'_>| {
        html.is_some()
            && part
                .content_disposition()
                .is_none_or(|d| !d.is_attachment())
            && part
                .content_id()
                .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
                .is_some_and(|id| {
                    html_source
                        .as_deref()
                        .is_some_and(|h| h.contains(&format!("cid:{id}")))
                })
    };
    let attachments = mailread::attachments(&message)
        .into_iter()
        .enumerate()
        .filter(|(_, part)| !shown_inline(part))
        .map(|(index, part)| Attachment {
            index,
            name: attachment_name(part, index),
            content_type: content_type_of(part),
            size: part_bytes(part).len(),
        })
        .collect();

    Ok(MessageView {
        html,
        text,
        remote_images_blocked,
        remote_images,
        attachments,
    })
}

/// Images larger than this stay attachments instead of being inlined into the body as data: URLs.
const MAX_INLINE_IMAGE: usize = 2 * 1024 * 1024;

/// `data:` URLs for the message's small inline images, by content id.
fn inline_images(message: &mail_parser::Message<'_>) -> HashMap<String, String> {
    use base64::Engine;
    message
        .parts
        .iter()
        .filter_map(|part| {
            let id = part.content_id()?;
            let id = id.trim().trim_start_matches('<').trim_end_matches('>');
            let content_type = content_type_of(part);
            let bytes = part_bytes(part);
            let usable = content_type.starts_with("image/")
                && !content_type.contains("svg")
                && bytes.len() <= MAX_INLINE_IMAGE;
            usable.then(|| {
                let data = base64::engine::general_purpose::STANDARD.encode(bytes.as_ref());
                (id.to_owned(), format!("data:{content_type};base64,{data}"))
            })
        })
        .collect()
}

/// One attachment's name, content type and bytes, by its index in [`MessageView::attachments`].
pub fn attachment(raw: &[u8], index: usize) -> Result<Option<(Attachment, Vec<u8>)>, ViewError> {
    let mail = Mail::new(raw);
    let message = parse(&mail)?;
    let found = mailread::attachments(&message)
        .into_iter()
        .enumerate()
        .nth(index);
    Ok(found.map(|(index, part)| {
        let bytes = part_bytes(part).into_owned();
        (
            Attachment {
                index,
                name: attachment_name(part, index),
                content_type: content_type_of(part),
                size: bytes.len(),
            },
            bytes,
        )
    }))
}

/// The sanitised body as a complete document for the sandboxed frame.
pub fn body_document(sanitized_html: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta name=\"color-scheme\" content=\"light\">\
         <style>body{{margin:0;padding:16px;font-family:system-ui,sans-serif;font-size:14px;\
         line-height:1.45;color:#1d2330;background:#fff;word-wrap:break-word}}\
         img{{max-width:100%;height:auto}}table{{max-width:100%}}</style>\
         </head><body>{sanitized_html}</body></html>"
    )
}

/// A file name safe to put in a `Content-Disposition` header and on any file system: no paths,
/// no control or reserved characters, not empty, at most 150 characters.
pub fn safe_filename(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*;".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return fallback.to_owned();
    }
    cleaned.chars().take(150).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_filename_strips_paths_and_specials() {
        assert_eq!(safe_filename("../../etc/passwd", "x"), "passwd");
        assert_eq!(safe_filename("C:\\temp\\evil.exe", "x"), "evil.exe");
        assert_eq!(safe_filename("a\r\nb\"c.txt", "x"), "a__b_c.txt");
        assert_eq!(safe_filename("...", "fallback.bin"), "fallback.bin");
        assert_eq!(safe_filename("", "fallback.bin"), "fallback.bin");
        assert_eq!(safe_filename(&"a".repeat(400), "x").len(), 150);
    }
}
