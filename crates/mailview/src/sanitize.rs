use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::css::{sanitize_declarations, sanitize_style_sheet};

/// Sanitised HTML and what was taken out that the reader should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    pub html: String,
    pub remote_images_blocked: usize,
    /// The http(s) addresses of the remote images, each once, in the order they appear: what
    /// "Show images" may fetch.
    pub remote_images: Vec<String>,
}

/// Presentational attributes that old and new mail relies on; none of them can run code.
/// `class` and `id` are what a kept style sheet selects by.
const MAIL_ATTRIBUTES: &[&str] = &[
    "style",
    "class",
    "id",
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
/// URL that replaces a `cid:` reference to it; other `cid:` references are dropped. `shown`
/// maps remote image addresses the reader asked to see to the `data:` URL of what was fetched;
/// every other remote image is removed and counted.
pub fn sanitize_html(
    html: &str,
    inline_images: HashMap<String, String>,
    shown: &HashMap<String, String>,
) -> Sanitized {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let remote = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&remote);
    let shown = shown.clone();
    let mut tags: HashSet<&str> = ammonia::Builder::default().clone_tags();
    tags.extend(["font", "center"]);
    let cleaned = ammonia::Builder::default()
        .tags(tags)
        // A document's title is not part of what it shows.
        .add_clean_content_tags(["title"])
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
                    } else if lower.starts_with("http://") || lower.starts_with("https://") {
                        let address = value.trim().to_owned();
                        if let Ok(mut seen) = seen.lock() {
                            if !seen.contains(&address) {
                                seen.push(address.clone());
                            }
                        }
                        match shown.get(&address) {
                            Some(data) => Some(data.clone().into()),
                            None => {
                                counter.fetch_add(1, Ordering::Relaxed);
                                None
                            }
                        }
                    } else {
                        counter.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                }
                // Styles may not fetch anything (the frame's policy blocks it too): the unsafe
                // declarations go, the layout stays.
                (_, "style") => sanitize_declarations(value).map(Into::into),
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
    // ammonia drops <style> blocks with their contents; their sanitised rules go back in front.
    let sheet = sanitize_style_sheet(&style_blocks(html));
    let html = if sheet.is_empty() {
        cleaned
    } else {
        format!("<style>{sheet}</style>{cleaned}")
    };
    let remote_images = remote.lock().map(|r| r.clone()).unwrap_or_default();
    Sanitized {
        html,
        remote_images_blocked: blocked.load(Ordering::Relaxed),
        remote_images,
    }
}

/// The contents of every `<style>` element, in order. Like an HTML parser, a style element's text
/// runs to the first `</style`.
fn style_blocks(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut sheets = String::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find("<style").map(|i| at + i) {
        let after_name = open + "<style".len();
        let name_ends = lower[after_name..]
            .chars()
            .next()
            .is_some_and(|c| c == '>' || c == '/' || c.is_ascii_whitespace());
        let Some(tag_end) = lower[after_name..].find('>').map(|i| after_name + i + 1) else {
            break;
        };
        if !name_ends {
            at = tag_end;
            continue;
        }
        let close = lower[tag_end..]
            .find("</style")
            .map_or(html.len(), |i| tag_end + i);
        sheets.push_str(&html[tag_end..close]);
        sheets.push('\n');
        at = close;
    }
    sheets
}
