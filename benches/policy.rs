//! The policy path under criterion: `decide` at 10, 200 and 1,000 properties,
//! for view and edit, at each identity level, and `compile`.
//!
//! Each `decide` iteration is one decision; the request cycles through 256
//! pre-drawn requests over the whole table so that neither the cache nor the
//! branch predictor sees a single hot entry.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use leakproof::generate::config::fixed_agent_config;
use leakproof::identity::{ContactId, Identity};
use leakproof::policy::{Action, Policy, PropertyId, Request, Subject};

const SIZES: [usize; 3] = [10, 200, 1_000];
const CUSTOMER: ContactId = ContactId(42);

/// 256 requests for `action` spread over every property, mostly about the
/// customer's own record, some about theirs by id, some about a stranger's.
fn requests(properties: usize, action: Action) -> Vec<Request> {
    (0..256u32)
        .map(|i| {
            let index = (i.wrapping_mul(2_654_435_761) as usize % properties) as u32;
            let subject = match i % 8 {
                6 => Subject::Contact(CUSTOMER),
                7 => Subject::Contact(ContactId(7)),
                _ => Subject::Own,
            };
            Request { action, property: PropertyId::from_index(index), subject }
        })
        .collect()
}

fn decide(c: &mut Criterion) {
    for size in SIZES {
        let policy = Policy::compile(&fixed_agent_config(size, 1)).expect("generated configs are valid");
        let mut group = c.benchmark_group(format!("decide/{size}"));
        for (action_name, action) in [("view", Action::View), ("edit", Action::Edit)] {
            let requests = requests(size, action);
            for (level, identity) in [
                ("anonymous", Identity::Anonymous),
                ("matched", Identity::Matched(CUSTOMER)),
                ("verified", Identity::Verified(CUSTOMER)),
            ] {
                group.bench_function(BenchmarkId::new(action_name, level), |b| {
                    let mut next = 0usize;
                    b.iter(|| {
                        next = (next + 1) & 255;
                        policy.decide(black_box(&identity), black_box(requests[next]))
                    })
                });
            }
        }
        group.finish();
    }
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    for size in SIZES {
        let config = fixed_agent_config(size, 1);
        group.bench_with_input(BenchmarkId::from_parameter(size), &config, |b, config| {
            b.iter(|| Policy::compile(black_box(config)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = decide, compile
}
criterion_main!(benches);
