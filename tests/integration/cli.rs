//! The loaders as a user and CI run them: `config check`, `run`, `run --check` and `mocks serve` through the real binary, on real files (FIFOs, devices, dangling links, files outside the suite, empty inputs), exit codes and messages.

use std::path::Path;
use std::process::Command;

use crate::common::process::{Scratch, leakproof, text};

const DEFAULT: &str = "scenarios/configs/default.yaml";

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

#[test]
fn mocks_serve_prints_its_urls_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(["mocks", "serve", "--fixtures", "scenarios/fixtures/default.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    while banner.len() < 4 {
        banner.push(lines.next().unwrap().unwrap());
    }
    let value = |prefix: &str| banner.iter().find_map(|l| l.strip_prefix(prefix)).unwrap().to_owned();
    let (crm, mail, token) = (value("crm: "), value("mail: "), value("token: "));
    assert!(crm.starts_with("http://127.0.0.1:") && mail.starts_with("http://127.0.0.1:"), "{banner:?}");

    // A plain HTTP/1.1 request over TCP: the CRM answers HubSpot's search.
    let address = crm.trim_start_matches("http://");
    let body = r#"{"filterGroups":[],"properties":["email"],"limit":1}"#;
    let request = format!(
        "POST /crm/v3/objects/contacts/search HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"total\":5"), "{response}");

    // SIGTERM (how CI stops services) ends it cleanly, with its request log on stderr.
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped after 1 CRM and 0 mail requests"));
    let log = text(&output.stderr);
    assert!(log.contains("CRM request") && log.contains("path=/crm/v3/objects/contacts/search"), "{log}");
}

#[test]
fn mocks_serve_refuses_a_broken_fixtures_file() {
    let scratch = Scratch::new("fixtures");
    let path = scratch.write("bad.yaml", "contacts:\n  - id: 1\n    email: not-an-address\n");
    let out = leakproof(&["mocks", "serve", "--fixtures", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("error: {}:3:12: contacts[0].email", path.display())), "{stderr}");
}

#[test]
fn chat_works_for_a_new_user_through_stdin() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(["chat", "--channel", "live_chat"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = "/help\nWhat is my billing address?\nmaren.solberg@example.com\n/mail\n/open 0\n/open 0\nok, I clicked it\n/wait 20m\n/channel whatsapp\nwhat is my billing address?\n/bogus\n/quit\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("/mail  /open N"), "help: {stdout}");
    let before_link = stdout.split("[0] to maren.solberg@example.com: http").next().unwrap();
    assert!(!before_link.contains("12 Kestrel Row"), "nothing before the link: {stdout}");
    assert!(stdout.contains("\"event\":\"verification_sent\""), "{stdout}");
    assert!(stdout.contains("(link) You're verified."), "{stdout}");
    assert!(stdout.contains("(link) This link can't be used"), "a replayed link: {stdout}");
    assert!(stdout.contains("Your billing address is 12 Kestrel Row, Flat 4B."), "{stdout}");
    assert!(
        stdout.contains("\"instructions\":\"Read the address back on one line."),
        "instructions shown: {stdout}"
    );
    assert!(stdout.contains("(a new conversation on whatsapp)"), "{stdout}");
    // The new conversation proved nothing yet: asked again, nothing disclosed there.
    let whatsapp = stdout.split("(a new conversation on whatsapp)").nth(1).unwrap();
    assert!(!whatsapp.contains("Kestrel Row") && whatsapp.contains("asked_for_email"), "{whatsapp}");
    assert!(stdout.contains("(unknown command /bogus"), "{stdout}");
}

// ---------------------------------------------------------------------------
// Files that are not files, files outside the suite, empty inputs.

/// Runs `leakproof` with `args` as [`leakproof`] does, killed after 20 seconds:
/// a loader that blocks (on a FIFO nobody writes to) fails the test instead of hanging it.
fn leakproof_bounded(args: &[&str]) -> std::process::Output {
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("leakproof {args:?} still running after 20 s; stderr so far: {}", text(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A suite directory holding copies of the shipped configuration and fixtures.
fn suite(name: &str) -> Scratch {
    let scratch = Scratch::new(name);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    scratch.write("suite/configs/default.yaml", &default_yaml());
    let fixtures = std::fs::read_to_string(root.join("scenarios/fixtures/default.yaml")).unwrap();
    scratch.write("suite/fixtures/default.yaml", &fixtures);
    scratch
}

const STEPS: &str = "steps:\n  - say: what is my city?\n";

fn exits_2_saying(out: &std::process::Output, expected: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stdout: {}\nstderr: {stderr}", text(&out.stdout));
    assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
    stderr
}

#[cfg(unix)]
#[test]
fn every_loader_refuses_a_fifo_promptly_naming_it() {
    let scratch = suite("fifo");
    let fifo = scratch.0.join("f.yaml");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let said = format!("error: failed to read {fifo}: not a regular file (it is a FIFO)");
    exits_2_saying(&leakproof_bounded(&["config", "check", fifo]), &said);
    exits_2_saying(&leakproof_bounded(&["run", fifo]), &said);
    exits_2_saying(&leakproof_bounded(&["run", "--check", fifo]), &said);
    exits_2_saying(&leakproof_bounded(&["mocks", "serve", "--fixtures", fifo]), &said);

    // One in a suite directory is not skipped: it is an unusable scenario file.
    let in_suite = scratch.0.join("suite/f.yaml");
    mkfifo(&in_suite);
    scratch.write(
        "suite/ok.yaml",
        &format!("config: configs/default.yaml\nfixtures: fixtures/default.yaml\n{STEPS}"),
    );
    let dir = scratch.0.join("suite");
    let out = leakproof_bounded(&["run", "--check", dir.to_str().unwrap()]);
    let stderr = exits_2_saying(
        &out,
        &format!("error: failed to read {}: not a regular file (it is a FIFO)", in_suite.display()),
    );
    assert!(stderr.contains("1 of 2 scenario file(s) unusable"), "{stderr}");

    // A scenario's `config:` naming a FIFO in the suite: refused where it is named.
    std::fs::remove_file(&in_suite).unwrap();
    mkfifo(&scratch.0.join("suite/configs/f.yaml"));
    let scenario = scratch
        .write("suite/s.yaml", &format!("config: configs/f.yaml\nfixtures: fixtures/default.yaml\n{STEPS}"));
    let out = leakproof_bounded(&["run", "--check", scenario.to_str().unwrap()]);
    exits_2_saying(&out, &format!("error: {}:1:9: config: failed to read", scenario.display()));
    exits_2_saying(&out, "not a regular file (it is a FIFO)");
}

#[cfg(unix)]
#[test]
fn a_scenario_config_of_dev_zero_is_refused_not_read() {
    let scratch = suite("zero");
    let scenario = scratch
        .write("suite/z.yaml", &format!("config: /dev/zero\nfixtures: fixtures/default.yaml\n{STEPS}"));
    let file = scenario.to_str().unwrap();
    let out = leakproof_bounded(&["run", "--check", "--allow-outside-suite", file]);
    exits_2_saying(
        &out,
        &format!(
            "error: {file}:1:9: config: failed to read /dev/zero: not a regular file (it is a character device)"
        ),
    );
    let out = leakproof_bounded(&["run", "--check", file]);
    exits_2_saying(
        &out,
        &format!("error: {file}:1:9: config: \"/dev/zero\" is outside the suite's directory"),
    );
}

#[test]
fn a_scenario_naming_a_file_outside_its_suite_is_refused_at_the_field() {
    let scratch = suite("outside");
    // Not YAML the suite owns: its first line must never reach the output.
    let secret = scratch.write("secret.txt", "root:SECRET-HASH-1234:19000:0:99999:7:::\nmore: SECRET-TOO\n");
    let dir = scratch.0.join("suite");
    let dir_arg = dir.to_str().unwrap();
    let absolute = scratch.write(
        "suite/absolute.yaml",
        &format!("config: {}\nfixtures: fixtures/default.yaml\n{STEPS}", secret.display()),
    );
    let relative = scratch.write(
        "suite/deep/relative.yaml",
        &format!("# up and out\nfixtures: ../fixtures/default.yaml\nconfig: ../../secret.txt\n{STEPS}"),
    );
    let fixtures = scratch.write(
        "suite/fixtures.yaml",
        &format!("config: configs/default.yaml\nfixtures: ../secret.txt\n{STEPS}"),
    );
    let out = leakproof_bounded(&["run", "--check", dir_arg]);
    let stderr = exits_2_saying(
        &out,
        &format!(
            "error: {}:1:9: config: {:?} is outside the suite's directory {dir_arg}: a scenario may only name files inside it (`--allow-outside-suite` allows others)",
            absolute.display(),
            secret.display().to_string()
        ),
    );
    assert!(
        stderr
            .contains(&format!("error: {}:3:9: config: \"../../secret.txt\" is outside", relative.display())),
        "{stderr}"
    );
    assert!(
        stderr
            .contains(&format!("error: {}:2:11: fixtures: \"../secret.txt\" is outside", fixtures.display())),
        "{stderr}"
    );
    assert!(stderr.contains("3 of 3 scenario file(s) unusable"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "{stderr}");

    // Nor through a symbolic link inside the suite, to the file named or to the scenario itself.
    #[cfg(unix)]
    {
        let links = suite("outside-links");
        let secret = links.write("secret.txt", "root:SECRET-HASH-1234:19000:0:99999:7:::\n");
        std::os::unix::fs::symlink(&secret, links.0.join("suite/configs/linked.yaml")).unwrap();
        let via = links.write(
            "suite/via-link.yaml",
            &format!("config: configs/linked.yaml\nfixtures: fixtures/default.yaml\n{STEPS}"),
        );
        let itself = links.0.join("suite/itself.yaml");
        std::os::unix::fs::symlink(&secret, &itself).unwrap();
        let dir = links.0.join("suite");
        let out = leakproof_bounded(&["run", dir.to_str().unwrap()]);
        let stderr = exits_2_saying(
            &out,
            &format!(
                "error: {}:1:9: config: \"configs/linked.yaml\" (a symbolic link to {}) is outside",
                via.display(),
                secret.canonicalize().unwrap().display()
            ),
        );
        assert!(
            stderr.contains(&format!(
                "error: {}: (document): \"{}\" (a symbolic link to",
                itself.display(),
                itself.display()
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("SECRET"), "{stderr}");
    }

    // --allow-outside-suite lets a trusted scenario use files elsewhere (here, the shipped ones).
    let root = env!("CARGO_MANIFEST_DIR");
    let elsewhere = scratch.write("suite/elsewhere.yaml", &format!("config: {root}/scenarios/configs/default.yaml\nfixtures: {root}/scenarios/fixtures/default.yaml\n{STEPS}"));
    let file = elsewhere.to_str().unwrap();
    exits_2_saying(&leakproof_bounded(&["run", "--check", file]), "is outside the suite's directory");
    let out = leakproof_bounded(&["run", "--check", "--allow-outside-suite", file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok: 1 scenario file(s) valid\n");
}

#[test]
fn an_error_repeats_little_of_a_file_that_is_not_yaml() {
    let scratch = suite("echo");
    let long = format!("root:{}:19000:0:99999:7:::", "H".repeat(200));
    scratch.write("suite/configs/notes.yaml", &format!("{long}: 1\n"));
    let scenario = scratch.write(
        "suite/s.yaml",
        &format!("config: configs/notes.yaml\nfixtures: fixtures/default.yaml\n{STEPS}"),
    );
    let out = leakproof_bounded(&["run", "--check", scenario.to_str().unwrap()]);
    // A key that is no field name is some other file's content: it is not repeated.
    let stderr = exits_2_saying(&out, "unknown field `…`");
    assert!(!stderr.contains("root:") && !stderr.contains("HHH"), "{stderr}");
    // Bytes that are not UTF-8 are never repeated at all.
    std::fs::write(scratch.0.join("suite/configs/notes.yaml"), b"agent: {name: \xff\xfeSECRET}\n").unwrap();
    let out = leakproof_bounded(&["run", "--check", scenario.to_str().unwrap()]);
    let stderr = exits_2_saying(&out, "1:15: (document): the file is not UTF-8 text");
    assert!(!stderr.contains("SECRET"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_dangling_scenario_link_is_reported_not_skipped() {
    let scratch = suite("dangling");
    scratch.write(
        "suite/ok.yaml",
        &format!("config: configs/default.yaml\nfixtures: fixtures/default.yaml\n{STEPS}"),
    );
    let link = scratch.0.join("suite/renamed.yaml");
    std::os::unix::fs::symlink("old-name.yaml", &link).unwrap();
    let dir = scratch.0.join("suite");
    for check in [true, false] {
        let mut args = vec!["run", dir.to_str().unwrap()];
        if check {
            args.push("--check");
        }
        let out = leakproof_bounded(&args);
        exits_2_saying(
            &out,
            &format!(
                "error: failed to read {}: a symbolic link to old-name.yaml, which does not exist",
                link.display()
            ),
        );
    }
    // Given itself, too.
    exits_2_saying(
        &leakproof_bounded(&["run", link.to_str().unwrap()]),
        &format!(
            "error: failed to read {}: a symbolic link to old-name.yaml, which does not exist",
            link.display()
        ),
    );
}

#[test]
fn run_check_and_run_agree_that_an_empty_suite_is_unusable() {
    let scratch = Scratch::new("empty-suite");
    scratch.write("notes.txt", "not a scenario\n");
    let dir = scratch.0.to_str().unwrap();
    let said = format!("error: no scenario file (*.yaml, *.yml) in {dir}");
    let check = leakproof_bounded(&["run", "--check", dir]);
    exits_2_saying(&check, &said);
    assert!(check.stdout.is_empty(), "nothing is declared ok: {}", text(&check.stdout));
    exits_2_saying(&leakproof_bounded(&["run", dir]), &said);
    let filtered =
        leakproof_bounded(&["run", "--check", "scenarios/", "--filter", "no-such-scenario-anywhere"]);
    exits_2_saying(&filtered, "error: no scenario to run in scenarios/");
}

#[test]
fn mocks_serve_refuses_an_empty_fixtures_file() {
    let scratch = Scratch::new("empty-fixtures");
    for (name, content) in [("empty.yaml", ""), ("comments.yaml", "# the world\n\n")] {
        let path = scratch.write(name, content);
        let out = leakproof_bounded(&["mocks", "serve", "--fixtures", path.to_str().unwrap()]);
        exits_2_saying(&out, &format!("error: {}:1:1: (document): the file is empty", path.display()));
    }
}

#[test]
fn config_check_loads_the_signing_key() {
    let scratch = Scratch::new("signing-key");
    let with_key = |key: &str| format!("agent: {{ name: Ava }}\nverification:\n  signing_key: {key}\n");
    let missing = scratch.write("missing.yaml", &with_key("{ file: /nonexistent/key }"));
    exits_2_saying(
        &leakproof_bounded(&["config", "check", missing.to_str().unwrap()]),
        &format!(
            "error: {}:3:16: verification.signing_key: failed to load the signing key from file /nonexistent/key: No such file or directory",
            missing.display()
        ),
    );
    let unset = scratch.write("unset.yaml", &with_key("{ env: LEAKPROOF_TEST_KEY_NEVER_SET }"));
    exits_2_saying(
        &leakproof_bounded(&["config", "check", unset.to_str().unwrap()]),
        &format!(
            "error: {}:3:16: verification.signing_key: failed to load the signing key from environment variable LEAKPROOF_TEST_KEY_NEVER_SET: not set",
            unset.display()
        ),
    );
    let short = scratch.write("short.key", "too short");
    let short_config = scratch.write("short.yaml", &with_key(&format!("{{ file: {} }}", short.display())));
    exits_2_saying(
        &leakproof_bounded(&["config", "check", short_config.to_str().unwrap()]),
        "verification.signing_key: signing key is 9 bytes long",
    );
    #[cfg(unix)]
    {
        let fifo = scratch.0.join("key.fifo");
        mkfifo(&fifo);
        let config = scratch.write("fifo.yaml", &with_key(&format!("{{ file: {} }}", fifo.display())));
        exits_2_saying(
            &leakproof_bounded(&["config", "check", config.to_str().unwrap()]),
            "verification.signing_key: failed to load the signing key from file",
        );
        let config = scratch.write("zero.yaml", &with_key("{ file: /dev/zero }"));
        exits_2_saying(
            &leakproof_bounded(&["config", "check", config.to_str().unwrap()]),
            "not a regular file (it is a character device)",
        );
    }
    let good = scratch.write("good.key", &"k".repeat(48));
    let good_config = scratch.write("good.yaml", &with_key(&format!("{{ file: {} }}", good.display())));
    let out = leakproof_bounded(&["config", "check", good_config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `leakproof completions SHELL` prints a script the shell accepts, completing every command
/// and option (it is generated from the command line's own definition); an unknown shell is
/// unusable input.
#[test]
fn completions_are_scripts_the_shells_read_naming_every_command() {
    let bash = leakproof(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0), "{}", text(&bash.stderr));
    let script = text(&bash.stdout);
    for word in ["run", "fuzz", "mocks", "serve", "chat", "completions", "--agent-url", "--single-host"] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leakproof.bash");
    std::fs::write(&file, &bash.stdout).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(checked.status.success(), "bash -n: {}", text(&checked.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = leakproof(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(text(&output.stdout).contains("leakproof"), "{shell}");
    }
    assert_eq!(leakproof(&["completions", "tcsh"]).status.code(), Some(2));
}
