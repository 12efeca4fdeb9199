//! A streaming mbox reader for the common variants: mboxo and mboxrd (`From ` separator lines,
//! `>From ` quoting undone the mboxrd way: one `>` removed from `>+From `) and mboxcl/mboxcl2
//! (a `Content-Length:` header is trusted when the bytes after it end at a separator or at the
//! end of the file; otherwise the reader falls back to separator lines). One message is in
//! memory at a time.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use archive::{DateSource, FallbackDate, Timestamp};

use super::{io_err, Found, ImportOptions, ProgressFn, Sink};
use crate::TransferError;

pub struct MboxMessage {
    pub raw: Vec<u8>,
    /// Byte offset of the `From ` line, for reporting.
    pub offset: u64,
    /// The date on the `From ` line (seconds since the epoch), the fallback for a message whose
    /// own headers carry none.
    pub from_line_date: Option<i64>,
}

/// `From sender@example.com Mon Jul  3 00:47:50 2001`: the date after the sender, in ctime order.
fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(line.strip_prefix(b"From ")?);
    let (_, date) = text.trim_start().split_once(char::is_whitespace)?;
    mailread::parse_date(date).map(|(unix, _)| unix)
}

pub struct MboxReader<R> {
    reader: R,
    /// The separator line that ended the previous message, which starts the next one: its
    /// offset and its date.
    next_from: Option<(u64, Option<i64>)>,
    offset: u64,
    started: bool,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(reader: R) -> Self {
        MboxReader {
            reader,
            next_from: None,
            offset: 0,
            started: false,
        }
    }

    fn read_line(&mut self, line: &mut Vec<u8>) -> io::Result<usize> {
        line.clear();
        let n = self.reader.read_until(b'\n', line)?;
        self.offset += n as u64;
        Ok(n)
    }

    /// True when what follows is the end of the file or a separator (after an optional blank line).
    fn at_boundary(&mut self) -> io::Result<bool> {
        let buf = self.reader.fill_buf()?;
        Ok(buf.is_empty()
            || buf.starts_with(b"From ")
            || buf.starts_with(b"\nFrom ")
            || buf.starts_with(b"\r\nFrom ")
            || buf == b"\n"
            || buf == b"\r\n")
    }

    fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        let mut line = Vec::with_capacity(256);
        let (start, date) = match self.next_from.take() {
            Some(next) => next,
            None => {
                // Only at the start of the file: skip blank lines, then expect a separator.
                loop {
                    let at = self.offset;
                    if self.read_line(&mut line)? == 0 {
                        return Ok(None);
                    }
                    if line.starts_with(b"From ") {
                        break (at, from_line_date(&line));
                    }
                    if self.started || !line.iter().all(|b| b.is_ascii_whitespace()) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "not an mbox file: no `From ` line at the start",
                        ));
                    }
                }
            }
        };
        self.started = true;
        let mut raw = Vec::with_capacity(64 * 1024);
        // Headers, watching for Content-Length.
        let mut content_length: Option<usize> = None;
        loop {
            if self.read_line(&mut line)? == 0 {
                return Ok(Some(MboxMessage {
                    raw,
                    offset: start,
                    from_line_date: date,
                }));
            }
            if line.starts_with(b"From ") {
                // A message with headers only.
                self.next_from = Some((self.offset - line.len() as u64, from_line_date(&line)));
                return Ok(Some(MboxMessage {
                    raw: trim_separator(raw),
                    offset: start,
                    from_line_date: date,
                }));
            }
            // mboxrd quotes every `From ` line of a message, in its header block too.
            push_unquoted(&mut raw, &line);
            if line == b"\n" || line == b"\r\n" {
                break;
            }
            if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
                content_length = std::str::from_utf8(&line[15..])
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
            }
        }
        if let Some(len) = content_length.filter(|&l| l <= 512 * 1024 * 1024) {
            let header_len = raw.len();
            raw.resize(header_len + len, 0);
            let mut filled = 0;
            while filled < len {
                let n = self.reader.read(&mut raw[header_len + filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            self.offset += filled as u64;
            raw.truncate(header_len + filled);
            if filled == len && self.at_boundary()? {
                // Trusted: skip the blank line, leave the separator for the next call.
                loop {
                    let buf = self.reader.fill_buf()?;
                    if buf.starts_with(b"From ") || buf.is_empty() {
                        break;
                    }
                    self.read_line(&mut line)?;
                }
                if !self.reader.fill_buf()?.is_empty() {
                    let at = self.offset;
                    self.read_line(&mut line)?;
                    self.next_from = Some((at, from_line_date(&line)));
                }
                return Ok(Some(MboxMessage {
                    raw,
                    offset: start,
                    from_line_date: date,
                }));
            }
        }
        // Body by separator lines.
        loop {
            let at = self.offset;
            if self.read_line(&mut line)? == 0 {
                return Ok(Some(MboxMessage {
                    raw: trim_separator(raw),
                    offset: start,
                    from_line_date: date,
                }));
            }
            if line.starts_with(b"From ") {
                self.next_from = Some((at, from_line_date(&line)));
                return Ok(Some(MboxMessage {
                    raw: trim_separator(raw),
                    offset: start,
                    from_line_date: date,
                }));
            }
            push_unquoted(&mut raw, &line);
        }
    }
}

/// A line of the message, one `>` taken off a quoted `>+From ` line (mboxrd).
fn push_unquoted(raw: &mut Vec<u8>, line: &[u8]) {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        raw.extend_from_slice(&line[1..]);
    } else {
        raw.extend_from_slice(line);
    }
}

/// The blank line before a separator belongs to the mbox, not to the message.
fn trim_separator(mut raw: Vec<u8>) -> Vec<u8> {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
    raw
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_message().transpose()
    }
}

/// An mbox file: every message goes to the root folder.
pub(super) async fn import(
    sink: &mut Sink<'_>,
    path: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), TransferError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    sink.progress.bytes_total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let folder = vec![options.root_folder.clone()];
    let mut reader = MboxReader::new(BufReader::with_capacity(256 * 1024, file));
    let mut last_offset = 0;
    loop {
        match reader.next() {
            None => break,
            Some(Ok(message)) => {
                sink.progress.bytes_read = message.offset;
                last_offset = message.offset;
                let location = format!("{}@{}", path.display(), message.offset);
                let fallback = message.from_line_date.map(|unix| FallbackDate {
                    at: Timestamp::from_unix_seconds(unix),
                    source: DateSource::MboxFromLine,
                });
                let found = Found {
                    raw: message.raw,
                    is_read: false,
                    flags: Vec::new(),
                    fallback_date: fallback,
                };
                sink.add(&folder, found, location, progress).await?;
            }
            Some(Err(e)) => {
                // A read error leaves the reader's position unknown: report and stop this file.
                sink.unreadable(
                    format!("{}@{}", path.display(), last_offset),
                    e.to_string(),
                    progress,
                );
                break;
            }
        }
    }
    sink.progress.bytes_read = sink.progress.bytes_total;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(data: &[u8]) -> Vec<Vec<u8>> {
        MboxReader::new(io::BufReader::with_capacity(16, data))
            .map(|m| m.unwrap().raw)
            .collect()
    }

    #[test]
    fn mboxo_and_mboxrd_quoting() {
        let data = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nhello\n>From the start\n>>From deeper\n> From not quoted\n\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\nbye\n";
        let msgs = read(data);
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            msgs[0],
            b"Subject: one\n\nhello\nFrom the start\n>From deeper\n> From not quoted\n"
        );
        assert_eq!(msgs[1], b"Subject: two\n\nbye\n");
    }

    #[test]
    fn mboxcl_content_length_keeps_from_lines_in_bodies() {
        let body = b"line\nFrom inside the body\nend\n";
        let data = [
            b"From a@x Mon Jan  1 00:00:00 2024\nSubject: cl\nContent-Length: ".as_slice(),
            body.len().to_string().as_bytes(),
            b"\n\n",
            body,
            b"\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: next\n\nx\n",
        ]
        .concat();
        let msgs = read(&data);
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[0].ends_with(b"\n\nline\nFrom inside the body\nend\n"),
            "{}",
            String::from_utf8_lossy(&msgs[0])
        );
        assert_eq!(msgs[1], b"Subject: next\n\nx\n");
    }

    #[test]
    fn wrong_content_length_falls_back_to_separators() {
        let data = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: liar\nContent-Length: 3\n\nhello world\n\nFrom b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\nbye\n";
        let msgs = read(data);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].ends_with(b"\n\nhello world\n"));
        assert_eq!(msgs[1], b"Subject: two\n\nbye\n");
    }

    #[test]
    fn not_an_mbox() {
        let mut r = MboxReader::new(io::BufReader::new(b"Subject: x\n\nbody\n".as_slice()));
        assert!(r.next().unwrap().is_err());
    }
}
