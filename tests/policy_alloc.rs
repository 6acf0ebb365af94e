//! The policy path allocates nothing: `decide` runs under allocation-counter's counting allocator.

use leakproof::generate::config::fixed_agent_config;
use leakproof::identity::{ContactId, Identity};
use leakproof::policy::{Action, Policy, PropertyId, Request, Subject};

#[test]
fn decide_does_not_allocate() {
    let policy = Policy::compile(&fixed_agent_config(200, 3)).unwrap();
    let identities = [Identity::Anonymous, Identity::Matched(ContactId(1)), Identity::Verified(ContactId(1))];
    let subjects =
        [Subject::Own, Subject::Contact(ContactId(1)), Subject::Contact(ContactId(2)), Subject::Unassociated];
    let mut requests = Vec::new();
    for index in 0..202u32 {
        for action in [Action::View, Action::Edit] {
            for subject in subjects {
                requests.push(Request { action, property: PropertyId::from_index(index), subject });
            }
        }
    }
    let mut allowed = 0usize;

    let counted = allocation_counter::measure(|| {
        for identity in &identities {
            for request in &requests {
                allowed += usize::from(policy.decide(identity, *request).is_allowed());
            }
        }
    });

    assert_eq!(counted.count_total, 0, "decide allocated {} times", counted.count_total);
    assert!(allowed > 0, "the sample must include allowed decisions");
}
