//! Words for Latin-like scripts, one token per character for CJK (which has no spaces between
//! words): a query in CJK becomes a phrase of its characters, which finds it exactly. Lowercased
//! and accent-folded, so "Gruesse", "grüsse" and "GRÜSSE" meet on "grusse".

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

pub const TOKENIZER: &str = "mail";
/// Pairs of adjacent words ([`PairsTokenizer`]), for the body's phrase index.
pub const PAIRS_TOKENIZER: &str = "mail_pairs";
/// Between the two words of a pair: never part of a word.
const PAIR_JOIN: char = ' ';

pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MailTokenizer)
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct MailTokenizer;

pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0x20000..=0x2FFFF)
}

impl Tokenizer for MailTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut word_start: Option<usize> = None;
        let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
            let position = tokens.len();
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to].to_owned(),
                position_length: 1,
            });
        };
        for (i, c) in text.char_indices() {
            if is_cjk(c) {
                if let Some(s) = word_start.take() {
                    push(&mut tokens, s, i);
                }
                push(&mut tokens, i, i + c.len_utf8());
            } else if c.is_alphanumeric() {
                word_start.get_or_insert(i);
            } else if let Some(s) = word_start.take() {
                push(&mut tokens, s, i);
            }
        }
        if let Some(s) = word_start {
            push(&mut tokens, s, text.len());
        }
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Each two words that stand next to each other after analysis (positions n and n + 1), as one
/// token "first second". A phrase of two words is then one term to look up instead of every
/// position of both words: "deadline review" in mail where both words are everywhere costs a
/// posting list, not a position check in every message. A word dropped by the analysis (too
/// long) breaks the pair, exactly as it breaks a phrase.
#[derive(Clone)]
pub struct PairsTokenizer {
    words: TextAnalyzer,
}

impl Default for PairsTokenizer {
    fn default() -> Self {
        PairsTokenizer { words: analyzer() }
    }
}

impl Tokenizer for PairsTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut words = self.words.token_stream(text);
        let mut analysed = Vec::new();
        while words.advance() {
            analysed.push(words.token().clone());
        }
        VecTokenStream {
            tokens: pair_tokens(&analysed),
            next: 0,
        }
    }
}

/// A text's tokens as the body field indexes them, with their positions: analysed once, so
/// that the body and its pairs are indexed from the same pass.
pub fn analysed(text: &str) -> Vec<Token> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().clone());
    }
    out
}

/// The pairs of adjacent words among analysed tokens ([`PairsTokenizer`]).
pub fn pair_tokens(words: &[Token]) -> Vec<Token> {
    let mut tokens = Vec::new();
    for w in words.windows(2) {
        let (first, second) = (&w[0], &w[1]);
        if first.position + 1 != second.position {
            continue;
        }
        tokens.push(Token {
            offset_from: first.offset_from,
            offset_to: second.offset_to,
            position: tokens.len(),
            text: pair(&first.text, &second.text),
            position_length: 1,
        });
    }
    tokens
}

/// The pair terms of a phrase's analysed words, in order: what [`PairsTokenizer`] indexed for
/// every place the phrase occurs.
pub fn pairs(words: &[String]) -> Vec<String> {
    words.windows(2).map(|w| pair(&w[0], &w[1])).collect()
}

/// One pair term, as indexed and as looked up.
fn pair(first: &str, second: &str) -> String {
    let mut pair = String::with_capacity(first.len() + 1 + second.len());
    pair.push_str(first);
    pair.push(PAIR_JOIN);
    pair.push_str(second);
    pair
}

/// The analysed tokens of a text, as the index sees them.
pub fn tokens(text: &str) -> Vec<String> {
    analysed(text).into_iter().map(|t| t.text).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_cjk_is_split_per_character() {
        assert_eq!(
            tokens("Grüße, CAFÉ-au-lait!"),
            vec!["grusse", "cafe", "au", "lait"]
        );
        assert_eq!(
            tokens("会議は東京で"),
            vec!["会", "議", "は", "東", "京", "で"]
        );
        assert_eq!(
            tokens("Meeting会議2024"),
            vec!["meeting", "会", "議", "2024"]
        );
        assert_eq!(tokens("ann@example.com"), vec!["ann", "example", "com"]);
    }

    fn indexed_pairs(text: &str) -> Vec<String> {
        let mut tokenizer = PairsTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn pairs_join_adjacent_words_only() {
        assert_eq!(
            indexed_pairs("The Deadline, review!"),
            vec!["the deadline", "deadline review"]
        );
        assert_eq!(indexed_pairs("会議"), vec!["会 議"]);
        assert!(indexed_pairs("one").is_empty());
        // A word too long to index breaks the pair, as it breaks a phrase.
        let long = "x".repeat(80);
        assert_eq!(
            indexed_pairs(&format!("deadline {long} review")),
            Vec::<String>::new()
        );
        assert_eq!(
            pairs(&tokens("Deadline review soon")),
            vec!["deadline review", "review soon"]
        );
    }
}
