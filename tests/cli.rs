//! `leakproof config check` as a user runs it: the real binary, real files, exit codes.

use std::path::Path;
use std::process::Command;

mod common;

use common::process::{Scratch, leakproof, text};

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
