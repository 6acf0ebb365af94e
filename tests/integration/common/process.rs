//! Running the real `leakproof` binary: one-shot commands, scratch directories, and the agent server as a child process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// Runs `leakproof` with `args` in the crate's directory, to completion.
pub fn leakproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the leakproof binary runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch directory of this test binary's own, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after `name` and this process.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("leakproof-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `content` to `name` inside it, returning the path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `leakproof agent serve` as a child process, stopped on drop.
pub struct Served {
    child: Child,
    /// Its base URL, as it printed it.
    pub base: String,
}

impl Served {
    /// Starts the agent server on a free loopback port with the shipped configuration.
    pub fn start() -> Served {
        Served::start_with(&[])
    }

    /// Starts the agent server as [`Served::start`] does, with `extra` arguments.
    pub fn start_with(extra: &[&str]) -> Served {
        Served::start_configured(std::path::Path::new("scenarios/configs/default.yaml"), extra)
    }

    /// Starts the agent server on a free loopback port with the configuration at `config`
    /// (relative to the crate's root) and `extra` arguments.
    pub fn start_configured(config: &std::path::Path, extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakproof"))
            .args(["agent", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server prints its address").unwrap();
            if let Some(url) = line.strip_prefix("agent: ") {
                break url.to_owned();
            }
        };
        Served { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
