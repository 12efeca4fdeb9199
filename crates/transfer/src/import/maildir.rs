//! Maildir++: dotted subfolder names and the message flags in the file names.

use std::path::{Path, PathBuf};

use super::{io_err, read_file, Found, ImportOptions, ProgressFn, Sink};
use crate::TransferError;

/// Maildir info flags (`:2,FRS`) to the read flag and flag names.
fn maildir_flags(file_name: &str) -> (bool, Vec<String>) {
    // `;` stands in for `:` where file systems forbid it (Windows, some sync tools).
    let info = file_name
        .rsplit_once(":2,")
        .or_else(|| file_name.rsplit_once(";2,"));
    let Some((_, info)) = info else {
        return (false, Vec::new());
    };
    let mut flags = Vec::new();
    let mut seen = false;
    for c in info.chars() {
        let name = match c {
            'S' => {
                seen = true;
                "seen"
            }
            'F' => "flagged",
            'R' => "answered",
            'D' => "draft",
            'T' => "deleted",
            'P' => "forwarded",
            _ => continue,
        };
        flags.push(name.to_owned());
    }
    (seen, flags)
}

pub(super) async fn import(
    sink: &mut Sink<'_>,
    root: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), TransferError> {
    // The Maildir itself is the INBOX; each `.A.B` subfolder is folder B inside A.
    let mut folders: Vec<(Vec<String>, PathBuf)> =
        vec![(vec![options.root_folder.clone()], root.to_path_buf())];
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| io_err(root, e))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(dotted) = name.strip_prefix('.') {
            if entry.path().join("cur").is_dir() || entry.path().join("new").is_dir() {
                let path: Vec<String> = dotted
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if !path.is_empty() {
                    folders.push((path, entry.path()));
                }
            }
        }
    }
    let mut files = Vec::new();
    for (folder, dir) in &folders {
        for sub in ["cur", "new"] {
            let d = dir.join(sub);
            if !d.is_dir() {
                continue;
            }
            let mut names: Vec<_> = std::fs::read_dir(&d)
                .map_err(|e| io_err(&d, e))?
                .filter_map(Result::ok)
                .collect();
            names.sort_by_key(|e| e.file_name());
            for e in names {
                if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push((folder.clone(), e.path(), len));
                }
            }
        }
    }
    sink.progress.bytes_total = files.iter().map(|(_, _, l)| l).sum();
    for (folder, file, len) in files {
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (seen, flags) = maildir_flags(&file_name);
        sink.progress.bytes_read += len;
        let location = file.display().to_string();
        match read_file(&file) {
            Ok((raw, time)) => {
                let found = Found {
                    raw,
                    is_read: seen,
                    flags,
                    fallback_date: time,
                };
                sink.add(&folder, found, location, progress).await?
            }
            Err(e) => sink.unreadable(location, e.to_string(), progress),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::import::folder_kind;
    use archive::FolderKind;

    #[test]
    fn maildir_flag_letters() {
        assert_eq!(
            maildir_flags("123.host,S=10:2,FS"),
            (true, vec!["flagged".into(), "seen".into()])
        );
        assert_eq!(maildir_flags("123.host:2,"), (false, vec![]));
        assert_eq!(
            maildir_flags("123.host,S=1;2,Sb"),
            (true, vec!["seen".into()])
        );
        assert_eq!(maildir_flags("123.host"), (false, vec![]));
        assert_eq!(folder_kind(&["INBOX".into()]), FolderKind::Inbox);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: testkit::corpus::cases(512), failure_persistence: None, ..Default::default() })]

        /// Real file names (`tests/corpus/maildir-names.txt`), as they are and mutated.
        #[test]
        fn seed_names_and_their_mutations_read_without_panic(
            name in testkit::corpus::seeded(testkit::corpus::seed_lines(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/maildir-names.txt")))
        ) {
            let _ = maildir_flags(&String::from_utf8_lossy(&name));
        }

        /// Any file name reads without a panic; the read flag is exactly an `S` among the info
        /// letters after the last `:2,` (or `;2,`), and flags name only letters that are there.
        #[test]
        fn any_file_name_reads_and_seen_means_an_s(
            base in "[ -~]{0,20}",
            separator in proptest::sample::select(vec![":2,", ";2,", ":1,", ""]),
            info in "[A-Za-z,]{0,8}",
        ) {
            let name = format!("{base}{separator}{info}");
            let (seen, flags) = maildir_flags(&name);
            let tail = name
                .rsplit_once(":2,")
                .or_else(|| name.rsplit_once(";2,"))
                .map(|(_, t)| t.to_owned());
            match tail {
                None => proptest::prop_assert_eq!((seen, flags.len()), (false, 0)),
                Some(tail) => {
                    proptest::prop_assert_eq!(seen, tail.contains('S'));
                    proptest::prop_assert!(flags.len() <= tail.chars().count());
                    proptest::prop_assert_eq!(flags.contains(&"flagged".to_owned()), tail.contains('F'));
                }
            }
        }
    }
}
