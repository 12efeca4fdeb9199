//! A BagIt bag (RFC 8493) inside a zip, written as a stream: payload files go into `data/`
//! as they come, each hashed with SHA-256 while it is written, and the tag files
//! (`bagit.txt`, `bag-info.txt`, `manifest-sha256.txt`, `tagmanifest-sha256.txt`) follow at the
//! end. A payload file can also be compressed and hashed ahead, on any thread ([`prepare`]), and
//! then copied into the zip as it is ([`BagWriter::add_prepared`]): so several cores deflate
//! while one writes. Memory holds one manifest line per file, never a file. Entries that may pass 4 GiB are
//! written with ZIP64 sizes; the zip itself switches to ZIP64 when it grows past 4 GiB or 65,535
//! entries.

use std::io::{Cursor, Seek, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::names::Unique;

#[derive(Debug, thiserror::Error)]
pub enum BagError {
    #[error("writing the export file failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the export file failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("a bag file was written without being started")]
    NotStarted,
}

/// What the bag holds, for the audit log and the job's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagSummary {
    pub files: u64,
    pub octets: u64,
    /// SHA-256 of `manifest-sha256.txt`: one value that vouches for every payload file.
    pub manifest_sha256: String,
}

struct OpenFile {
    path: String,
    hasher: Sha256,
}

pub struct BagWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    root: String,
    names: Unique,
    manifest: Vec<(String, String)>,
    octets: u64,
    open: Option<OpenFile>,
}

/// RFC 8493 2.1.3: a manifest path escapes `%`, CR and LF.
fn manifest_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn hex(digest: impl AsRef<[u8]>) -> String {
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A payload file compressed and hashed ahead: a one-entry zip of it, its SHA-256 and size.
pub struct Prepared {
    zip: Vec<u8>,
    sha256: String,
    octets: u64,
}

/// Deflates and hashes one payload file, on whatever thread calls it (files under 4 GiB: a
/// larger one goes through [`BagWriter::add`]).
pub fn prepare(bytes: &[u8]) -> Result<Prepared, BagError> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len() / 2 + 256)));
    zip.start_file("f", options(false))?;
    zip.write_all(bytes)?;
    Ok(Prepared {
        zip: zip.finish()?.into_inner(),
        sha256: hex(Sha256::digest(bytes)),
        octets: bytes.len() as u64,
    })
}

fn options(large: bool) -> SimpleFileOptions {
    // Level 1: mail compresses nearly as well as at 6, several times faster.
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(large)
}

impl<W: Write + Seek> BagWriter<W> {
    /// `bag_name` is the folder the bag unpacks into (made safe).
    pub fn new(inner: W, bag_name: &str) -> Self {
        BagWriter {
            zip: ZipWriter::new(inner),
            root: super::names::segment(bag_name),
            names: Unique::default(),
            manifest: Vec::new(),
            octets: 0,
            open: None,
        }
    }

    /// Starts a payload file at `data/<relative>` (segments already safe, see `names`); a name
    /// taken before gets a number. `large`: the file may pass 4 GiB. Returns its path in the bag.
    pub fn start(&mut self, relative: &str, large: bool) -> Result<String, BagError> {
        self.end()?;
        let path = self.names.claim(&format!("data/{relative}"));
        self.zip
            .start_file(format!("{}/{path}", self.root), options(large))?;
        self.open = Some(OpenFile {
            path: path.clone(),
            hasher: Sha256::new(),
        });
        Ok(path)
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), BagError> {
        let open = self.open.as_mut().ok_or(BagError::NotStarted)?;
        open.hasher.update(bytes);
        self.zip.write_all(bytes)?;
        self.octets += bytes.len() as u64;
        Ok(())
    }

    /// Ends the open payload file, if any.
    pub fn end(&mut self) -> Result<(), BagError> {
        if let Some(open) = self.open.take() {
            self.manifest.push((hex(open.hasher.finalize()), open.path));
        }
        Ok(())
    }

    /// A payload file [`prepare`]d ahead, copied in without compressing it again. Returns its
    /// path in the bag, as [`BagWriter::add`] does.
    pub fn add_prepared(&mut self, relative: &str, prepared: Prepared) -> Result<String, BagError> {
        self.end()?;
        let path = self.names.claim(&format!("data/{relative}"));
        let mut one = zip::ZipArchive::new(Cursor::new(prepared.zip))?;
        let file = one.by_index_raw(0)?;
        self.zip
            .raw_copy_file_rename(file, format!("{}/{path}", self.root))?;
        self.manifest.push((prepared.sha256, path.clone()));
        self.octets += prepared.octets;
        Ok(path)
    }

    /// A whole payload file at once.
    pub fn add(&mut self, relative: &str, bytes: &[u8]) -> Result<String, BagError> {
        let path = self.start(relative, bytes.len() as u64 >= u64::from(u32::MAX))?;
        self.write(bytes)?;
        self.end()?;
        Ok(path)
    }

    pub fn files(&self) -> u64 {
        self.manifest.len() as u64 + u64::from(self.open.is_some())
    }

    /// Writes the tag files and the zip's directory. `info` goes into `bag-info.txt` after the
    /// fields every bag has (agent, date, Payload-Oxum).
    pub fn finish(
        mut self,
        agent: &str,
        bagging_date: &str,
        info: &[(&str, String)],
    ) -> Result<(W, BagSummary), BagError> {
        self.end()?;
        let mut tags: Vec<(String, Vec<u8>)> = Vec::new();
        tags.push((
            "bagit.txt".into(),
            b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
        ));
        let one_line = |v: &str| v.replace(['\r', '\n'], " ");
        let mut bag_info = format!(
            "Bag-Software-Agent: {}\nBagging-Date: {}\nPayload-Oxum: {}.{}\n",
            one_line(agent),
            one_line(bagging_date),
            self.octets,
            self.manifest.len()
        );
        for (label, value) in info {
            bag_info.push_str(&format!("{}: {}\n", one_line(label), one_line(value)));
        }
        tags.push(("bag-info.txt".into(), bag_info.into_bytes()));
        let mut manifest = String::new();
        for (digest, path) in &self.manifest {
            manifest.push_str(&format!("{digest}  {}\n", manifest_path(path)));
        }
        let manifest_sha256 = hex(Sha256::digest(manifest.as_bytes()));
        tags.push(("manifest-sha256.txt".into(), manifest.into_bytes()));
        let mut tag_manifest = String::new();
        for (name, bytes) in &tags {
            tag_manifest.push_str(&format!("{}  {name}\n", hex(Sha256::digest(bytes))));
        }
        tags.push(("tagmanifest-sha256.txt".into(), tag_manifest.into_bytes()));
        for (name, bytes) in &tags {
            self.zip
                .start_file(format!("{}/{name}", self.root), options(false))?;
            self.zip.write_all(bytes)?;
        }
        let files = self.manifest.len() as u64;
        let inner = self.zip.finish()?;
        Ok((
            inner,
            BagSummary {
                files,
                octets: self.octets,
                manifest_sha256,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    #[test]
    fn a_bag_lists_every_payload_file_with_its_digest() {
        let mut bag = BagWriter::new(Cursor::new(Vec::new()), "export 7");
        bag.add("Inbox/Hello.eml", b"Subject: hi\r\n\r\nbody")
            .unwrap();
        bag.add_prepared("Inbox/Hello.eml", prepare(b"second").unwrap())
            .unwrap();
        bag.start("Inbox.mbox", true).unwrap();
        bag.write(b"From a\n").unwrap();
        bag.write(b"x\n").unwrap();
        let (cursor, summary) = bag
            .finish(
                "Sync & Recover",
                "2026-12-03",
                &[("External-Identifier", "job 7".into())],
            )
            .unwrap();
        assert_eq!(summary.files, 3);
        assert_eq!(summary.octets, 19 + 6 + 9);

        let mut zip = zip::ZipArchive::new(Cursor::new(cursor.into_inner())).unwrap();
        let read = |zip: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str| {
            let mut s = String::new();
            zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
            s
        };
        let manifest = read(&mut zip, "export 7/manifest-sha256.txt");
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("  data/Inbox/Hello.eml"));
        assert!(lines[1].ends_with("  data/Inbox/Hello (2).eml"));
        assert_eq!(
            lines[2],
            format!("{}  data/Inbox.mbox", hex(Sha256::digest(b"From a\nx\n")))
        );
        assert_eq!(
            summary.manifest_sha256,
            hex(Sha256::digest(manifest.as_bytes()))
        );
        let info = read(&mut zip, "export 7/bag-info.txt");
        assert!(info.contains("Payload-Oxum: 34.3\n"), "{info}");
        assert!(info.contains("External-Identifier: job 7\n"));
        let tags = read(&mut zip, "export 7/tagmanifest-sha256.txt");
        assert_eq!(tags.lines().count(), 3);
        assert_eq!(
            read(&mut zip, "export 7/data/Inbox/Hello (2).eml"),
            "second"
        );
    }

    #[test]
    fn manifest_paths_escape_percent_and_line_breaks() {
        assert_eq!(manifest_path("data/100%\n"), "data/100%25%0A");
    }
}
