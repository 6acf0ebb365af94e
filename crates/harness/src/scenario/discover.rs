//! Discovery: the scenario files among the paths a run is given, each with the path that led to it (its suite).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use leakproof_config::yaml::LoadError;

/// Directories that hold files shared by scenarios, not scenarios: [`discover`] skips them.
pub const SHARED_DIRS: [&str; 2] = ["configs", "fixtures"];

/// The scenario files among `paths`, in run order.
///
/// A file is taken as given, whatever its extension. A directory is searched
/// recursively for `*.yaml` and `*.yml` entries, sorted by path; directories
/// named `configs` or `fixtures` ([`SHARED_DIRS`]) hold files that scenarios
/// share, not scenarios, and are skipped, as are hidden entries (`.git`) and
/// symbolic links to directories. Every other `*.yaml` entry is listed, so
/// that loading it reports what is wrong with it: a FIFO, a device or a
/// dangling symbolic link is an unusable scenario file, never silently left
/// out. Paths are listed in the order given, each file once. A path that does
/// not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    Ok(discover_suites(paths)?.into_iter().map(|file| file.path).collect())
}

/// A scenario file [`discover_suites`] found, and the path given that led to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioFile {
    /// The scenario file.
    pub path: PathBuf,
    /// The path given: the directory searched, or the file itself. Its
    /// [`Suite::of`](super::Suite::of) is the suite the file belongs to.
    pub given: PathBuf,
}

/// The scenario files among `paths`, as [`discover`] lists them, each with the path given that led to it.
pub fn discover_suites(paths: &[PathBuf]) -> Result<Vec<ScenarioFile>, LoadError> {
    let mut discovered = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        let metadata = leakproof_config::files::stat(path)
            .map_err(|source| LoadError::Read { path: path.clone(), source: source.into() })?;
        let mut files = Vec::new();
        if metadata.is_dir() {
            walk(path, &mut files)?;
            files.sort();
        } else {
            files.push(path.clone());
        }
        for file in files {
            if seen.insert(file.clone()) {
                discovered.push(ScenarioFile { path: file, given: path.clone() });
            }
        }
    }
    Ok(discovered)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| LoadError::Read { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(failed(dir))? {
        let entry = entry.map_err(failed(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(failed(&path))?;
        if file_type.is_dir() {
            if !SHARED_DIRS.contains(&name.as_ref()) {
                walk(&path, files)?;
            }
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            // A link to a directory is skipped; to anything else (or nothing), it is a scenario file.
            && !(file_type.is_symlink() && path.is_dir())
        {
            files.push(path);
        }
    }
    Ok(())
}
