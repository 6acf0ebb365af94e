//! Generated conversations per second (`leakproof fuzz`): whole cases drawn, carried out
//! against the in-process reference agent with the mocks answering it in process (no
//! sockets), and judged by the oracle, eight at once as the command runs them by default.
//!
//! Each sample is one fuzz run of [`CASES`] cases of a fixed seed, rigs started included, so
//! the figure is what a user of `leakproof fuzz` gets. The allocator is the binary's.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakproof::harness::fuzz::{FuzzOptions, fuzz};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Cases per sample.
const CASES: usize = 1000;

fn generated_conversations(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let mut group = c.benchmark_group("fuzz");
    group.throughput(Throughput::Elements(CASES as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    // The same 1,000 conversations, judged by the oracle alone and with each one also replayed
    // in its twin world, side by side in one run.
    for (name, twin) in [("plain", false), ("twin-checked", true)] {
        let options = FuzzOptions {
            cases: CASES,
            seed: 1,
            target: leakproof::reference::target(),
            jobs: 8,
            shrink_runs: 0,
            stop_on: None,
            twin,
        };
        group.bench_function(format!("1000 generated conversations, seed 1, 8 jobs, {name}"), |b| {
            b.iter(|| {
                let report = runtime.block_on(fuzz(&options, |_| {})).expect("the rigs start");
                // A finding would make this a different workload (shrinking): it must be none.
                assert_eq!((report.cases, report.failing), (CASES, 0), "{:#?}", report.failures);
                report.steps
            });
        });
    }
    group.finish();
}

criterion_group!(benches, generated_conversations);
criterion_main!(benches);
