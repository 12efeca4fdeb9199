//! HTML reduced to the text a reader sees: words apart where the page shows them apart, blocks on
//! lines of their own, nothing of style sheets, scripts or the title.
//!
//! The reduction runs on html5ever's tokenizer (the one ammonia uses), so entities, unclosed and
//! misnested tags read the way browsers read them. An unclosed `<head>` swallows nothing: only
//! the contents of raw-text elements (`style`, `script`...) and of `title` are left out.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements that start and end a line of their own.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Elements whose contents are never shown as text. `noframes` and `noembed` are kept: frames and
/// embeds never load from mail, so their fallback text is what a reader gets.
const HIDDEN: &[&str] = &[
    "iframe", "object", "script", "style", "template", "title", "xmp",
];

/// The text of an HTML document or fragment.
pub fn html_text(html: &str) -> String {
    let sink = TextSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let out = tokenizer.sink.out.borrow();
    tidy(&out)
}

#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    /// The name of the raw-text element being skipped, while inside one.
    hidden: RefCell<Option<String>>,
    /// Depth inside `<pre>`, where whitespace is kept.
    pre: RefCell<usize>,
}

impl TextSink {
    fn push_text(&self, text: &str) {
        let mut out = self.out.borrow_mut();
        if *self.pre.borrow() > 0 {
            out.push_str(text);
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() && c != '\u{a0}' {
                if !out.ends_with([' ', '\n']) && !out.is_empty() {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        }
    }

    fn break_line(&self) {
        let mut out = self.out.borrow_mut();
        while out.ends_with(' ') {
            out.pop();
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    }

    fn separate(&self) {
        let mut out = self.out.borrow_mut();
        if !out.is_empty() && !out.ends_with([' ', '\n', '\t']) {
            out.push(' ');
        }
    }

    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        match tag.kind {
            TagKind::StartTag => {
                if HIDDEN.contains(&name) && !tag.self_closing {
                    *self.hidden.borrow_mut() = Some(name.to_owned());
                    return match name {
                        "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                        "title" => TokenSinkResult::RawData(RawKind::Rcdata),
                        "template" | "object" => TokenSinkResult::Continue,
                        _ => TokenSinkResult::RawData(RawKind::Rawtext),
                    };
                }
                match name {
                    "br" => {
                        let mut out = self.out.borrow_mut();
                        while out.ends_with(' ') {
                            out.pop();
                        }
                        out.push('\n');
                    }
                    "pre" => {
                        self.break_line();
                        *self.pre.borrow_mut() += 1;
                    }
                    "td" | "th" => self.separate(),
                    "img" => self.separate(),
                    _ if BLOCKS.contains(&name) => self.break_line(),
                    _ => {}
                }
            }
            TagKind::EndTag => {
                let closes_hidden = self.hidden.borrow().as_deref() == Some(name);
                if closes_hidden {
                    *self.hidden.borrow_mut() = None;
                    return TokenSinkResult::Continue;
                }
                match name {
                    "pre" => {
                        let mut pre = self.pre.borrow_mut();
                        *pre = pre.saturating_sub(1);
                        drop(pre);
                        self.break_line();
                    }
                    "td" | "th" => self.separate(),
                    "p" => {
                        self.break_line();
                    }
                    _ if BLOCKS.contains(&name) => self.break_line(),
                    _ => {}
                }
            }
        }
        TokenSinkResult::Continue
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => return self.tag(&tag),
            Token::CharacterTokens(text) if self.hidden.borrow().is_none() => {
                self.push_text(&text);
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Lines trimmed, runs of blank lines made one, no-break spaces made spaces.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.replace('\u{a0}', " ");
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank > 1 {
                out.push('\n');
            }
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_elements_never_glue_words() {
        assert_eq!(
            html_text("<b>Refinance</b> to get <i>lower</i>\n<a href=x>rates</a>"),
            "Refinance to get lower rates"
        );
        assert_eq!(
            html_text("<font face=Arial>Free</font>\r\n<span>quote</span>"),
            "Free quote"
        );
        // Cells of a row are apart even with no whitespace between them.
        assert_eq!(
            html_text(
                "<table><tr><td>Name</td><td>Price</td></tr><tr><td>A</td><td>1</td></tr></table>"
            ),
            "Name Price\nA 1"
        );
        // What a browser shows as one word stays one.
        assert_eq!(html_text("<b>Re</b>finance"), "Refinance");
    }

    #[test]
    fn blocks_are_lines_and_entities_are_characters() {
        assert_eq!(
            html_text("<h2>Apollo launch</h2><p>The telemetry &amp; the&nbsp;crew</p><ul><li>one</li><li>two</li></ul>x<br>y"),
            "Apollo launch\nThe telemetry & the crew\none\ntwo\nx\ny"
        );
    }

    #[test]
    fn an_unclosed_head_does_not_swallow_the_body() {
        let html = "<html><head><title>Weekly offer</title><style>p{color:red}</style>\
                    <meta name=x><body><p>Visible words</p><script>var hidden=1;</script></body>";
        assert_eq!(html_text(html), "Visible words");
        assert_eq!(
            html_text("<head><title>t</title>Body text without a body tag"),
            "Body text without a body tag"
        );
    }

    #[test]
    fn style_and_script_contents_never_leak() {
        let html = "<style>a < b { x: '</p>' }</style>kept<script>if (a<b) {document.write('<b>no</b>')}</script> too";
        assert_eq!(html_text(html), "kept too");
        assert_eq!(html_text("<!-- a comment -->text"), "text");
    }

    #[test]
    fn preformatted_text_keeps_its_lines() {
        assert_eq!(html_text("<pre>a  b\nc</pre>d"), "a  b\nc\nd");
    }
}
