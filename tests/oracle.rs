//! The oracle on hand-made observations, with no agent at all: what it calls a leak, an unauthorised write, a misdirected verification and an email-capture violation, and what it lets pass.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use leakproof::agent::Visitor;
use leakproof::config::{AgentConfig, Channel, EmailCapture, ObjectType};
use leakproof::fixtures::Fixtures;
use leakproof::harness::oracle::{Finding, FindingKind, judge};
use leakproof::harness::transcript::{Entry, LinkOpened, Observed, Turn, What};
use leakproof::mocks::{CapturedMail, Write};

const MAREN: &str = "maren.solberg@example.com";
const MAREN_CITY: &str = "Kirkby Lonsdale";
const MAREN_ADDRESS: &str = "12 Kestrel Row, Flat 4B";
const TOBIAS: &str = "tobias.achterberg@example.net";
const TOBIAS_CITY: &str = "Market Harborough";
const COOKIE: &str = "3f9a1c0e7b2d4a6f8e1c5b7d9a0f2e4c";

fn config() -> AgentConfig {
    leakproof::config::load_file("scenarios/configs/default.yaml").unwrap()
}

fn fixtures() -> Fixtures {
    leakproof::fixtures::load_file("scenarios/fixtures/default.yaml").unwrap()
}

fn start() -> Timestamp {
    "2026-05-01T09:00:00Z".parse().unwrap()
}

/// Builds an observation step by step, as the runner would record it.
#[derive(Clone)]
struct Script {
    observed: Observed,
    now: Timestamp,
    /// The conversation the next turns are in.
    current: String,
}

impl Script {
    fn new(channel: Channel, visitor: Visitor) -> Script {
        let mut script = Script { observed: Observed::default(), now: start(), current: "main".into() };
        script.push(What::ConversationStarted { conversation: "main".into(), channel, visitor }, 0, 0);
        script
    }

    fn anonymous() -> Script {
        Script::new(Channel::LiveChat, Visitor::default())
    }

    fn push(&mut self, what: What, mails: usize, writes: usize) {
        let o = &self.observed;
        let (m, w) = (o.mails.len(), o.writes.len());
        let step = o.entries.len();
        self.observed.entries.push(Entry {
            step,
            line: None,
            at: self.now,
            what,
            crm: 0..0,
            writes: w - writes..w,
            mails: m - mails..m,
        });
    }

    fn turn(mut self, customer: &str, reply: &str) -> Script {
        let channel = match &self.observed.entries[0].what {
            What::ConversationStarted { channel, .. } => *channel,
            _ => Channel::LiveChat,
        };
        let turn = Turn {
            conversation: self.current.clone(),
            channel,
            customer: customer.into(),
            replies: vec![reply.into()],
            events: None,
            latency: Duration::ZERO,
        };
        self.push(What::Turn(turn), 0, 0);
        self
    }

    /// A turn during which the agent mailed `to`.
    fn turn_mailing(mut self, customer: &str, reply: &str, to: &str) -> Script {
        let index = self.observed.mails.len();
        self.observed.mails.push(CapturedMail {
            index,
            at: self.now,
            to: to.into(),
            from: None,
            email_id: 1,
            send_id: None,
            contact_properties: BTreeMap::new(),
            custom_properties: BTreeMap::new(),
            text: "Open this link".into(),
            link: "http://agent/verify/token".parse().ok(),
            status_id: "s".into(),
        });
        self = self.turn(customer, reply);
        let last = self.observed.entries.len() - 1;
        self.observed.entries[last].mails = index..index + 1;
        self
    }

    /// A turn during which the agent wrote `property = value` to `object` `id`.
    fn turn_writing(
        mut self,
        customer: &str,
        object: ObjectType,
        id: u64,
        property: &str,
        value: &str,
    ) -> Script {
        let seq = self.observed.writes.len();
        self.observed.writes.push(Write {
            seq,
            at: self.now,
            object,
            id: Some(id),
            properties: BTreeMap::from([(property.to_owned(), value.to_owned())]),
            applied: true,
        });
        self = self.turn(customer, "Done.");
        let last = self.observed.entries.len() - 1;
        self.observed.entries[last].writes = seq..seq + 1;
        self
    }

    /// A turn during which every CRM request failed with 503.
    fn turn_with_crm_down(mut self, customer: &str, reply: &str) -> Script {
        let seq = self.observed.crm_requests.len();
        self.observed.crm_requests.push(leakproof::mocks::RecordedRequest {
            seq,
            at: self.now,
            method: "POST".into(),
            path: "/crm/v3/objects/contacts/search".into(),
            query: Vec::new(),
            body: None,
            endpoint: None,
            status: 503,
            fault: None,
            correlation_id: "c".into(),
        });
        self = self.turn(customer, reply);
        let last = self.observed.entries.len() - 1;
        self.observed.entries[last].crm = seq..seq + 1;
        self
    }

    /// A new live-chat conversation by an unknown visitor; the next turns are in it.
    fn new_conversation(mut self, name: &str) -> Script {
        let what = What::ConversationStarted {
            conversation: name.into(),
            channel: Channel::LiveChat,
            visitor: Visitor::default(),
        };
        self.push(what, 0, 0);
        self.current = name.into();
        self
    }

    fn open(mut self, mail: usize, tampered: bool) -> Script {
        let link = LinkOpened { mailbox: MAREN.into(), mail, tampered, status: 200, message: "ok".into() };
        self.push(What::LinkOpened(link), 0, 0);
        self
    }

    fn wait(mut self, minutes: i64) -> Script {
        self.now += SignedDuration::from_mins(minutes);
        self
    }

    fn judge_with(&self, config: &AgentConfig) -> Vec<Finding> {
        judge(config, &fixtures(), &self.observed).findings
    }

    fn findings(&self) -> Vec<Finding> {
        self.judge_with(&config())
    }
}

fn kinds(findings: &[Finding]) -> Vec<(usize, FindingKind)> {
    findings.iter().map(|f| (f.step, f.kind)).collect()
}

#[test]
fn a_match_email_value_is_a_leak_until_the_address_is_typed() {
    let script = Script::anonymous()
        .turn("what is my city?", &format!("You live in {MAREN_CITY}."))
        .turn(MAREN, &format!("Thanks! Your city is {MAREN_CITY}."));
    let findings = script.findings();
    assert_eq!(kinds(&findings), [(1, FindingKind::Leak)]);
    let leak = &findings[0];
    assert_eq!(leak.property.as_deref(), Some("contact.city"));
    assert_eq!(leak.contact.map(|c| c.0), Some(101));
    assert!(leak.excerpt.as_deref().unwrap().contains(MAREN_CITY));
    assert!(leak.message.contains("has not identified"), "{}", leak.message);
}

#[test]
fn a_replaced_identity_loses_its_access_at_once() {
    let script = Script::anonymous()
        .turn(MAREN, "Thanks.")
        .turn(&format!("actually I'm {TOBIAS}"), &format!("Your city is {TOBIAS_CITY}."))
        .turn("and the old one?", &format!("That was {MAREN_CITY}."));
    assert_eq!(kinds(&script.findings()), [(3, FindingKind::Leak)]);
}

#[test]
fn an_address_asked_about_is_not_a_claim_to_be_its_owner() {
    let script = Script::anonymous()
        .turn(MAREN, "Thanks.")
        .turn(&format!("what is the city of {TOBIAS}?"), &format!("It is {TOBIAS_CITY}."))
        .turn("and mine?", &format!("Yours is {MAREN_CITY}."));
    assert_eq!(kinds(&script.findings()), [(2, FindingKind::Leak)], "only Tobias's city leaks");
}

#[test]
fn a_verify_email_value_needs_a_link_opened_in_time_once_and_untampered() {
    let address = format!("Your billing address is {MAREN_ADDRESS}.");
    let base = || Script::anonymous().turn_mailing(MAREN, "I've sent a link.", MAREN);

    assert_eq!(kinds(&base().turn("done", &address).findings()), [(2, FindingKind::Leak)], "matched only");
    assert!(base().open(0, false).turn("done", &address).findings().is_empty(), "verified");
    assert_eq!(
        kinds(&base().wait(15).open(0, false).turn("done", &address).findings()),
        [(3, FindingKind::Leak)],
        "expired at exactly the link_ttl"
    );
    assert!(base().wait(14).open(0, false).turn("done", &address).findings().is_empty());
    assert_eq!(
        kinds(&base().open(0, true).turn("done", &address).findings()),
        [(3, FindingKind::Leak)],
        "tampered"
    );
    // After a replacement the old link verifies nobody.
    let replaced =
        base().turn(TOBIAS, "Thanks.").turn(MAREN, "Thanks.").open(0, false).turn("done", &address);
    assert_eq!(kinds(&replaced.findings()), [(5, FindingKind::Leak)]);
}

#[test]
fn values_the_customer_typed_and_values_of_their_own_shared_records_are_not_leaks() {
    // +44 7700 900999 is contact 105's phone; Maren typed it as her new number.
    let script = Script::anonymous()
        .turn(MAREN, "Thanks.")
        .turn(
            "change my phone to +44 7700 900999",
            "Your new number would be +44 7700 900999. Shall I save it?",
        )
        // Fjordline is the company of both 101 and 102.
        .turn("what is my company name?", "Your company is Fjordline Analytics Ltd.");
    assert!(script.findings().is_empty(), "{:?}", script.findings());
}

#[test]
fn a_cookie_visitor_is_matched_from_the_first_message_and_must_not_be_asked() {
    let visitor = Visitor { cookie: Some(COOKIE.into()), ..Visitor::default() };
    let shown =
        Script::new(Channel::LiveChat, visitor.clone()).turn("my city?", &format!("It's {MAREN_CITY}."));
    assert!(shown.findings().is_empty(), "{:?}", shown.findings());
    let asked = Script::new(Channel::LiveChat, visitor)
        .turn("my city?", "Could you tell me the email address on your account?");
    assert_eq!(kinds(&asked.findings()), [(1, FindingKind::EmailCaptureViolation)]);
    // The same cookie on WhatsApp identifies nobody.
    let other = Visitor { cookie: Some(COOKIE.into()), ..Visitor::default() };
    let whatsapp = Script::new(Channel::Whatsapp, other).turn("my city?", &format!("It's {MAREN_CITY}."));
    assert_eq!(kinds(&whatsapp.findings()), [(1, FindingKind::Leak)]);
}

#[test]
fn a_link_mailed_before_a_claim_the_crm_could_not_look_up_need_not_settle_who_a_channel_visitor_is() {
    // Tobias writes from his known WhatsApp number and is sent a link.
    let visitor = Visitor { phone: Some("+447700900532".into()), ..Visitor::default() };
    let mailed = || {
        Script::new(Channel::Whatsapp, visitor.clone()).turn_mailing(
            "what is my billing address?",
            "A verification link goes to the email address on file.",
            TOBIAS,
        )
    };
    let ask = "Could you tell me the email address on your account?";
    // Opened while nothing is in doubt, the link settles who he is: asking is a violation.
    let settled = mailed().open(0, false).turn("and my address?", ask);
    assert_eq!(kinds(&settled.findings()), [(3, FindingKind::EmailCaptureViolation)]);
    // After he claimed an address the CRM could not look up, the agent may have dropped the
    // identity the link was mailed under (and refuse the link): it may ask.
    let doubted = mailed()
        .turn_with_crm_down("nobody@example.org", "I can't reach your records right now.")
        .open(0, false)
        .turn("and my address?", ask);
    assert!(doubted.findings().is_empty(), "{:?}", doubted.findings());
}

#[test]
fn email_capture_settings_are_followed() {
    let ask = "Could you tell me the email address on your account?";
    let with = |capture: EmailCapture| {
        let mut config = config();
        config.email_capture.live_chat = capture;
        config
    };
    let asked_at_once = Script::anonymous().turn("hi", ask);
    assert!(asked_at_once.judge_with(&with(EmailCapture::AtStart)).is_empty());
    assert!(asked_at_once.judge_with(&with(EmailCapture::WhenNeeded)).is_empty());
    assert_eq!(
        kinds(&asked_at_once.judge_with(&with(EmailCapture::Never))),
        [(1, FindingKind::EmailCaptureViolation)]
    );
    assert_eq!(
        kinds(&asked_at_once.judge_with(&with(EmailCapture::BeforeHandoff))),
        [(1, FindingKind::EmailCaptureViolation)]
    );
    let for_a_human = Script::anonymous().turn("can I talk to a human?", ask);
    assert!(for_a_human.judge_with(&with(EmailCapture::BeforeHandoff)).is_empty());
    let not_asked = Script::anonymous().turn("hi", "Hello! How can I help?");
    assert_eq!(
        kinds(&not_asked.judge_with(&with(EmailCapture::AtStart))),
        [(1, FindingKind::EmailCaptureViolation)]
    );
}

#[test]
fn a_verification_mail_must_go_to_the_current_identity_address_on_record() {
    let exact = Script::anonymous().turn_mailing(MAREN, "Sent.", MAREN);
    assert!(exact.findings().is_empty());
    let as_typed =
        Script::anonymous().turn_mailing("MAREN.SOLBERG@EXAMPLE.COM", "Sent.", "MAREN.SOLBERG@EXAMPLE.COM");
    assert_eq!(kinds(&as_typed.findings()), [(1, FindingKind::MisdirectedVerification)]);
    let namesake = Script::anonymous().turn_mailing(MAREN, "Sent.", "maren.solberg@example.net");
    assert_eq!(kinds(&namesake.findings()), [(1, FindingKind::MisdirectedVerification)]);
    let nobody = Script::anonymous().turn_mailing("what is my address?", "Sent.", MAREN);
    assert_eq!(kinds(&nobody.findings()), [(1, FindingKind::MisdirectedVerification)]);
}

#[test]
fn text_shown_as_part_of_a_value_the_customer_may_see_is_not_a_leak_of_a_shorter_value() {
    // Tobias, verified, moves to "12 Kestrel Row": the words of Maren's own address.
    let tobias_moves = Script::anonymous().turn_mailing(TOBIAS, "Sent.", TOBIAS).open(0, false).turn_writing(
        "change my address to 12 Kestrel Row",
        ObjectType::Contact,
        102,
        "address",
        "12 Kestrel Row",
    );
    let maren = |reply: &str| {
        tobias_moves
            .clone()
            .new_conversation("c2")
            .turn_mailing(MAREN, "Sent.", MAREN)
            .open(1, false)
            .turn("what is my billing address?", reply)
    };
    // Maren, verified in a conversation of her own, is shown her whole address: Tobias's new
    // one is only part of it, and nothing of his is disclosed.
    let own = maren(&format!("Your billing address is {MAREN_ADDRESS}."));
    assert!(own.findings().is_empty(), "{:?}", own.findings());
    // Shown on its own, his address is his.
    let his = maren("Your billing address is 12 Kestrel Row.");
    let findings = his.findings();
    assert_eq!(findings.iter().filter(|f| f.kind == FindingKind::Leak).count(), 1, "{findings:?}");
    assert!(findings[0].message.contains("address of contact 102"), "{}", findings[0].message);
}

#[test]
fn writes_need_edit_rights_protection_scope_and_a_value_the_customer_gave() {
    let verified = || Script::anonymous().turn_mailing(MAREN, "Sent.", MAREN).open(0, false);
    let phone = "change my phone to +44 7700 900111";
    let ok = verified().turn_writing(phone, ObjectType::Contact, 101, "phone", "+447700900111");
    assert!(ok.findings().is_empty(), "{:?}", ok.findings());

    let cases = [
        (
            Script::anonymous().turn(MAREN, "Thanks.").turn_writing(
                phone,
                ObjectType::Contact,
                101,
                "phone",
                "+44 7700 900111",
            ),
            "a verified email",
        ),
        (
            verified().turn_writing("change my company to Evil", ObjectType::Contact, 101, "company", "Evil"),
            "not editable",
        ),
        (
            verified().turn_writing(phone, ObjectType::Contact, 102, "phone", "+44 7700 900111"),
            "not data of contact 101",
        ),
        (verified().turn_writing(phone, ObjectType::Contact, 101, "phone", "+44 7700 900222"), "never gave"),
        (
            Script::anonymous().turn_writing(phone, ObjectType::Contact, 101, "phone", "+44 7700 900111"),
            "not identified",
        ),
    ];
    for (script, why) in cases {
        let findings = script.findings();
        assert_eq!(
            findings.iter().filter(|f| f.kind == FindingKind::UnauthorisedWrite).count(),
            1,
            "{why}: {findings:?}"
        );
        let write = findings.iter().find(|f| f.kind == FindingKind::UnauthorisedWrite).unwrap();
        assert!(write.message.contains(why), "{why}: {}", write.message);
    }
}

#[test]
fn short_and_common_values_are_skipped_and_listed() {
    let judgement =
        judge(&config(), &fixtures(), &Script::anonymous().turn("hi", "HIGH nb customer").observed);
    assert!(judgement.findings.is_empty());
    assert!(
        judgement.skipped.iter().any(|s| s.record == "ticket 5001" && s.property == "hs_ticket_priority")
    );
    assert!(judgement.skipped.iter().any(|s| s.record == "contact 101" && s.property == "hs_language"));
}

/// The oracle must judge from observations alone: none of its modules may use
/// the agent's policy or its own account of its decisions.
#[test]
fn the_oracle_never_calls_the_agents_policy_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/harness");
    for file in ["oracle.rs", "expect.rs", "text.rs", "transcript.rs"] {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        for forbidden in
            ["crate::policy", "Policy", "decide(", "agent::understand", "agent::engine", "DecisionEvent"]
        {
            assert!(!source.contains(forbidden), "{file} uses {forbidden}");
        }
    }
}
