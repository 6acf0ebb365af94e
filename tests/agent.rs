//! The reference agent over the mock CRM and mail servers: identity flows, updates,
//! email capture, scope, and every backend fault failing closed.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use leakproof::agent::events::{AskReason, MatchedBy, WithheldReason};
use leakproof::agent::{Agent, AgentSettings, DecisionEvent, Turn, Visitor};
use leakproof::config::{AgentConfig, Channel, EmailCapture, ObjectType};
use leakproof::crm::{CrmSettings, RetryPolicy};
use leakproof::fixtures::Fixtures;
use leakproof::identity::{ContactId, ConversationId, SigningKey};
use leakproof::mail::MailSettings;
use leakproof::mocks::{Endpoint, Fault, FaultKind, Mocks};

const MAREN: &str = "maren.solberg@example.com";
const MAREN_ID: ContactId = ContactId(101);
const TOBIAS: &str = "tobias.achterberg@example.net";
const TOBIAS_ID: ContactId = ContactId(102);
const MAREN_CITY: &str = "Kirkby Lonsdale";
const MAREN_ADDRESS: &str = "12 Kestrel Row, Flat 4B";
const TOBIAS_CITY: &str = "Market Harborough";
const MAREN_COOKIE: &str = "3f9a1c0e7b2d4a6f8e1c5b7d9a0f2e4c";

fn config() -> AgentConfig {
    leakproof::config::load_file("scenarios/configs/default.yaml").unwrap()
}

fn fixtures() -> Fixtures {
    leakproof::fixtures::load_file("scenarios/fixtures/default.yaml").unwrap()
}

fn start() -> Timestamp {
    "2026-05-01T09:00:00Z".parse().unwrap()
}

/// An agent wired to fresh mocks, with retries that do not wait.
struct World {
    mocks: Mocks,
    agent: Agent,
    now: Timestamp,
}

impl World {
    async fn new(config: AgentConfig) -> World {
        let mocks = Mocks::start(fixtures()).await.unwrap();
        let retry = RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let crm = CrmSettings {
            timeout: Duration::from_millis(500),
            retry: retry.clone(),
            ..CrmSettings::new(mocks.crm.base_url(), mocks.crm.token())
        };
        let mail = MailSettings {
            retry,
            timeout: Duration::from_millis(500),
            ..MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 4242)
        };
        let signing_key = SigningKey::from_bytes(&[7; 32]).unwrap();
        let agent = Agent::new(AgentSettings { config, crm, mail, signing_key }).unwrap();
        World { mocks, agent, now: start() }
    }

    async fn default() -> World {
        World::new(config()).await
    }

    async fn say(&self, conversation: &str, channel: Channel, visitor: &Visitor, text: &str) -> Turn {
        self.agent.handle(&ConversationId::from(conversation), channel, visitor, text, self.now).await
    }

    /// Opens the latest link mailed to `address`, as the customer clicking it.
    async fn open_latest(&self, address: &str) -> bool {
        let link = self.mocks.mail.latest_link(address).expect("a link was mailed");
        let token = link.path().rsplit('/').next().unwrap().to_owned();
        self.agent.open_link(&token, self.now).await.verified
    }
}

fn text(turn: &Turn) -> String {
    turn.replies.join("\n")
}

fn has(turn: &Turn, wanted: impl Fn(&DecisionEvent) -> bool) -> bool {
    turn.events.iter().any(wanted)
}

fn disclosed(turn: &Turn, property: &str) -> bool {
    has(turn, |e| matches!(e, DecisionEvent::Disclosed { property: p, .. } if p == property))
}

const ANON: Visitor = Visitor { cookie: None, phone: None, psid: None, from_email: None };

#[tokio::test]
async fn match_flow_on_every_channel() {
    for channel in [Channel::LiveChat, Channel::Whatsapp, Channel::Email] {
        let world = World::default().await;
        let asked = world.say("c1", channel, &ANON, "What is my city?").await;
        assert!(
            has(&asked, |e| matches!(e, DecisionEvent::AskedForEmail { reason: AskReason::Needed })),
            "{channel}: {asked:?}"
        );
        assert!(!text(&asked).contains(MAREN_CITY));

        let answered = world.say("c1", channel, &ANON, &format!("it's {MAREN}")).await;
        assert!(has(&answered, |e| matches!(
            e,
            DecisionEvent::ContactMatched { contact: MAREN_ID, by: MatchedBy::Email, .. }
        )));
        assert!(disclosed(&answered, "city"), "{channel}: {answered:?}");
        assert!(text(&answered).contains(MAREN_CITY), "{channel}: {}", text(&answered));
    }
}

#[tokio::test]
async fn verify_flow_discloses_only_after_the_link_and_mails_the_address_on_record() {
    let world = World::default().await;
    world.say("v", Channel::LiveChat, &ANON, "what's my billing address?").await;
    // Typed in other case: the link still goes to the address on record.
    let sent = world.say("v", Channel::LiveChat, &ANON, "MAREN.SOLBERG@EXAMPLE.COM").await;
    assert!(has(&sent, |e| matches!(e, DecisionEvent::VerificationSent { contact: MAREN_ID })), "{sent:?}");
    assert!(!text(&sent).contains(MAREN_ADDRESS));
    let mails = world.mocks.mail.all();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, MAREN, "the address on record, not the typed one");

    assert!(world.open_latest(MAREN).await);
    let after = world.say("v", Channel::LiveChat, &ANON, "done").await;
    assert!(has(&after, |e| matches!(e, DecisionEvent::Verified { contact: MAREN_ID })), "{after:?}");
    assert!(disclosed(&after, "address"), "{after:?}");
    assert!(text(&after).contains(MAREN_ADDRESS));
}

#[tokio::test]
async fn expired_and_replayed_links_verify_nothing() {
    let mut world = World::default().await;
    world.say("e", Channel::Whatsapp, &ANON, "what is my billing address").await;
    world.say("e", Channel::Whatsapp, &ANON, MAREN).await;
    world.now += SignedDuration::from_mins(16);
    assert!(!world.open_latest(MAREN).await, "a link past its 15 minutes is dead");
    let after = world.say("e", Channel::Whatsapp, &ANON, "ok, opened it").await;
    assert!(has(&after, |e| matches!(e, DecisionEvent::VerificationRejected { .. })), "{after:?}");
    assert!(!text(&after).contains(MAREN_ADDRESS));

    // A fresh link works once, and only once.
    world.say("e", Channel::Whatsapp, &ANON, "what is my billing address").await;
    assert!(world.open_latest(MAREN).await);
    assert!(!world.open_latest(MAREN).await, "replayed");
}

#[tokio::test]
async fn a_new_email_replaces_the_identity_and_the_old_access_lapses() {
    let world = World::default().await;
    world.say("r", Channel::LiveChat, &ANON, &format!("my email is {MAREN}")).await;
    let turn = world.say("r", Channel::LiveChat, &ANON, &format!("actually I'm {TOBIAS}")).await;
    assert!(
        has(&turn, |e| matches!(
            e,
            DecisionEvent::ContactMatched { contact: TOBIAS_ID, replaced: Some(MAREN_ID), .. }
        )),
        "{turn:?}"
    );
    let city = world.say("r", Channel::LiveChat, &ANON, "what is my city").await;
    assert!(text(&city).contains(TOBIAS_CITY), "{}", text(&city));
    assert!(!text(&city).contains(MAREN_CITY));
}

#[tokio::test]
async fn a_returning_cookie_visitor_is_not_asked_for_email() {
    let world = World::default().await;
    let visitor = Visitor { cookie: Some(MAREN_COOKIE.to_owned()), ..ANON };
    let turn = world.say("k", Channel::LiveChat, &visitor, "What's my city?").await;
    assert!(has(&turn, |e| matches!(
        e,
        DecisionEvent::ContactMatched { contact: MAREN_ID, by: MatchedBy::Cookie, .. }
    )));
    assert!(!has(&turn, |e| matches!(e, DecisionEvent::AskedForEmail { .. })), "{turn:?}");
    assert!(text(&turn).contains(MAREN_CITY));
    // A cookie is only a match: verify_email data still needs the link.
    let address = world.say("k", Channel::LiveChat, &visitor, "and my billing address?").await;
    assert!(has(&address, |e| matches!(e, DecisionEvent::VerificationSent { .. })));
    assert!(!text(&address).contains(MAREN_ADDRESS));
}

#[tokio::test]
async fn an_update_with_confirmation_writes_only_after_yes() {
    let world = World::default().await;
    let v = ANON;
    world.say("u", Channel::LiveChat, &v, "change my phone number to +44 7700 900999").await;
    world.say("u", Channel::LiveChat, &v, MAREN).await;
    assert!(world.mocks.crm.writes().is_empty(), "no write before the link");
    assert!(world.open_latest(MAREN).await);
    let ask = world.say("u", Channel::LiveChat, &v, "I clicked it").await;
    assert!(text(&ask).contains("+44 7700 900999"), "the new value is read back: {}", text(&ask));
    assert!(world.mocks.crm.writes().is_empty(), "no write before yes");
    let done = world.say("u", Channel::LiveChat, &v, "yes").await;
    assert!(has(&done, |e| matches!(e, DecisionEvent::Updated { contact: MAREN_ID, .. })), "{done:?}");
    assert_eq!(world.mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 7700 900999");
}

#[tokio::test]
async fn an_update_without_confirmation_and_a_refused_one() {
    let mut config = config();
    let language = config.properties.iter_mut().find(|p| p.property == "hs_language").unwrap();
    language.edit.confirm = false;
    let world = World::new(config).await;
    world.say("n", Channel::Whatsapp, &ANON, MAREN).await;
    let done = world.say("n", Channel::Whatsapp, &ANON, "change my preferred language to English").await;
    assert!(has(&done, |e| matches!(e, DecisionEvent::Updated { .. })), "{done:?}");
    assert_eq!(world.mocks.crm.record(ObjectType::Contact, 101).unwrap()["hs_language"], "English");

    let refused = world.say("n", Channel::Whatsapp, &ANON, "change my company name to Evil Corp").await;
    assert!(
        has(&refused, |e| matches!(
            e,
            DecisionEvent::UpdateRefused { reason: WithheldReason::NotEditable, .. }
        )),
        "{refused:?}"
    );
    assert_eq!(world.mocks.crm.writes().len(), 1);
}

#[tokio::test]
async fn another_contacts_data_is_refused() {
    let world = World::default().await;
    world.say("o", Channel::LiveChat, &ANON, MAREN).await;
    let turn = world.say("o", Channel::LiveChat, &ANON, &format!("what is the city of {TOBIAS}?")).await;
    assert!(
        has(&turn, |e| matches!(e, DecisionEvent::Withheld { reason: WithheldReason::OutOfScope, .. })),
        "{turn:?}"
    );
    assert!(!text(&turn).contains(TOBIAS_CITY));
}

#[tokio::test]
async fn email_capture_modes() {
    // facebook_messenger is at_start in the shipped configuration.
    let world = World::default().await;
    let turn = world.say("a", Channel::FacebookMessenger, &ANON, "hi there").await;
    assert!(
        has(&turn, |e| matches!(e, DecisionEvent::AskedForEmail { reason: AskReason::AtStart })),
        "{turn:?}"
    );

    for capture in [EmailCapture::Never, EmailCapture::BeforeHandoff] {
        let mut config = config();
        config.email_capture.live_chat = capture;
        let world = World::new(config).await;
        let turn = world.say("b", Channel::LiveChat, &ANON, "what is my city").await;
        assert!(!has(&turn, |e| matches!(e, DecisionEvent::AskedForEmail { .. })), "{capture:?}: {turn:?}");
        assert!(!text(&turn).contains(MAREN_CITY));
        let handoff = world.say("b", Channel::LiveChat, &ANON, "can I talk to a human?").await;
        let asked =
            has(&handoff, |e| matches!(e, DecisionEvent::AskedForEmail { reason: AskReason::BeforeHandoff }));
        assert_eq!(asked, capture == EmailCapture::BeforeHandoff, "{capture:?}: {handoff:?}");
    }
}

#[tokio::test]
async fn crm_and_mail_faults_fail_closed() {
    let kinds = [
        FaultKind::Status(500),
        FaultKind::Timeout,
        FaultKind::Malformed,
        FaultKind::Truncated,
        FaultKind::RateLimited { retry_after: Some(60), policy: leakproof::mocks::RateLimitPolicy::Secondly },
    ];
    for kind in &kinds {
        // The contact read fails: nothing is disclosed.
        let world = World::default().await;
        world.say("f", Channel::LiveChat, &ANON, MAREN).await;
        world.mocks.crm.inject(Fault::always(Endpoint::GetContact, kind.clone()));
        let turn = world.say("f", Channel::LiveChat, &ANON, "what is my city").await;
        assert!(has(&turn, |e| matches!(e, DecisionEvent::BackendError { .. })), "{kind}: {turn:?}");
        assert!(!text(&turn).contains(MAREN_CITY), "{kind}");
        assert!(!disclosed(&turn, "city"));

        // The verification mail fails: nothing is disclosed, no link exists.
        world.mocks.mail.inject(Fault::always(Endpoint::SendMail, kind.clone()));
        world.mocks.crm.clear_faults();
        let turn = world.say("f", Channel::LiveChat, &ANON, "what is my billing address").await;
        assert!(has(&turn, |e| matches!(e, DecisionEvent::BackendError { .. })), "{kind}: {turn:?}");
        assert!(world.mocks.mail.all().is_empty() || matches!(kind, FaultKind::Timeout));
        assert!(!text(&turn).contains(MAREN_ADDRESS));
    }
}
