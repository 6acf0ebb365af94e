//! `leakproof config check` as a user runs it: the real binary, real files, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEFAULT: &str = "scenarios/configs/default.yaml";

fn leakproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the leakproof binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch directory of this test binary's own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("leakproof-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn default_yaml() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT)).unwrap()
}

#[test]
fn the_shipped_configuration_is_ok_with_its_warnings() {
    let out = leakproof(&["config", "check", DEFAULT]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("ok: scenarios/configs/default.yaml ("), "{stdout}");
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert!(!warnings.is_empty(), "the shipped file shows the lints at work: {stdout}");
    for warning in warnings {
        // warning: FILE:LINE:COLUMN: SETTING: MESSAGE [code]
        let rest = warning.strip_prefix("warning: scenarios/configs/default.yaml:").unwrap();
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts.next().unwrap().parse().unwrap();
        let column: usize = parts.next().unwrap().parse().unwrap();
        assert!(line > 0 && column > 0, "{warning}");
        assert!(parts.next().unwrap().trim_start().starts_with("properties["), "{warning}");
    }
}

#[test]
fn deny_warnings_turns_warnings_into_a_failed_check() {
    let out = leakproof(&["config", "check", "--deny-warnings", DEFAULT]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn a_broken_copy_is_unusable_and_every_error_is_located() {
    let scratch = Scratch::new("broken");
    let broken = default_yaml().replacen("protection: verify_email", "protection: verify_mail", 1).replacen(
        "label: city",
        "label: ''",
        1,
    );
    let path = scratch.write("broken.yaml", &broken);
    let out = leakproof(&["config", "check", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is declared ok: {}", text(&out.stdout));
    let expected_line = broken.lines().position(|l| l.contains("verify_mail")).unwrap() + 1;
    let expected = format!(
        "error: {}:{expected_line}:19: properties[0].view.protection: unknown variant `verify_mail`",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "expected {expected:?} in:\n{stderr}");

    // Once the first error is fixed, the next one is reported where it is.
    let fixed = broken.replacen("verify_mail", "verify_email", 1);
    let path = scratch.write("broken2.yaml", &fixed);
    let out = leakproof(&["config", "check", path.to_str().unwrap()]);
    let line = fixed.lines().position(|l| l.contains("label: ''")).unwrap() + 1;
    let expected = format!("error: {}:{line}:12: properties[2].label: empty label", path.display());
    assert!(text(&out.stderr).starts_with(&expected), "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_file_is_unusable_input() {
    let out = leakproof(&["config", "check", "no/such/config.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("failed to read no/such/config.yaml"), "{}", text(&out.stderr));
}

#[test]
fn unknown_arguments_are_unusable_input() {
    let out = leakproof(&["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let out = leakproof(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
