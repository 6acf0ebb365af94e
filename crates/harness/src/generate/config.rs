//! Strategies for agent configurations.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

use leakproof_config::{
    AgentConfig, AgentSettings, EditRule, EmailCapture, EmailCaptureSettings, ObjectType, PropertyRule,
    Protection, VerificationSettings, ViewRule,
};

/// Any protection level.
pub fn protection() -> impl Strategy<Value = Protection> {
    prop_oneof![Just(Protection::MatchEmail), Just(Protection::VerifyEmail)]
}

/// Any email-capture setting.
pub fn email_capture() -> impl Strategy<Value = EmailCapture> {
    prop_oneof![
        Just(EmailCapture::AtStart),
        Just(EmailCapture::WhenNeeded),
        Just(EmailCapture::BeforeHandoff),
        Just(EmailCapture::Never),
    ]
}

/// Any CRM object type.
pub fn object_type() -> impl Strategy<Value = ObjectType> {
    prop_oneof![Just(ObjectType::Contact), Just(ObjectType::Ticket), Just(ObjectType::Company)]
}

fn view_rule() -> impl Strategy<Value = ViewRule> {
    (any::<bool>(), protection(), prop::option::of("[a-z ]{1,20}")).prop_map(
        |(enabled, protection, instructions)| ViewRule {
            enabled,
            protection,
            instructions: instructions.unwrap_or_default(),
        },
    )
}

fn edit_rule() -> impl Strategy<Value = EditRule> {
    (any::<bool>(), protection(), any::<bool>()).prop_map(|(enabled, protection, confirm)| EditRule {
        enabled,
        protection,
        instructions: String::new(),
        confirm,
    })
}

/// A valid configuration with between `min` and `max` properties (inclusive)
/// and random view, edit, protection, confirm and email-capture settings.
///
/// Property `i` is named `prop_{i}` and labelled `field {i}`, so names never
/// collide and a test can find any property by its index.
pub fn agent_config(min: usize, max: usize) -> impl Strategy<Value = AgentConfig> {
    let rules = prop::collection::vec((object_type(), view_rule(), edit_rule()), min..=max);
    let capture = (email_capture(), email_capture(), email_capture());
    (rules, capture).prop_map(|(rules, (live_chat, whatsapp, facebook_messenger))| AgentConfig {
        agent: AgentSettings { name: "Generated agent".to_owned() },
        verification: VerificationSettings::default(),
        email_capture: EmailCaptureSettings { live_chat, whatsapp, facebook_messenger },
        properties: rules
            .into_iter()
            .enumerate()
            .map(|(index, (object, view, edit))| PropertyRule {
                object,
                property: format!("prop_{index}"),
                label: format!("field {index}"),
                synonyms: vec![format!("field number {index}")],
                view,
                edit,
            })
            .collect(),
    })
}

/// One configuration of exactly `properties` properties, the same for the
/// same `seed` on every machine: for benchmarks and reproducible examples.
pub fn fixed_agent_config(properties: usize, seed: u64) -> AgentConfig {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(RunnerConfig::default(), rng);
    match agent_config(properties, properties).new_tree(&mut runner) {
        Ok(tree) => tree.current(),
        // The strategy has no filters, so it cannot reject; an empty world is the safe fallback.
        Err(_) => AgentConfig {
            agent: AgentSettings { name: "Generated agent".to_owned() },
            verification: VerificationSettings::default(),
            email_capture: EmailCaptureSettings::default(),
            properties: Vec::new(),
        },
    }
}
