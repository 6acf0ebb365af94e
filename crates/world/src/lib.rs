//! The CRM world a conversation runs against: contacts, tickets, companies, and the visitors the channels recognise.
//!
//! Fixtures are written in YAML (see [`load_file`]) or generated from a seed
//! with realistic values that each carry a unique canary fragment (see
//! [`Fixtures::generate`] and [`canary`]), so that any value seen later in a
//! reply traces back to exactly one (record, property).
//!
//! ```
//! use leakproof_world::{Fixtures, GenerateOptions, RecordRef};
//!
//! let fixtures = Fixtures::generate(7, &GenerateOptions::default());
//! leakproof_world::validate(&fixtures).unwrap();
//!
//! // Every generated value names its owner through its canary.
//! let contact = &fixtures.contacts[0];
//! let address = &contact.properties["address"];
//! let sightings = fixtures.canaries().find(&format!("Your address is {address}."));
//! assert_eq!(sightings.len(), 1);
//! assert_eq!(sightings[0].owner.record, RecordRef::Contact(contact.id));
//! assert_eq!(sightings[0].owner.property, "address");
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod canary;
mod generate;
mod load;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use leakproof_config::ObjectType;
use leakproof_config::ids::ContactId;
use leakproof_config::yaml::{EXPECTED_SCALAR, ScalarTextVisitor};

pub use canary::{CANARY_CAPACITY, Canaries, CanaryMint, CanaryOwner, CanarySighting, find_canary_tokens};
pub use generate::{GenerateOptions, MAX_CONTACTS, MAX_TICKETS_PER_CONTACT};
pub use leakproof_hubspot::crm::is_email_shaped;
pub use load::{from_yaml_str, is_e164, is_internal_name, load_file, parse, validate};

pub use leakproof_hubspot::crm::RecordId;

/// Which record of the CRM world: a contact, a ticket or a company, by id.
///
/// Contacts, tickets and companies each have their own id space in HubSpot,
/// so a bare number does not name a record; this does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordRef {
    /// A contact record.
    Contact(ContactId),
    /// A ticket record.
    Ticket(RecordId),
    /// A company record.
    Company(RecordId),
}

impl RecordRef {
    /// The CRM object the record is of.
    pub const fn object(self) -> ObjectType {
        match self {
            RecordRef::Contact(_) => ObjectType::Contact,
            RecordRef::Ticket(_) => ObjectType::Ticket,
            RecordRef::Company(_) => ObjectType::Company,
        }
    }

    /// The record's numeric id, within its object's id space.
    pub const fn id(self) -> u64 {
        match self {
            RecordRef::Contact(ContactId(id))
            | RecordRef::Ticket(RecordId(id))
            | RecordRef::Company(RecordId(id)) => id,
        }
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object(), self.id())
    }
}

/// A whole CRM world.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// The contacts, each with its own email address.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Support tickets; a contact lists the ones associated with it.
    #[serde(default)]
    pub tickets: Vec<Record>,
    /// Companies; a contact lists the ones associated with it.
    #[serde(default)]
    pub companies: Vec<Record>,
    /// Visitors the channels recognise without asking.
    #[serde(default)]
    pub visitors: Visitors,
}

/// A contact record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The record id (`hs_object_id`).
    pub id: ContactId,
    /// The email address on record: where verification links go.
    pub email: String,
    /// Property values by HubSpot internal name. Values are text, as on the
    /// wire; `email` is not repeated here.
    #[serde(default, deserialize_with = "text_values")]
    pub properties: BTreeMap<String, String>,
    /// Tickets associated with this contact.
    #[serde(default)]
    pub tickets: Vec<RecordId>,
    /// Companies associated with this contact.
    #[serde(default)]
    pub companies: Vec<RecordId>,
}

/// A ticket or company record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The record id (`hs_object_id`).
    pub id: RecordId,
    /// Property values by HubSpot internal name.
    #[serde(default, deserialize_with = "text_values")]
    pub properties: BTreeMap<String, String>,
}

/// Visitors a channel recognises: a returning live-chat visitor's cookie, a
/// WhatsApp sender's phone number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visitors {
    /// Live-chat cookie value -> the contact it identifies.
    #[serde(default)]
    pub cookies: BTreeMap<String, ContactId>,
    /// WhatsApp phone number (E.164, e.g. `+4712345678`) -> the contact.
    #[serde(default)]
    pub whatsapp: BTreeMap<String, ContactId>,
}

impl Fixtures {
    /// The contact with `id`.
    pub fn contact(&self, id: ContactId) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// The contact whose email on record is `email`, compared without case
    /// as HubSpot does.
    pub fn contact_by_email(&self, email: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.email.eq_ignore_ascii_case(email.trim()))
    }

    /// The ticket with `id`.
    pub fn ticket(&self, id: RecordId) -> Option<&Record> {
        self.tickets.iter().find(|r| r.id == id)
    }

    /// The company with `id`.
    pub fn company(&self, id: RecordId) -> Option<&Record> {
        self.companies.iter().find(|r| r.id == id)
    }

    /// Every record: the contacts, then the tickets, then the companies.
    pub fn records(&self) -> impl Iterator<Item = RecordRef> + '_ {
        self.contacts
            .iter()
            .map(|c| RecordRef::Contact(c.id))
            .chain(self.tickets.iter().map(|t| RecordRef::Ticket(t.id)))
            .chain(self.companies.iter().map(|c| RecordRef::Company(c.id)))
    }

    /// Every property value of every record, in [`Fixtures::records`] order: what
    /// [`Fixtures::values`] gives for each record, without looking the records up.
    pub fn each_value(&self) -> impl Iterator<Item = (RecordRef, &str, &str)> + '_ {
        fn pairs(
            record: RecordRef,
            properties: &BTreeMap<String, String>,
        ) -> impl Iterator<Item = (RecordRef, &str, &str)> + '_ {
            properties.iter().map(move |(k, v)| (record, k.as_str(), v.as_str()))
        }
        let contacts = self.contacts.iter().flat_map(move |c| {
            let record = RecordRef::Contact(c.id);
            std::iter::once((record, "email", c.email.as_str())).chain(pairs(record, &c.properties))
        });
        let tickets = self.tickets.iter().flat_map(move |t| pairs(RecordRef::Ticket(t.id), &t.properties));
        let companies =
            self.companies.iter().flat_map(move |c| pairs(RecordRef::Company(c.id), &c.properties));
        contacts.chain(tickets).chain(companies)
    }

    /// The property values of `record`, or `None` when there is no such record.
    ///
    /// A contact's values include its `email`, which HubSpot serves as a
    /// property like any other.
    pub fn values(&self, record: RecordRef) -> Option<Vec<(&str, &str)>> {
        match record {
            RecordRef::Contact(id) => self.contact(id).map(|contact| {
                std::iter::once(("email", contact.email.as_str()))
                    .chain(contact.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .collect()
            }),
            RecordRef::Ticket(id) => {
                self.ticket(id).map(|r| r.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            }
            RecordRef::Company(id) => {
                self.company(id).map(|r| r.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            }
        }
    }

    /// The contacts whose data `record` is: the contact itself, or the
    /// contacts a ticket or company is associated with, in contact order.
    ///
    /// A company is often shared by several contacts, so its values belong to
    /// each of them: a customer verified for any one of them may see them,
    /// and they are not "another contact's data" for those contacts.
    pub fn contacts_of(&self, record: RecordRef) -> Vec<ContactId> {
        match record {
            RecordRef::Contact(id) => {
                if self.contact(id).is_some() {
                    vec![id]
                } else {
                    Vec::new()
                }
            }
            RecordRef::Ticket(id) => self.contacts_of_ticket(id),
            RecordRef::Company(id) => self.contacts_of_company(id),
        }
    }

    /// The contacts ticket `id` is associated with.
    pub fn contacts_of_ticket(&self, id: RecordId) -> Vec<ContactId> {
        self.contacts.iter().filter(|c| c.tickets.contains(&id)).map(|c| c.id).collect()
    }

    /// The contacts company `id` is associated with.
    pub fn contacts_of_company(&self, id: RecordId) -> Vec<ContactId> {
        self.contacts.iter().filter(|c| c.companies.contains(&id)).map(|c| c.id).collect()
    }

    /// Every record the contact's data covers: the contact, its tickets and
    /// its companies: its scope. Empty when there is no such contact.
    pub fn scope_of(&self, id: ContactId) -> Vec<RecordRef> {
        let Some(contact) = self.contact(id) else { return Vec::new() };
        std::iter::once(RecordRef::Contact(id))
            .chain(contact.tickets.iter().map(|&t| RecordRef::Ticket(t)))
            .chain(contact.companies.iter().map(|&c| RecordRef::Company(c)))
            .collect()
    }

    /// The contact a live-chat cookie identifies.
    pub fn contact_by_cookie(&self, cookie: &str) -> Option<&Contact> {
        self.visitors.cookies.get(cookie).and_then(|&id| self.contact(id))
    }

    /// The contact a WhatsApp sender's number (E.164) identifies.
    pub fn contact_by_whatsapp(&self, number: &str) -> Option<&Contact> {
        self.visitors.whatsapp.get(number).and_then(|&id| self.contact(id))
    }

    /// Every canary in this fixture set with the (record, property) that
    /// carries it; see [`canary`].
    pub fn canaries(&self) -> Canaries {
        Canaries::of(self)
    }

    /// The canaries of this fixture set that `text` contains, with their
    /// owners. Builds the index each call; keep [`Fixtures::canaries`] around
    /// to scan many texts.
    pub fn find_canaries(&self, text: &str) -> Vec<CanarySighting> {
        self.canaries().find(text)
    }
}

/// Property values as text: YAML authors write `points: 1200` or `vip: true`,
/// HubSpot sends and stores every value as a string.
///
/// Values are read as the text written (`zip: 02134` stays `02134`, `1.50`
/// stays `1.50`, `yes` stays `yes`), not through YAML's type guessing; a
/// property named twice, a list, a mapping or an empty value is an error at
/// that value.
fn text_values<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct PropertiesVisitor;

    impl<'de> Visitor<'de> for PropertiesVisitor {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of property names to values")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut values = BTreeMap::new();
            while let Some(name) = access.next_key::<String>()? {
                let TextValue(value) = access.next_value()?;
                if values.contains_key(&name) {
                    return Err(de::Error::custom(format_args!(
                        "duplicate property `{name}`: each property may be given once"
                    )));
                }
                values.insert(name, value);
            }
            Ok(values)
        }
    }

    // `properties:` left empty means no properties, as leaving it out does.
    deserializer.deserialize_option(PropertiesVisitor)
}

/// One property value, as text.
struct TextValue(String);

impl<'de> Deserialize<'de> for TextValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Option` first, so an empty value gets our message rather
        // than the parser's advice to use `Option<String>`.
        deserializer.deserialize_option(OptionalTextVisitor)
    }
}

struct OptionalTextVisitor;

impl<'de> Visitor<'de> for OptionalTextVisitor {
    type Value = TextValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_SCALAR)
    }

    fn visit_none<E: de::Error>(self) -> Result<TextValue, E> {
        Err(empty_value())
    }

    fn visit_unit<E: de::Error>(self) -> Result<TextValue, E> {
        Err(empty_value())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<TextValue, D::Error> {
        // As text: the scalar as written, not YAML's guess at its type.
        deserializer.deserialize_str(ScalarTextVisitor).map(|text| TextValue(text.0))
    }

    // Formats that hand over typed scalars without `Option` (JSON, for one).
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TextValue, E> {
        ScalarTextVisitor.visit_str(v).map(|text| TextValue(text.0))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<TextValue, E> {
        ScalarTextVisitor.visit_bool(v).map(|text| TextValue(text.0))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TextValue, E> {
        ScalarTextVisitor.visit_i64(v).map(|text| TextValue(text.0))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TextValue, E> {
        ScalarTextVisitor.visit_u64(v).map(|text| TextValue(text.0))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TextValue, E> {
        ScalarTextVisitor.visit_f64(v).map(|text| TextValue(text.0))
    }
}

fn empty_value<E: de::Error>() -> E {
    E::custom(format_args!("expected {EXPECTED_SCALAR}, found an empty value; write \"\" for empty text"))
}

#[cfg(test)]
mod tests;
