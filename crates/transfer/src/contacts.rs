//! Contacts as the portal lists them (name, addresses), read from vCard or Microsoft Graph
//! contact JSON. Lenient: anything unreadable just leaves a field empty.

use archive::ItemMeta;
use serde_json::Value;

use crate::content_line::{content_lines, strip_mailto};

pub fn vcf_meta(data: &[u8]) -> ItemMeta {
    let mut meta = ItemMeta::default();
    let mut structured = String::new();
    for (name, _, value) in content_lines(data) {
        match name.as_str() {
            "FN" if meta.subject.is_empty() => meta.subject = value,
            "N" if structured.is_empty() => {
                // Family;Given;Additional;Prefix;Suffix -> "Given Family"
                let parts: Vec<&str> = value.split(';').collect();
                let given = parts.get(1).copied().unwrap_or("");
                let family = parts.first().copied().unwrap_or("");
                structured = format!("{given} {family}").trim().to_string();
            }
            "EMAIL" => {
                let address = strip_mailto(&value);
                if meta.sender_address.is_empty() {
                    meta.sender_address = address;
                } else {
                    meta.to.push(address);
                }
            }
            _ => {}
        }
    }
    if meta.subject.is_empty() {
        meta.subject = structured;
    }
    meta.sender = meta.subject.clone();
    meta
}

pub fn graph_contact_meta(data: &[u8]) -> ItemMeta {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return ItemMeta::default();
    };
    let name = v
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut emails: Vec<String> = v
        .get("emailAddresses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("address").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let first = if emails.is_empty() {
        String::new()
    } else {
        emails.remove(0)
    };
    ItemMeta {
        subject: name.clone(),
        sender: name,
        sender_address: first,
        to: emails,
        ..ItemMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_and_graph_contact_json() {
        let m =
            vcf_meta(b"BEGIN:VCARD\r\nN:Sato;Hana;;;\r\nEMAIL:hana@example.org\r\nEND:VCARD\r\n");
        assert_eq!(
            (m.subject.as_str(), m.sender_address.as_str()),
            ("Hana Sato", "hana@example.org")
        );
        let c = graph_contact_meta(
            br#"{"displayName":"Hana Sato","emailAddresses":[{"address":"hana@example.org"}]}"#,
        );
        assert_eq!(c.subject, "Hana Sato");
        assert_eq!(graph_contact_meta(b"{broken").subject, "");
    }
}
