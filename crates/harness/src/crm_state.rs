//! The mock CRM's state and answers, replayed from what it logged: the fixtures with the applied writes, and the searches it received.
//!
//! The oracle and the expectations both need what a property held at some
//! moment of a run; neither asks the mocks, both replay the log:
//!
//! - [`CrmState`]: the fixtures, with the writes the CRM applied so far, in
//!   the order it applied them;
//! - [`record_of`]: the record a write went to;
//! - [`failed`]: whether the agent may not have got what it asked for;
//! - [`ContactSearch`]: a contact search the CRM received, and what it named.

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

/// A search of contacts the CRM received, as its log holds it.
#[derive(Clone, Debug)]
pub struct ContactSearch<'a> {
    request: &'a RecordedRequest,
    /// What it asked for; `None` when the body could not be read as a search.
    search: Option<PublicObjectSearchRequest>,
}

impl<'a> ContactSearch<'a> {
    /// `request`, if it is a search of contacts: `POST …/{contacts|contact|0-1}/search`
    /// under the v3 objects path (`/crm/v3/objects/…`) or a date-versioned one
    /// (`/crm/objects/2026-03/…`).
    pub fn of(request: &'a RecordedRequest) -> Option<Self> {
        let path = request.path.trim_end_matches('/');
        let contacts =
            ["contacts", "contact", "0-1"].iter().any(|name| path.ends_with(&format!("/{name}/search")));
        let objects = path.starts_with("/crm/v3/objects/") || path.starts_with("/crm/objects/");
        let is_search = request.method.eq_ignore_ascii_case("POST") && contacts && objects;
        if !is_search {
            return None;
        }
        let search = request.body.clone().and_then(|body| serde_json::from_value(body).ok());
        Some(ContactSearch { request, search })
    }

    /// Every search of contacts among `requests`, in order.
    pub fn all_in(requests: &'a [RecordedRequest]) -> impl Iterator<Item = ContactSearch<'a>> + 'a {
        requests.iter().filter_map(ContactSearch::of)
    }

    /// Whether the CRM answered it whole (see [`failed`]).
    pub fn answered(&self) -> bool {
        !failed(self.request)
    }

    /// Whether it may have asked about `value` (an address, a cookie, a number): a filter or
    /// the free-text query names it, in any case, or its body cannot be read, so it may have
    /// asked about anything.
    pub fn may_name(&self, value: &str) -> bool {
        let Some(search) = &self.search else { return true };
        let value = value.trim().to_lowercase();
        let same = |named: &str| named.trim().to_lowercase() == value;
        search.query.as_deref().is_some_and(|query| query.to_lowercase().contains(&value))
            || search.filter_groups.iter().flat_map(|group| &group.filters).any(|filter| {
                filter.value.as_deref().is_some_and(same)
                    || filter.values.iter().flatten().any(|named| same(named))
            })
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
