//! Every scenario file under `scenarios/` is a test of its own: run against the
//! in-process reference agent, judged by the oracle and the scenario's
//! expectations, and its transcript and decisions compared with the insta
//! snapshot under `snapshots/` (review changes with `cargo insta review`).
//!
//! `cargo test --test scenarios -- --list` lists them; a name filter works as
//! for any test: `cargo test --test scenarios -- identity/`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use leakproof::harness::report::{Collected, Report};
use leakproof::harness::{run, scenario, snapshot};
use libtest_mimic::{Arguments, Failed, Trial};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
});

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn main() {
    let args = Arguments::from_args();
    let scenarios = root().join("scenarios");
    let files = scenario::discover(std::slice::from_ref(&scenarios)).expect("the scenarios directory");
    let trials = files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(&scenarios).unwrap_or(&file).to_path_buf();
            let name = relative.with_extension("").to_string_lossy().replace('\\', "/");
            Trial::test(name, move || check(&file, &relative))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn check(file: &Path, relative: &Path) -> Result<(), Failed> {
    let scenario = scenario::load_file(file).map_err(|e| e.to_string())?;
    let result = RUNTIME.block_on(run(&scenario, &leakproof::reference::target(), 1));

    let snapshot = snapshot::of(&result, scenario.start);
    let directory = root().join("snapshots").join(relative.parent().unwrap_or(Path::new("")));
    let name = relative.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(directory);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(scenario.description.clone().unwrap_or_default());
    let snapshot_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_yaml_snapshot!(name, snapshot));
    }));

    if !result.passed() {
        let report = Report::new(
            "the reference agent".into(),
            1,
            vec![Collected {
                name: scenario.name.clone(),
                path: relative.display().to_string(),
                file: relative.display().to_string(),
                results: vec![result],
            }],
            jiff::Timestamp::UNIX_EPOCH,
            std::time::Duration::ZERO,
        );
        return Err(report.text(false).into());
    }
    snapshot_result.map_err(|_| Failed::from("the snapshot differs: review it with `cargo insta review`"))
}
