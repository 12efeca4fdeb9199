//! Fuzzing on stable Rust. The parsers' property tests (proptest) run a few hundred cases on
//! every test run, and as many as `SR_FUZZ_CASES` asks for in a long run (README, "Fuzzing").
//! Each parser keeps seed inputs in its crate, `tests/corpus/<target>/`: the properties take
//! them as they are and mutated, so the search starts from real inputs as well as from noise.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

/// The number of cases a property runs: `default` on every test run, `SR_FUZZ_CASES` when set.
pub fn cases(default: u32) -> u32 {
    std::env::var("SR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Every file of a seed folder, in name order (a `LICENSE`, `README` or `NOTICE` file aside).
///
/// # Panics
/// When the folder is missing or empty: a property without its seeds would test nothing.
pub fn seeds(dir: impl AsRef<Path>) -> Vec<Vec<u8>> {
    let dir = dir.as_ref();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !["LICENSE", "README", "NOTICE"]
                .iter()
                .any(|skip| name.starts_with(skip))
        })
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "seed corpus {} is empty", dir.display());
    seeds
}

/// The non-empty lines of a seed file (queries, names), each a seed of its own.
pub fn seed_lines(file: impl AsRef<Path>) -> Vec<Vec<u8>> {
    let file = file.as_ref();
    let text = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let lines: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    assert!(!lines.is_empty(), "seed file {} is empty", file.display());
    lines
}

/// A seed with edits applied in order, each `(position, what, byte)`: `what` 0 replaces the byte
/// at the position, 1 inserts one, 2 removes one, 3 cuts the input there. Positions wrap around
/// the input's length, so any number makes an edit.
pub fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(position, what, byte) in edits {
        let at = position % (out.len() + 1);
        match what % 4 {
            0 if at < out.len() => out[at] = byte,
            1 => out.insert(at, byte),
            2 if at < out.len() => {
                out.remove(at);
            }
            3 => out.truncate(at),
            _ => {}
        }
    }
    out
}

/// A seed, picked at random, with up to a dozen random edits ([`mutate`]); a quarter of the
/// cases take a seed as it is.
pub fn seeded(seeds: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let seeds = Arc::new(seeds);
    let count = seeds.len();
    (
        0..count,
        prop_oneof![
            1 => Just(Vec::new()),
            3 => proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..12),
        ],
    )
        .prop_map(move |(i, edits)| mutate(&seeds[i], &edits))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_insert_remove_and_cut() {
        assert_eq!(mutate(b"abc", &[(0, 0, b'x')]), b"xbc");
        assert_eq!(mutate(b"abc", &[(3, 1, b'd')]), b"abcd");
        assert_eq!(mutate(b"abc", &[(1, 2, 0)]), b"ac");
        assert_eq!(mutate(b"abc", &[(2, 3, 0)]), b"ab");
        // Positions wrap: 7 % 4 = 3, the end.
        assert_eq!(mutate(b"abc", &[(7, 1, b'!')]), b"abc!");
        assert_eq!(mutate(b"", &[(5, 0, b'x'), (5, 2, 0)]), b"");
    }
}
