//! The document the index writer is handed.
//!
//! Not tantivy's own `TantivyDocument`: that one keeps a pre-tokenized text as JSON and parses it
//! back while indexing. The body and its word pairs come pre-tokenized (one analysis pass for
//! both), about a thousand tokens a message, and that JSON round trip took 18% of a whole import
//! and index at 20,000 messages, more than the indexing of the tokens itself. Here each value is
//! kept as it is made; the writer clones the tokens once when it reads them.

use tantivy::schema::document::Document;
use tantivy::schema::{Field, OwnedValue};
use tantivy::tokenizer::{PreTokenizedString, Token};

/// A message's fields, in the order they were added; a field may repeat (recipients,
/// attachment names).
#[derive(Debug, Default)]
pub(crate) struct MailDocument {
    values: Vec<(Field, OwnedValue)>,
}

impl MailDocument {
    pub(crate) fn add_u64(&mut self, field: Field, value: u64) {
        self.values.push((field, OwnedValue::U64(value)));
    }

    pub(crate) fn add_i64(&mut self, field: Field, value: i64) {
        self.values.push((field, OwnedValue::I64(value)));
    }

    pub(crate) fn add_text(&mut self, field: Field, text: impl Into<String>) {
        self.values.push((field, OwnedValue::Str(text.into())));
    }

    /// Tokens analysed already; the field's own tokenizer is not run on them.
    pub(crate) fn add_tokens(&mut self, field: Field, tokens: Vec<Token>) {
        self.values.push((
            field,
            OwnedValue::PreTokStr(PreTokenizedString {
                text: String::new(),
                tokens,
            }),
        ));
    }
}

impl Document for MailDocument {
    type Value<'a> = &'a OwnedValue;
    type FieldsValuesIter<'a> = FieldsValues<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        FieldsValues(self.values.iter())
    }
}

pub(crate) struct FieldsValues<'a>(std::slice::Iter<'a, (Field, OwnedValue)>);

impl<'a> Iterator for FieldsValues<'a> {
    type Item = (Field, &'a OwnedValue);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(field, value)| (*field, value))
    }
}
