//! Suite containment: the directory a scenario file, and every file it names, must stay inside ([`Reach`], [`Suite`]).

use std::path::{Path, PathBuf};

/// Where the files a scenario names may be.
///
/// A scenario file from somebody else (a pull request that CI runs) must not
/// be able to read the machine's files: `config: /etc/shadow` would put the
/// first line of that file into the error message. [`Reach::Within`] confines
/// every path a scenario names — `config`, `fixtures`, and a signing-key file
/// its configuration names — and the scenario file itself to one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Any file the process can read.
    Anywhere,
    /// Only files inside this directory, after symbolic links are followed.
    Within(Suite),
}

/// A suite's root directory: what [`Reach::Within`] confines a scenario to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The directory as given, for messages.
    shown: PathBuf,
    /// It made absolute, `..` removed without following links.
    lexical: PathBuf,
    /// It with symbolic links followed.
    canonical: PathBuf,
}

impl Suite {
    /// The suite whose root is the directory `dir`.
    ///
    /// # Errors
    ///
    /// When `dir` does not exist or cannot be resolved.
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<Suite> {
        let dir = dir.as_ref();
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        Ok(Suite { shown: dir.to_owned(), lexical: lexical(dir)?, canonical: dir.canonicalize()? })
    }

    /// The suite a path given to `leakproof run` stands for. A relative path
    /// belongs to the first directory it names: `scenarios/attacks/` and
    /// `scenarios/identity/x.yaml` are both in the suite `scenarios`, so their
    /// scenarios may name `../configs/default.yaml`, and nothing above
    /// `scenarios` (a checkout's `.git`, say). Any other path (absolute, or
    /// starting with `..`) is confined to itself: a directory is its own root,
    /// a file's root is the directory it is in. What a run is given is the
    /// command line's choice, never the scenario files'.
    ///
    /// # Errors
    ///
    /// When the directory does not exist or cannot be resolved.
    pub fn of(path: &Path) -> std::io::Result<Suite> {
        use std::path::Component;
        let mut components = path.components().skip_while(|c| matches!(c, Component::CurDir));
        if let Some(Component::Normal(first)) = components.next()
            && components.next().is_some()
        {
            return Suite::new(first);
        }
        if std::fs::metadata(path).is_ok_and(|metadata| metadata.is_dir()) {
            Suite::new(path)
        } else {
            Suite::new(path.parent().unwrap_or_else(|| Path::new(".")))
        }
    }

    /// The root directory, as given.
    pub fn root(&self) -> &Path {
        &self.shown
    }

    /// `path`'s name the same on every machine: the suite directory's own name, then the path
    /// inside it (`scenarios/identity/match.yaml`, whether the suite was given as `scenarios`
    /// or as `/home/ci/checkout/scenarios`). A path outside the suite is named as given.
    pub fn stable_name(&self, path: &Path) -> String {
        let root = self.canonical.file_name().map(Path::new).unwrap_or(Path::new(""));
        match lexical(path).ok().as_deref().and_then(|p| p.strip_prefix(&self.lexical).ok()) {
            Some(inside) => root.join(inside).to_string_lossy().replace('\\', "/"),
            None => path.to_string_lossy().into_owned(),
        }
    }

    /// Why `path` (as the scenario wrote it: `written`) is not inside the
    /// suite, if it is not. Nothing outside is opened: a path that leaves the
    /// suite as written is refused before the file system is asked, and a
    /// path inside is resolved (symbolic links followed) and checked again.
    pub(super) fn refuses(&self, written: &str, path: &Path) -> Option<String> {
        let outside = |shown: String| {
            Some(format!(
                "{shown} is outside the suite's directory {}: a scenario may only name files inside it \
                 (`--allow-outside-suite` allows others)",
                self.shown.display()
            ))
        };
        let Ok(absolute) = lexical(path) else { return outside(format!("{written:?}")) };
        if !absolute.starts_with(&self.lexical) {
            return outside(format!("{written:?}"));
        }
        match path.canonicalize() {
            // Not there: reading it says so.
            Err(_) => None,
            Ok(real) if real.starts_with(&self.canonical) => None,
            Ok(real) => outside(format!("{written:?} (a symbolic link to {})", real.display())),
        }
    }
}

/// `path` made absolute, with `.` and `..` resolved as written (links not followed).
fn lexical(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path)?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}
