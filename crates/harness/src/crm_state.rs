//! The mock CRM's state and answers, replayed from what it logged: the fixtures with the applied writes, and the searches it received.
//!
//! The oracle and the expectations both need what a property held at some
//! moment of a run; neither asks the mocks, both replay the log:
//!
//! - [`CrmState`]: the fixtures, with the writes the CRM applied so far, in
//!   the order it applied them;
//! - [`record_of`]: the record a write went to;
//! - [`failed`]: whether the agent may not have got what it asked for;
//! - [`ContactSearch`]: a lookup of contacts the CRM received (a search, or a read by
//!   `idProperty`), and what it named.

use leakproof_config::ObjectType;
use leakproof_config::ids::ContactId;
use leakproof_hubspot::crm::wire::PublicObjectSearchRequest;
use leakproof_mocks::{RecordedRequest, Write};
use leakproof_world::{Fixtures, RecordId, RecordRef};

/// The CRM as a run left it at some moment: the fixtures, with the writes it applied until
/// then.
#[derive(Clone, Debug)]
pub struct CrmState<'a> {
    fixtures: &'a Fixtures,
    /// The writes the CRM applied, in order.
    applied: Vec<&'a Write>,
}

impl<'a> CrmState<'a> {
    /// The CRM before any write: the fixtures.
    pub fn new(fixtures: &'a Fixtures) -> Self {
        CrmState { fixtures, applied: Vec::new() }
    }

    /// The CRM after `writes`, those it applied taking effect in order.
    pub fn after(fixtures: &'a Fixtures, writes: impl IntoIterator<Item = &'a Write>) -> Self {
        let mut state = CrmState::new(fixtures);
        for write in writes {
            state.apply(write);
        }
        state
    }

    /// The fixtures the run started from.
    pub fn fixtures(&self) -> &'a Fixtures {
        self.fixtures
    }

    /// Takes `write` into account, if the CRM applied it; returns whether it did.
    pub fn apply(&mut self, write: &'a Write) -> bool {
        if write.applied {
            self.applied.push(write);
        }
        write.applied
    }

    /// The value `property` of `record` holds now, whatever it is: the newest applied write
    /// that set it, or else the fixtures'.
    pub fn current(&self, record: RecordRef, property: &str) -> Option<String> {
        let written = self
            .applied
            .iter()
            .rev()
            .find(|w| record_of(w) == Some(record) && w.properties.contains_key(property));
        match written {
            Some(write) => write.properties.get(property).cloned(),
            None => self.fixtures.values(record).and_then(|values| {
                values.into_iter().find(|(p, _)| *p == property).map(|(_, v)| v.to_owned())
            }),
        }
    }

    /// The address on record of `contact` now.
    pub fn address_on_record(&self, contact: ContactId) -> Option<String> {
        self.current(RecordRef::Contact(contact), "email")
    }

    /// The contact whose address on record is now `address`, in any case.
    pub fn contact_with_address(&self, address: &str) -> Option<ContactId> {
        self.fixtures.contacts.iter().map(|c| c.id).find(|&id| {
            self.address_on_record(id).is_some_and(|on_record| on_record.eq_ignore_ascii_case(address))
        })
    }

    /// Every value `property` has had on any record of `object`, not blank: the fixtures'
    /// (in the fixtures' order), then each applied write's (in the order applied).
    pub fn values_ever(&self, object: ObjectType, property: &str) -> Vec<String> {
        let fixtures = self.fixtures;
        let mut values: Vec<String> = fixtures
            .records()
            .filter(|r| r.object() == object)
            .filter_map(|r| {
                fixtures.values(r)?.into_iter().find(|(p, _)| *p == property).map(|(_, v)| v.to_owned())
            })
            .collect();
        for write in &self.applied {
            if write.object == object
                && let Some(value) = write.properties.get(property)
            {
                values.push(value.clone());
            }
        }
        values.retain(|v| !v.trim().is_empty());
        values
    }
}

/// The record a write went to, if its id named one.
pub fn record_of(write: &Write) -> Option<RecordRef> {
    let id = write.id?;
    Some(match write.object {
        ObjectType::Contact => RecordRef::Contact(ContactId(id)),
        ObjectType::Ticket => RecordRef::Ticket(RecordId(id)),
        ObjectType::Company => RecordRef::Company(RecordId(id)),
    })
}

/// Whether the agent may not have got what it asked for: the mock served a fault (a 200
/// with a body that is not JSON or is cut short fails as surely as a 503, and a delayed
/// answer may have come after the agent gave up), or it answered an error other than "no
/// such record". Judged from what the mock served, never from the status alone.
pub fn failed(request: &RecordedRequest) -> bool {
    request.fault.is_some() || (request.status >= 400 && request.status != 404)
}

/// A lookup of contacts the CRM received, as its log holds it: a search, or a read that
/// names contacts by a property's value (`idProperty`) rather than by id.
#[derive(Clone, Debug)]
pub struct ContactSearch<'a> {
    request: &'a RecordedRequest,
    asked: Asked,
}

/// What a lookup asked about.
#[derive(Clone, Debug)]
enum Asked {
    /// A search; `None` when the body could not be read as one.
    Search(Option<PublicObjectSearchRequest>),
    /// A read by `idProperty` of these values (a get's path segment, a batch read's inputs);
    /// `None` when the body could not be read.
    Named(Option<Vec<String>>),
}

/// A batch read's body, as far as a lookup goes.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchRead {
    #[serde(default)]
    inputs: Vec<BatchInput>,
    #[serde(default)]
    id_property: Option<String>,
}

#[derive(serde::Deserialize)]
struct BatchInput {
    id: String,
}

impl<'a> ContactSearch<'a> {
    /// `request`, if it looks contacts up, under the v3 objects path (`/crm/v3/objects/…`)
    /// or a date-versioned one (`/crm/objects/2026-03/…`), contacts named `contacts`,
    /// `contact` or `0-1`: a search (`POST …/contacts/search`), a get by `idProperty`
    /// (`GET …/contacts/ann%40example.com?idProperty=email`), or a batch read by
    /// `idProperty`. A get or batch read by id names no address.
    pub fn of(request: &'a RecordedRequest) -> Option<Self> {
        let path = request.path.trim_end_matches('/');
        let dated = || path.strip_prefix("/crm/objects/")?.split_once('/').map(|(_, rest)| rest);
        let rest = path.strip_prefix("/crm/v3/objects/").or_else(dated)?;
        let (object, tail) = rest.split_once('/')?;
        if !matches!(object, "contacts" | "contact" | "0-1") {
            return None;
        }
        let method = request.method.to_ascii_uppercase();
        let asked = match (method.as_str(), tail) {
            ("POST", "search") => {
                Asked::Search(request.body.clone().and_then(|body| serde_json::from_value(body).ok()))
            }
            ("POST", "batch/read") => match request.body.clone().map(serde_json::from_value::<BatchRead>) {
                Some(Ok(read)) if read.id_property.is_none() => return None,
                Some(Ok(read)) => Asked::Named(Some(read.inputs.into_iter().map(|input| input.id).collect())),
                _ => Asked::Named(None),
            },
            ("GET", segment) if !segment.is_empty() && !segment.contains('/') => {
                request.query.iter().find(|(key, _)| key == "idProperty")?;
                let value = percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned();
                Asked::Named(Some(vec![value]))
            }
            _ => return None,
        };
        Some(ContactSearch { request, asked })
    }

    /// Every lookup of contacts among `requests`, in order.
    pub fn all_in(requests: &'a [RecordedRequest]) -> impl Iterator<Item = ContactSearch<'a>> + 'a {
        requests.iter().filter_map(ContactSearch::of)
    }

    /// Whether the CRM answered it whole (see [`failed`]).
    pub fn answered(&self) -> bool {
        !failed(self.request)
    }

    /// Whether it may have asked about `value` (an address, a cookie, a number): a filter,
    /// the free-text query or a value read by names it, in any case, or its body cannot be
    /// read, so it may have asked about anything.
    pub fn may_name(&self, value: &str) -> bool {
        let value = value.trim().to_lowercase();
        let same = |named: &str| named.trim().to_lowercase() == value;
        match &self.asked {
            Asked::Search(None) | Asked::Named(None) => true,
            Asked::Named(Some(values)) => values.iter().any(|named| same(named)),
            Asked::Search(Some(search)) => {
                search.query.as_deref().is_some_and(|query| query.to_lowercase().contains(&value))
                    || search.filter_groups.iter().flat_map(|group| &group.filters).any(|filter| {
                        filter.value.as_deref().is_some_and(same)
                            || filter.values.iter().flatten().any(|named| same(named))
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(body: Option<serde_json::Value>, status: u16) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            at: jiff::Timestamp::UNIX_EPOCH,
            method: "POST".into(),
            path: "/crm/v3/objects/contacts/search".into(),
            query: Vec::new(),
            body,
            endpoint: None,
            status,
            fault: None,
            correlation_id: "c".into(),
        }
    }

    #[test]
    fn a_search_names_the_values_of_its_filters_and_query_in_any_case() {
        let body = serde_json::json!({
            "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": "Ann@Example.com" }] }],
        });
        let request = search(Some(body), 200);
        let found = ContactSearch::of(&request).unwrap();
        assert!(found.may_name("ann@example.com") && found.answered());
        assert!(!found.may_name("bo@example.com"));
        let query = search(Some(serde_json::json!({ "query": "bo@example.com" })), 503);
        let found = ContactSearch::of(&query).unwrap();
        assert!(found.may_name("BO@example.com") && !found.answered());
        // A body that cannot be read may have asked about anything.
        let unreadable = search(None, 400);
        assert!(ContactSearch::of(&unreadable).unwrap().may_name("anyone@example.com"));
        let get = RecordedRequest {
            method: "GET".into(),
            path: "/crm/v3/objects/contacts/101".into(),
            ..search(None, 200)
        };
        assert!(ContactSearch::of(&get).is_none());
        // Only a POST to the contacts' search endpoint is a search of contacts: a ticket search
        // naming the address, or a GET of the search path, looked no contact up.
        let tickets = RecordedRequest { path: "/crm/v3/objects/tickets/search".into(), ..search(None, 200) };
        assert!(ContactSearch::of(&tickets).is_none());
        let get_search = RecordedRequest { method: "GET".into(), ..search(None, 200) };
        assert!(ContactSearch::of(&get_search).is_none());
        let trailing =
            RecordedRequest { path: "/crm/v3/objects/contacts/search/".into(), ..search(None, 200) };
        assert!(ContactSearch::of(&trailing).is_some());
        // The date-versioned paths and the other names of contacts search contacts too.
        for path in [
            "/crm/objects/2026-03/contacts/search",
            "/crm/v3/objects/0-1/search",
            "/crm/objects/2025-09/contact/search",
        ] {
            let dated = RecordedRequest { path: path.into(), ..search(None, 200) };
            assert!(ContactSearch::of(&dated).is_some(), "{path}");
        }
        let elsewhere =
            RecordedRequest { path: "/crm/objects/2026-03/tickets/search".into(), ..search(None, 200) };
        assert!(ContactSearch::of(&elsewhere).is_none());
    }

    #[test]
    fn a_read_by_id_property_names_what_it_reads_and_a_read_by_id_names_no_address() {
        let by_email = RecordedRequest {
            method: "GET".into(),
            path: "/crm/objects/2026-03/contacts/Ann%40Example.com".into(),
            query: vec![("idProperty".into(), "email".into()), ("properties".into(), "city".into())],
            ..search(None, 200)
        };
        let found = ContactSearch::of(&by_email).unwrap();
        assert!(found.may_name("ann@example.com") && !found.may_name("bo@example.com"));
        let by_id = RecordedRequest { query: Vec::new(), ..by_email.clone() };
        assert!(ContactSearch::of(&by_id).is_none());
        let batch = |body: serde_json::Value| RecordedRequest {
            path: "/crm/v3/objects/contacts/batch/read".into(),
            ..search(Some(body), 200)
        };
        let named = batch(serde_json::json!({ "inputs": [{"id": "bo@example.com"}], "idProperty": "email" }));
        let found = ContactSearch::of(&named).unwrap();
        assert!(found.may_name("BO@example.com") && !found.may_name("ann@example.com"));
        assert!(ContactSearch::of(&batch(serde_json::json!({ "inputs": [{"id": "101"}] }))).is_none());
        let unreadable = batch(serde_json::json!({ "inputs": "everyone" }));
        assert!(ContactSearch::of(&unreadable).unwrap().may_name("anyone@example.com"));
    }

    #[test]
    fn the_state_after_writes_holds_the_newest_applied_value() {
        let fixtures = leakproof_world::from_yaml_str(
            "f.yaml",
            "contacts:\n  - id: 1\n    email: ann@example.com\n    properties: { city: Leeds }\n",
        )
        .unwrap();
        let write = |seq, city: &str, applied| Write {
            seq,
            at: jiff::Timestamp::UNIX_EPOCH,
            object: ObjectType::Contact,
            id: Some(1),
            properties: [("city".to_owned(), city.to_owned())].into(),
            applied,
        };
        let writes = [write(0, "York", true), write(1, "Hull", false)];
        let state = CrmState::after(&fixtures, &writes);
        let ann = RecordRef::Contact(ContactId(1));
        assert_eq!(state.current(ann, "city").as_deref(), Some("York"));
        assert_eq!(state.values_ever(ObjectType::Contact, "city"), ["Leeds", "York"]);
        assert_eq!(state.contact_with_address("ANN@example.com"), Some(ContactId(1)));
        assert_eq!(state.address_on_record(ContactId(1)).as_deref(), Some("ann@example.com"));
    }
}
