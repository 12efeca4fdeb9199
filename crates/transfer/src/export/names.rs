//! File names from what people typed: folder names and subjects may hold `/`, `..`, control
//! characters, names Windows reserves, or be thousands of characters long. None of that may
//! leave the bag's `data/` folder or fail to unpack.

use std::collections::HashSet;

/// The longest file or folder name written, in bytes (most file systems allow 255).
const MAX_SEGMENT: usize = 120;

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One path segment: separators, control and Windows-forbidden characters become `_`, leading
/// and trailing dots and spaces go, reserved device names get a `_` in front, and the result is
/// cut to a safe length on a character boundary. Never empty, never `.` or `..`.
pub fn segment(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '%' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_SEGMENT {
            break;
        }
        out.push(c);
    }
    let out = out.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if out.is_empty() {
        return "_".to_owned();
    }
    let stem = out.split('.').next().unwrap_or(out);
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return format!("_{out}");
    }
    out.to_owned()
}

/// A relative path of safe segments joined by `/`.
pub fn path<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    segments
        .into_iter()
        .map(segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Names already given inside one archive, compared without case (as Windows and macOS do):
/// a second `Report.eml` becomes `Report (2).eml`.
#[derive(Debug, Default)]
pub struct Unique {
    taken: HashSet<String>,
}

impl Unique {
    pub fn claim(&mut self, wanted: &str) -> String {
        if self.taken.insert(wanted.to_lowercase()) {
            return wanted.to_owned();
        }
        let file_start = wanted.rfind('/').map_or(0, |i| i + 1);
        let (stem, ext) = match wanted[file_start..].rfind('.') {
            Some(dot) if dot > 0 => wanted.split_at(file_start + dot),
            _ => (wanted, ""),
        };
        (2..)
            .map(|n| format!("{stem} ({n}){ext}"))
            .find(|candidate| self.taken.insert(candidate.to_lowercase()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_or_break_a_file_system() {
        assert_eq!(segment("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(segment(".."), "_");
        assert_eq!(segment("   "), "_");
        assert_eq!(segment("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
        assert_eq!(segment("line\r\nbreak\0"), "line__break_");
        assert_eq!(segment("CON"), "_CON");
        assert_eq!(segment("nul.txt"), "_nul.txt");
        assert_eq!(segment("Console"), "Console");
        assert_eq!(segment(" Inbox. "), "Inbox");
        assert_eq!(segment("100%"), "100_");
        let long = "ü".repeat(200);
        let cut = segment(&long);
        assert!(cut.len() <= MAX_SEGMENT && cut.chars().all(|c| c == 'ü'));
        assert_eq!(path(["Inbox", "../x", "Sub"]), "Inbox/_x/Sub");
    }

    #[test]
    fn names_are_unique_without_case() {
        let mut names = Unique::default();
        assert_eq!(
            names.claim("data/Inbox/Report.eml"),
            "data/Inbox/Report.eml"
        );
        assert_eq!(
            names.claim("data/Inbox/report.eml"),
            "data/Inbox/report (2).eml"
        );
        assert_eq!(
            names.claim("data/Inbox/Report.eml"),
            "data/Inbox/Report (3).eml"
        );
        assert_eq!(names.claim("data/Inbox/noext"), "data/Inbox/noext");
        assert_eq!(names.claim("data/Inbox/noext"), "data/Inbox/noext (2)");
        assert_eq!(names.claim("data/a.b/c"), "data/a.b/c");
        assert_eq!(names.claim("data/a.b/c"), "data/a.b/c (2)");
    }
}
