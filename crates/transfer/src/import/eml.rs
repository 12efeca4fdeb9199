//! A folder tree of `.eml` files (or other extensions given in the options).

use std::path::{Path, PathBuf};

use super::{io_err, read_file, Found, ImportOptions, ProgressFn, Sink};
use crate::TransferError;

/// Regular files under `dir`, sorted, with their sizes; symlinks are not followed.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> Result<(), TransferError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((entry.path(), len));
        }
    }
    Ok(())
}

/// A folder of message files: sub-folders become folders, files at the top go to the root folder.
pub(super) async fn import(
    sink: &mut Sink<'_>,
    root: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), TransferError> {
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.retain(|(p, _)| {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .unwrap_or_default();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        !hidden && options.eml_extensions.contains(&ext)
    });
    sink.progress.bytes_total = files.iter().map(|(_, l)| l).sum();
    for (file, len) in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let mut folder: Vec<String> = relative
            .parent()
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if folder.is_empty() {
            folder.push(options.root_folder.clone());
        }
        sink.progress.bytes_read += len;
        let location = file.display().to_string();
        match read_file(&file) {
            Ok((raw, time)) => {
                let found = Found {
                    raw,
                    is_read: false,
                    flags: Vec::new(),
                    fallback_date: time,
                };
                sink.add(&folder, found, location, progress).await?
            }
            Err(e) => sink.unreadable(location, e.to_string(), progress),
        }
    }
    Ok(())
}
