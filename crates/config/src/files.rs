//! Reading the files people name: regular files only (never a FIFO, a device or a directory), and never more than a limit.
//!
//! Every loader goes through [`read_regular`]: a FIFO named as a configuration
//! would otherwise block the reader until somebody writes to it, and a device
//! such as `/dev/zero` would be read until memory runs out. The file is opened
//! without blocking and its kind checked on the open handle, so nothing can be
//! swapped in between the check and the read.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// The most a YAML file (configuration, scenario, fixtures) may hold: 64 MiB,
/// room for a fixtures file of 100,000 generated contacts several times over.
pub const YAML_LIMIT: u64 = 64 * 1024 * 1024;

/// The most a signing-key file may hold. Keys are a few dozen bytes.
pub const KEY_LIMIT: u64 = 4 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused (it does not exist, no permission, …).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It is not a regular file.
    #[error("not a regular file (it is {kind})")]
    NotAFile {
        /// What it is instead: `a directory`, `a FIFO`, `a character device`, …
        kind: &'static str,
    },
    /// It is a symbolic link whose target does not exist.
    #[error("a symbolic link to {}, which does not exist", target.display())]
    BrokenLink {
        /// Where the link points.
        target: std::path::PathBuf,
    },
    /// It holds more than the limit.
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
}

impl From<ReadError> for io::Error {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io(error) => error,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// The bytes of the regular file at `path` (symbolic links followed), at
/// most `limit` of them.
///
/// # Errors
///
/// [`ReadError::NotAFile`] for a directory, FIFO, socket or device (checked
/// without blocking on a FIFO), [`ReadError::TooLarge`] when the file holds
/// more than `limit` bytes (also when it grows while being read), and
/// [`ReadError::Io`] for what the operating system refused.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Refused before it is opened: opening some devices (a terminal, a tape)
    // does something. The check on the open handle below is the one that counts.
    let metadata = stat(path)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile { kind: kind(&metadata) });
    }
    let file = open_without_blocking(path).map_err(|error| not_found(path, error))?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile { kind: kind(&metadata) });
    }
    if metadata.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// What to say when `path` cannot be opened: for a dangling symbolic link,
/// that its target does not exist, rather than that the link does not.
fn not_found(path: &Path, error: io::Error) -> ReadError {
    if error.kind() == io::ErrorKind::NotFound
        && let Ok(target) = std::fs::read_link(path)
    {
        return ReadError::BrokenLink { target };
    }
    ReadError::Io(error)
}

/// What `path` is (symbolic links followed), without opening it; a dangling
/// link is [`ReadError::BrokenLink`].
pub fn stat(path: &Path) -> Result<Metadata, ReadError> {
    std::fs::metadata(path).map_err(|error| not_found(path, error))
}

/// Whether `path` names a regular file (symbolic links followed), without
/// opening it.
pub fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file())
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    // It changes nothing for the regular files that pass the check. O_NOCTTY:
    // a terminal swapped in after the check never becomes ours.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

fn kind(metadata: &Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "agent: { name: Ava }\n").unwrap();
        assert_eq!(read_regular(&path, YAML_LIMIT).unwrap(), b"agent: { name: Ava }\n");
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'a'; 101]).unwrap();
        assert!(matches!(read_regular(&path, 100), Err(ReadError::TooLarge { limit: 100 })));
        assert_eq!(read_regular(&path, 101).unwrap().len(), 101);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_regular(dir.path(), YAML_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "not a regular file (it is a directory)");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        let status = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(status.success());
        // Nobody ever writes to it: a blocking open would never return.
        let error = read_regular(&path, YAML_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "not a regular file (it is a FIFO)");
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_is_named_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("a.yaml");
        std::os::unix::fs::symlink("gone.yaml", &link).unwrap();
        let error = read_regular(&link, YAML_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "a symbolic link to gone.yaml, which does not exist");
        let missing = read_regular(&dir.path().join("missing.yaml"), YAML_LIMIT).unwrap_err();
        assert!(matches!(missing, ReadError::Io(ref e) if e.kind() == io::ErrorKind::NotFound), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_before_anything_is_read() {
        let error = read_regular(Path::new("/dev/zero"), YAML_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "not a regular file (it is a character device)");
    }
}
