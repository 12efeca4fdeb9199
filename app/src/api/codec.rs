//! How server functions' answers travel: JSON, read back from text.
//!
//! Leptos' own `Json` reads answers with `serde_json::from_slice`, while the data a page hydrates
//! from is read with `serde_json::from_str`. Each is generic over every type it reads, so the
//! browser bundle carried two readers of every view type. Reading answers as text too leaves one.

use leptos::server_fn::codec::{JsonEncoding, Post};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, like leptos' `JsonEncoding`, decoded from a `str`.
pub struct JsonText;

/// The answer encoding of every server function: `#[server(output = Json)]`.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

/// Written exactly as leptos writes it; only the reading differs.
impl<T: Serialize> Encodes<T> for JsonText {
    type Error = <JsonEncoding as Encodes<T>>::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        JsonEncoding::encode(output)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = DecodeError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|_| DecodeError::NotUtf8)?;
        serde_json::from_str(text).map_err(DecodeError::Json)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the answer is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Json(serde_json::Error),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_wrote_and_refuses_what_is_not_json_text() {
        let value = vec![(String::from("Grüße"), 3_u32)];
        let bytes = <JsonText as Encodes<_>>::encode(&value).unwrap();
        let back: Vec<(String, u32)> = JsonText::decode(bytes).unwrap();
        assert_eq!(back, value);
        let not_utf8 = <JsonText as Decodes<String>>::decode(Bytes::from_static(b"\"\xff\""));
        assert!(matches!(not_utf8, Err(DecodeError::NotUtf8)));
        let not_json = <JsonText as Decodes<String>>::decode(Bytes::from_static(b"{"));
        assert!(matches!(not_json, Err(DecodeError::Json(_))));
    }
}
