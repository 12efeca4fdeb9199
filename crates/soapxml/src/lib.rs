//! A tiny namespace-aware XML tree over quick-xml, with the EWS namespaces: enough to read SOAP
//! messages. Shared by the EWS client (`mailsync`) and the simulator (`exchange-sim`); the
//! protocol knowledge stays in each of them, so they can still disagree where it matters.
//!
//! Elements are matched by (namespace URI, local name), never by prefix: clients are free to pick
//! any prefix (or a default namespace), and real Exchange accepts all of them.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";

/// Deep documents are refused so a hostile request cannot exhaust the stack or memory.
const MAX_DEPTH: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("XML nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("XML document has no root element")]
    Empty,
}

impl From<quick_xml::Error> for XmlError {
    fn from(e: quick_xml::Error) -> Self {
        XmlError::Malformed(e.to_string())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The text content, trimmed: ids, codes and numbers arrive with surrounding whitespace.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The text content exactly as sent, for values whose spaces are part of them (a folder's
    /// display name).
    pub fn raw_text(&self) -> &str {
        &self.text
    }

    /// Follows a path of (namespace, local name) steps from this element.
    pub fn path(&self, steps: &[(&str, &str)]) -> Option<&Element> {
        let mut cur = self;
        for (ns, name) in steps {
            cur = cur.child(ns, name)?;
        }
        Some(cur)
    }
}

pub fn parse(xml: &[u8]) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_reader(xml);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let (res, ev) = reader.read_resolved_event_into(&mut buf)?;
        match ev {
            Event::Start(e) | Event::Empty(e) if stack.len() >= MAX_DEPTH && !e.is_empty() => {
                return Err(XmlError::TooDeep);
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let ns = match res {
                    ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(p) => {
                        return Err(XmlError::Malformed(format!(
                            "undeclared prefix {}",
                            String::from_utf8_lossy(&p)
                        )))
                    }
                };
                let mut el = Element {
                    ns,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                for a in e.attributes() {
                    let a = a.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    let key = a.key.as_ref();
                    if key == b"xmlns" || key.starts_with(b"xmlns:") {
                        continue;
                    }
                    let value = a.unescape_value()?.into_owned();
                    el.attrs.push((
                        String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                        value,
                    ));
                }
                if matches!(ev, Event::Empty(_)) {
                    if stack.is_empty() {
                        return Ok(el);
                    }
                    attach(&mut stack, el)?;
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(XmlError::Malformed("unbalanced end tag".into()));
                };
                if stack.is_empty() {
                    return Ok(el);
                }
                attach(&mut stack, el)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.unescape()?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => return Err(XmlError::Empty),
            _ => {}
        }
        buf.clear();
    }
}

fn attach(stack: &mut [Element], el: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(el);
            Ok(())
        }
        None => Err(XmlError::Malformed("empty root element".into())),
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_raw_text_is_not() -> Result<(), XmlError> {
        let el = parse(b"<a>  two  words \n</a>")?;
        assert_eq!(el.text(), "two  words");
        assert_eq!(el.raw_text(), "  two  words \n");
        Ok(())
    }
}
