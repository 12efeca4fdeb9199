use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Sanitised HTML and what was taken out that the reader should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    pub html: String,
    pub remote_images_blocked: usize,
}

/// Presentational attributes that old and new mail relies on; none of them can run code.
const MAIL_ATTRIBUTES: &[&str] = &[
    "style",
    "align",
    "valign",
    "bgcolor",
    "width",
    "height",
    "border",
    "cellpadding",
    "cellspacing",
    "color",
    "dir",
    "face",
    "size",
];

/// Sanitises mail HTML. `inline_images` maps a content id (without angle brackets) to the `data:`
/// URL that replaces a `cid:` reference to it; other `cid:` references are dropped.
pub fn sanitize_html(html: &str, inline_images: HashMap<String, String>) -> Sanitized {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let mut tags: HashSet<&str> = ammonia::Builder::default().clone_tags();
    tags.extend(["font", "center"]);
    let cleaned = ammonia::Builder::default()
        .tags(tags)
        .add_generic_attributes(MAIL_ATTRIBUTES)
        // data: is allowed only for images, below; every other scheme outside this list is dropped
        // (javascript:, vbscript:, file:, ...).
        .url_schemes(HashSet::from([
            "http", "https", "mailto", "tel", "data", "cid",
        ]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            let lower = value.trim().to_ascii_lowercase();
            match (element, attribute) {
                ("img", "src") => {
                    if let Some(cid) = value.trim().strip_prefix("cid:") {
                        let cid = cid.trim().trim_start_matches('<').trim_end_matches('>');
                        inline_images.get(cid).cloned().map(Into::into)
                    } else if lower.starts_with("data:image/")
                        && !lower.starts_with("data:image/svg")
                    {
                        Some(value.into())
                    } else {
                        counter.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                }
                (_, "style") => {
                    // Styles may not fetch anything (the frame's policy blocks it too).
                    if lower.contains("url(")
                        || lower.contains("expression(")
                        || lower.contains("@import")
                    {
                        None
                    } else {
                        Some(value.into())
                    }
                }
                (_, "href") | (_, "src") | (_, "cite") | (_, "background") => {
                    if lower.starts_with("data:") || lower.starts_with("cid:") {
                        None
                    } else {
                        Some(value.into())
                    }
                }
                _ => Some(value.into()),
            }
        })
        .clean(html)
        .to_string();
    Sanitized {
        html: cleaned,
        remote_images_blocked: blocked.load(Ordering::Relaxed),
    }
}
