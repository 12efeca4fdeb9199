//! The command line's subcommands, and how they write.

pub mod archive;
pub mod blobs;
pub mod export;
pub mod jobs;
pub mod restore;
pub mod retention;
pub mod tasks;

use std::io::Write;

/// Writes one line of a command's output to standard output. When the reader has gone
/// (`sync-recover search ... | head`), the command ends quietly with success instead of
/// panicking on the broken pipe, as `println!` would.
pub fn out_line(line: std::fmt::Arguments<'_>) {
    write_out(line, true);
}

/// Writes to standard output without a line end; a closed reader ends the command quietly.
pub fn out(text: std::fmt::Arguments<'_>) {
    write_out(text, false);
}

fn write_out(text: std::fmt::Arguments<'_>, line: bool) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(text)
        .and_then(|()| {
            if line {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| if line { stdout.flush() } else { Ok(()) });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `println!` for command output, quiet on a closed pipe.
#[macro_export]
macro_rules! say {
    () => { $crate::cli::out_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::out_line(format_args!($($arg)*)) };
}
