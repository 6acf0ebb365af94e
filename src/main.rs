//! The `leakproof` command: parses arguments, runs the library, maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use leakproof::cli::{Cli, run};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap itself exits with 2 on unusable arguments, matching `Status::UnusableInput`.
    let cli = Cli::parse();
    // Unlocked handles: long-running commands log from other threads, which
    // must be able to take the stderr lock between our own writes.
    let status = run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(status.exit_code())
}
