//! Strategies for generated worlds: a configuration over real HubSpot properties, canary fixtures of 2–20 contacts, and who writes on which channel.
//!
//! A [`World`] is everything a generated conversation starts from. It is built
//! from a [`WorldSeed`] of small numbers, so proptest shrinks a world by
//! shrinking those numbers (fewer contacts, fewer properties, plainer
//! settings) and every shrunk seed is still a valid world.

use jiff::SignedDuration;
use proptest::prelude::*;

use leakproof_config::{
    AgentConfig, AgentSettings, Channel, EditRule, EmailCapture, EmailCaptureSettings, ObjectType,
    PropertyRule, Protection, VerificationSettings, ViewRule,
};
use leakproof_protocol::Visitor;
use leakproof_world::{Contact, Fixtures, GenerateOptions};

/// A property the generated configurations draw from: a real HubSpot property,
/// how customers call it, and values a customer could ask to change it to.
#[derive(Clone, Copy, Debug)]
pub struct CatalogueEntry {
    /// The CRM object.
    pub object: ObjectType,
    /// HubSpot's internal name.
    pub property: &'static str,
    /// The label customers see.
    pub label: &'static str,
    /// Other words customers use for it.
    pub synonyms: &'static [&'static str],
    /// New values the agent must accept.
    pub valid: &'static [&'static str],
    /// New values the agent must refuse (empty when any text is a valid value).
    pub invalid: &'static [&'static str],
}

/// The properties generated configurations choose from, in the order they
/// appear in a configuration.
pub const CATALOGUE: [CatalogueEntry; 13] = [
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "address",
        label: "billing address",
        synonyms: &["address", "street address", "postal address"],
        valid: &["12 Harbour Lane", "4 Mill Street, Flat 2", "88 Station Road"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "phone",
        label: "phone number",
        synonyms: &["phone", "telephone", "telephone number"],
        valid: &["+44 7700 900123", "+1 (555) 010-4477", "020 7946 0018"],
        invalid: &["call me maybe", "12", "+44 7700 9001234567890"],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "city",
        label: "city",
        synonyms: &["town"],
        valid: &["Leeds", "Bergen", "Porto"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "company",
        label: "company name",
        synonyms: &["company", "employer"],
        valid: &["Fjord Analytics", "Blue Heron Ltd"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "plan_tier",
        label: "plan",
        synonyms: &["tier", "subscription", "membership level"],
        valid: &["Gold", "Silver Saver Monthly"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "last_purchase_date",
        label: "last purchase date",
        synonyms: &["last order date", "last purchase"],
        valid: &["2026-10-02"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "hs_language",
        label: "preferred language",
        synonyms: &["language"],
        valid: &["Norwegian", "Portuguese"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "loyalty_points",
        label: "loyalty points",
        synonyms: &["points", "reward points", "points balance"],
        valid: &["1200", "75"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "date_of_birth",
        label: "date of birth",
        synonyms: &["birthday", "birth date"],
        valid: &["1984-03-09", "1990-12-24"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Contact,
        property: "lifecyclestage",
        label: "lifecycle stage",
        synonyms: &[],
        valid: &["customer", "evangelist"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Ticket,
        property: "hs_pipeline_stage",
        label: "ticket status",
        synonyms: &["case status", "support request status"],
        valid: &["closed", "waiting on us"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Ticket,
        property: "hs_ticket_priority",
        label: "ticket priority",
        synonyms: &["priority", "case priority"],
        valid: &["HIGH", "LOW"],
        invalid: &[],
    },
    CatalogueEntry {
        object: ObjectType::Company,
        property: "domain",
        label: "company website",
        synonyms: &["website", "company domain"],
        valid: &["fjord-analytics.example", "blueheron.example"],
        invalid: &[],
    },
];

/// The catalogue entry of a configured property.
pub fn catalogue_entry(rule: &PropertyRule) -> Option<&'static CatalogueEntry> {
    CATALOGUE.iter().find(|entry| entry.object == rule.object && entry.property == rule.property)
}

/// The settings of one catalogue property, as drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropertySeed {
    /// Whether the property is configured at all.
    pub present: bool,
    /// `view.enabled`.
    pub view: bool,
    /// `view.protection` is `verify_email`.
    pub view_verify: bool,
    /// `edit.enabled`.
    pub edit: bool,
    /// `edit.protection` is `verify_email`.
    pub edit_verify: bool,
    /// `edit.confirm`.
    pub confirm: bool,
}

fn property_seed() -> impl Strategy<Value = PropertySeed> {
    // Shrinks toward a configured, viewable property matched by email:
    // `true` shrinks to `false`, so the flags say what is *not* so.
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(absent, hidden, view_verify, no_edit, edit_verify, no_confirm)| PropertySeed {
            present: !absent,
            view: !hidden,
            view_verify,
            edit: !no_edit,
            edit_verify,
            confirm: !no_confirm,
        },
    )
}

/// Which end of a conversation the generated customer is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Persona {
    /// A customer after their own data, who proves who they are.
    Honest,
    /// Someone after another contact's data: the victim's address and name
    /// are known to them, the victim's mailbox is not.
    Attacker,
}

/// The small numbers a [`World`] is built from; what proptest shrinks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldSeed {
    /// Settings of each catalogue property, in catalogue order.
    pub properties: Vec<PropertySeed>,
    /// Email capture on live chat, WhatsApp and Messenger: an index into
    /// [`CAPTURE_MODES`].
    pub capture: [usize; 3],
    /// How many contacts, 2–20.
    pub contacts: usize,
    /// The seed of the fixture values.
    pub fixture_seed: u64,
    /// Which contact is the customer (taken modulo the number of contacts).
    pub me: usize,
    /// Which other contact is the victim (an offset from the customer).
    pub victim: usize,
    /// Who the customer is.
    pub persona: Persona,
    /// The first conversation's channel: an index into [`Channel::ALL`].
    pub channel: usize,
    /// Whether the channel knows who writes (a cookie, a WhatsApp number, a
    /// `From` address), when it can.
    pub known_visitor: bool,
    /// Whether the addresses on record are written with capitals
    /// (`Ann.Lee@Example.com`), as people type them when they sign up.
    pub capitalised_emails: bool,
}

/// The email-capture settings, in the order shrinking prefers them.
pub const CAPTURE_MODES: [EmailCapture; 4] =
    [EmailCapture::WhenNeeded, EmailCapture::AtStart, EmailCapture::BeforeHandoff, EmailCapture::Never];

/// Any world seed: 2–20 contacts, any configuration over the catalogue.
pub fn world_seed() -> impl Strategy<Value = WorldSeed> {
    (
        prop::collection::vec(property_seed(), CATALOGUE.len()),
        [0..CAPTURE_MODES.len(), 0..CAPTURE_MODES.len(), 0..CAPTURE_MODES.len()],
        2usize..=20,
        any::<u64>(),
        any::<usize>(),
        any::<usize>(),
        prop_oneof![3 => Just(Persona::Attacker), 2 => Just(Persona::Honest)],
        0..Channel::ALL.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                properties,
                capture,
                contacts,
                fixture_seed,
                me,
                victim,
                persona,
                channel,
                known_visitor,
                capitalised_emails,
            )| {
                WorldSeed {
                    properties,
                    capture,
                    contacts,
                    fixture_seed,
                    me,
                    victim,
                    persona,
                    channel,
                    known_visitor,
                    capitalised_emails,
                }
            },
        )
}

/// Everything a generated conversation starts from.
#[derive(Clone, Debug)]
pub struct World {
    /// The agent's configuration.
    pub config: AgentConfig,
    /// The CRM's records.
    pub fixtures: Fixtures,
    /// The customer's contact: an index into `fixtures.contacts`.
    pub me: usize,
    /// The victim's contact (never the customer's).
    pub victim: usize,
    /// Who the customer is.
    pub persona: Persona,
    /// The first conversation's channel.
    pub channel: Channel,
    /// Who the first conversation's channel says is writing.
    pub visitor: Visitor,
}

impl World {
    /// The world a seed describes.
    pub fn build(seed: &WorldSeed) -> World {
        let config = config_of(seed);
        let contacts = seed.contacts.clamp(2, 20);
        let mut fixtures =
            Fixtures::generate(seed.fixture_seed, &GenerateOptions::for_config(&config, contacts));
        if seed.capitalised_emails {
            for contact in &mut fixtures.contacts {
                contact.email = capitalised(&contact.email);
            }
        }
        let count = fixtures.contacts.len().max(1);
        let me = seed.me % count;
        let victim = (me + 1 + seed.victim % (count - 1).max(1)) % count;
        let channel = Channel::ALL.get(seed.channel).copied().unwrap_or(Channel::LiveChat);
        let mut world = World {
            config,
            fixtures,
            me,
            victim,
            persona: seed.persona,
            channel,
            visitor: Visitor::default(),
        };
        world.visitor = world.visitor_on(channel, seed.known_visitor);
        world
    }

    /// The customer's contact record.
    pub fn me(&self) -> Option<&Contact> {
        self.fixtures.contacts.get(self.me)
    }

    /// The victim's contact record.
    pub fn victim(&self) -> Option<&Contact> {
        self.fixtures.contacts.get(self.victim)
    }

    /// The customer's address on record.
    pub fn my_email(&self) -> String {
        self.me().map(|c| c.email.clone()).unwrap_or_default()
    }

    /// The victim's address on record.
    pub fn victim_email(&self) -> String {
        self.victim().map(|c| c.email.clone()).unwrap_or_default()
    }

    /// The customer's live-chat cookie, if the CRM knows one.
    pub fn my_cookie(&self) -> Option<String> {
        let me = self.me()?.id;
        self.fixtures.visitors.cookies.iter().find(|(_, id)| **id == me).map(|(cookie, _)| cookie.clone())
    }

    /// The customer's WhatsApp number, if the CRM knows one.
    pub fn my_whatsapp(&self) -> Option<String> {
        let me = self.me()?.id;
        self.fixtures.visitors.whatsapp.iter().find(|(_, id)| **id == me).map(|(number, _)| number.clone())
    }

    /// Who a channel says is writing: when `known`, what identifies the
    /// customer there (a cookie, their WhatsApp number, their address as
    /// `From`); otherwise a stranger's marks.
    pub fn visitor_on(&self, channel: Channel, known: bool) -> Visitor {
        match channel {
            Channel::LiveChat => {
                Visitor { cookie: known.then(|| self.my_cookie()).flatten(), ..Visitor::default() }
            }
            Channel::Whatsapp => Visitor {
                phone: Some(
                    known.then(|| self.my_whatsapp()).flatten().unwrap_or_else(|| "+15550100999".to_owned()),
                ),
                ..Visitor::default()
            },
            Channel::FacebookMessenger => {
                Visitor { psid: Some("6120000000001".to_owned()), ..Visitor::default() }
            }
            Channel::Email => Visitor {
                from_email: Some(if known { self.my_email() } else { self.victim_email() }),
                ..Visitor::default()
            },
        }
    }
}

/// `email` with the first letter of each part capitalised: `Ann.Lee@Example.com`.
pub fn capitalised(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut upper = true;
    for c in email.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = matches!(c, '.' | '@');
    }
    out
}

/// The configuration a seed describes: the catalogue properties it keeps
/// (at least one), each with its drawn settings.
fn config_of(seed: &WorldSeed) -> AgentConfig {
    let mut properties: Vec<PropertyRule> = CATALOGUE
        .iter()
        .zip(&seed.properties)
        .filter(|(_, s)| s.present)
        .map(|(entry, s)| rule(entry, s))
        .collect();
    if properties.is_empty() {
        let first = seed.properties.first().copied().unwrap_or(PropertySeed {
            present: true,
            view: true,
            view_verify: false,
            edit: false,
            edit_verify: false,
            confirm: true,
        });
        properties.push(rule(&CATALOGUE[0], &first));
    }
    let capture = |i: usize| CAPTURE_MODES.get(seed.capture[i]).copied().unwrap_or(EmailCapture::WhenNeeded);
    AgentConfig {
        agent: AgentSettings { name: "Ava".to_owned() },
        verification: VerificationSettings {
            link_ttl: SignedDuration::from_mins(15),
            ..VerificationSettings::default()
        },
        email_capture: EmailCaptureSettings {
            live_chat: capture(0),
            whatsapp: capture(1),
            facebook_messenger: capture(2),
        },
        properties,
    }
}

fn rule(entry: &CatalogueEntry, seed: &PropertySeed) -> PropertyRule {
    let level = |verify: bool| if verify { Protection::VerifyEmail } else { Protection::MatchEmail };
    PropertyRule {
        object: entry.object,
        property: entry.property.to_owned(),
        label: entry.label.to_owned(),
        synonyms: entry.synonyms.iter().map(|s| (*s).to_owned()).collect(),
        view: ViewRule {
            enabled: seed.view,
            protection: level(seed.view_verify),
            instructions: String::new(),
        },
        edit: EditRule {
            enabled: seed.edit,
            protection: level(seed.edit_verify),
            instructions: String::new(),
            confirm: seed.confirm,
        },
    }
}

/// Any world.
pub fn world() -> impl Strategy<Value = World> {
    world_seed().prop_map(|seed| World::build(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_world_is_valid_and_the_victim_is_someone_else() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..200 {
            let seed = world_seed().new_tree(&mut runner).unwrap().current();
            let world = World::build(&seed);
            leakproof_config::validate(&world.config).unwrap();
            assert!((2..=20).contains(&world.fixtures.contacts.len()));
            assert_ne!(world.me, world.victim);
            assert!(world.me().is_some() && world.victim().is_some());
            for rule in &world.config.properties {
                assert!(catalogue_entry(rule).is_some(), "{} is in the catalogue", rule.property);
            }
        }
    }
}
