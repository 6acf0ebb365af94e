//! The mock HubSpot CRM: contacts, tickets and companies over CRM v3 and v4 and the date-versioned paths, with state that PATCH changes.

mod associations;
mod properties;
mod route;
mod search;

pub use route::DATE_VERSIONS;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use jiff::Timestamp;
use serde::Serialize;

use super::{
    Admission, Core, Endpoint, ErrorDetail, Handler, MockOptions, MockResponse, MockService, Shared,
    error_response, error_response_with, fault_response, hubspot_response, hubspot_time, launch, lock,
    query_list, unauthorized,
};
use leakproof_config::ObjectType;
use leakproof_config::ids::ContactId;
use leakproof_hubspot::crm::ExchangeRequest;
use leakproof_hubspot::crm::wire::{
    AssociatedId, CollectionResponseAssociatedId, NextPage, Paging, SearchResponse, SimplePublicObject,
    SimplePublicObjectInput,
};
use leakproof_world::Fixtures;
use route::{Operation, Routed, route};
use search::Search;

pub use leakproof_hubspot::crm::{HUBSPOTUTK, WHATSAPP_PHONE};

/// The most records one page of a list returns, as HubSpot's spec says.
const MAX_LIST_LIMIT: u32 = 100;

/// The page size when a list names none.
const DEFAULT_LIST_LIMIT: u32 = 10;

/// The most records one batch read takes, as HubSpot's spec says.
const MAX_BATCH_INPUTS: usize = 100;

/// A write the CRM received: what the oracle checks against the identity
/// proven in the conversation at that moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Write {
    /// The request's place in the CRM's log.
    pub seq: usize,
    /// When it arrived.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// The object written.
    pub object: ObjectType,
    /// The record written, if the id named one.
    pub id: Option<u64>,
    /// The values sent.
    pub properties: BTreeMap<String, String>,
    /// Whether the values were stored (no fault, no validation error).
    pub applied: bool,
}

/// One stored record.
#[derive(Clone, Debug)]
struct Stored {
    properties: BTreeMap<String, String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The CRM's data.
#[derive(Debug, Default)]
struct Data {
    records: BTreeMap<ObjectType, BTreeMap<u64, Stored>>,
    /// The properties that exist, by object type: see [`known_properties`].
    known: BTreeMap<ObjectType, BTreeSet<String>>,
    /// (from object, from id, to object, to id), stored both ways.
    associations: BTreeSet<(ObjectType, u64, ObjectType, u64)>,
    writes: Vec<Write>,
}

/// The mock CRM's state: its records, associations and the writes received.
#[derive(Debug)]
pub struct CrmState(Mutex<Data>);

/// The mock CRM.
pub type MockCrm = MockService<CrmState>;

impl MockCrm {
    /// Starts the mock CRM seeded from `fixtures`, on `listener` or on a free
    /// loopback port.
    pub async fn start(
        fixtures: &Fixtures,
        options: MockOptions,
        listener: Option<std::net::TcpListener>,
    ) -> std::io::Result<MockCrm> {
        let state = state(fixtures, options.clock.now());
        Ok(launch(options, state, listener).await)
    }

    /// Every write (PATCH) received so far, applied or not, in order.
    pub fn writes(&self) -> Vec<Write> {
        lock(&self.shared.state.0).writes.clone()
    }

    /// How many writes were received so far: `writes().len()` without copying them.
    pub fn writes_len(&self) -> usize {
        lock(&self.shared.state.0).writes.len()
    }

    /// Makes the CRM as it was when started, seeded from `fixtures` instead
    /// (timestamps from its clock): no writes, an empty request log, no
    /// faults, request numbering from 0. See [`Mocks::reset`](super::Mocks::reset).
    pub fn reset(&self, fixtures: &Fixtures) {
        let data = seed(fixtures, self.shared.core.clock.now());
        self.shared.core.reset();
        *lock(&self.shared.state.0) = data;
    }

    /// The current values of a record, `None` if there is no such record.
    pub fn record(&self, object: ObjectType, id: u64) -> Option<BTreeMap<String, String>> {
        lock(&self.shared.state.0).records.get(&object)?.get(&id).map(|stored| stored.properties.clone())
    }
}

/// The CRM's state, seeded from `fixtures` with records created at `created`.
pub(super) fn state(fixtures: &Fixtures, created: Timestamp) -> CrmState {
    CrmState(Mutex::new(seed(fixtures, created)))
}

/// The CRM's data as the fixtures describe it.
fn seed(fixtures: &Fixtures, created: Timestamp) -> Data {
    let stored = |properties: BTreeMap<String, String>| Stored {
        properties,
        created_at: created,
        updated_at: created,
    };
    let mut data = Data::default();
    let mut link = |a: ObjectType, a_id: u64, b: ObjectType, b_id: u64| {
        data.associations.insert((a, a_id, b, b_id));
        data.associations.insert((b, b_id, a, a_id));
    };
    for contact in &fixtures.contacts {
        for ticket in &contact.tickets {
            link(ObjectType::Contact, contact.id.0, ObjectType::Ticket, ticket.0);
        }
        for company in &contact.companies {
            link(ObjectType::Contact, contact.id.0, ObjectType::Company, company.0);
        }
    }
    // Known visitors live on the contact, as HubSpot keeps them: the live-chat
    // cookie in `hubspotutk`, the WhatsApp sender in `hs_whatsapp_phone_number`.
    let visitor_property = |id: ContactId, map: &BTreeMap<String, ContactId>| {
        map.iter().find(|(_, owner)| **owner == id).map(|(key, _)| key.clone())
    };
    let contacts = fixtures
        .contacts
        .iter()
        .map(|contact| {
            let mut properties = contact.properties.clone();
            properties.insert("email".to_owned(), contact.email.clone());
            if let Some(cookie) = visitor_property(contact.id, &fixtures.visitors.cookies) {
                properties.insert(HUBSPOTUTK.to_owned(), cookie);
            }
            if let Some(phone) = visitor_property(contact.id, &fixtures.visitors.whatsapp) {
                properties.insert(WHATSAPP_PHONE.to_owned(), phone);
            }
            (contact.id.0, stored(properties))
        })
        .collect();
    let records = |list: &[leakproof_world::Record]| {
        list.iter().map(|record| (record.id.0, stored(record.properties.clone()))).collect()
    };
    data.records.insert(ObjectType::Contact, contacts);
    data.records.insert(ObjectType::Ticket, records(&fixtures.tickets));
    data.records.insert(ObjectType::Company, records(&fixtures.companies));
    for (object, records) in &data.records {
        data.known.insert(*object, known_properties(*object, records));
    }
    data
}

/// The properties that exist for `object`, as a HubSpot portal's property
/// definitions say; a PATCH naming any other is refused with
/// `PROPERTY_DOESNT_EXIST`, as HubSpot refuses it. The mock has no property
/// definitions of its own, so it takes as existing: every property any
/// fixture record of that type has (the fixtures stand for the portal, whose
/// custom properties they use), the ones HubSpot computes, and the standard
/// properties of [`standard_properties`], which every portal has whether or
/// not a record sets them.
fn known_properties(object: ObjectType, records: &BTreeMap<u64, Stored>) -> BTreeSet<String> {
    let mut known: BTreeSet<String> =
        records.values().flat_map(|stored| stored.properties.keys().cloned()).collect();
    let computed = ["hs_object_id", "createdate", modified_property(object)];
    let names = default_properties(object).iter().chain(standard_properties(object)).chain(&computed);
    known.extend(names.map(|name| (*name).to_owned()));
    known
}

/// Some of HubSpot's default properties of each object type: the ones a
/// customer agent reads or writes (contact details, ticket state, company
/// details). Not the whole list a portal has.
fn standard_properties(object: ObjectType) -> &'static [&'static str] {
    match object {
        ObjectType::Contact => &[
            "address",
            "city",
            "company",
            "country",
            "date_of_birth",
            "email",
            "fax",
            "firstname",
            "hs_additional_emails",
            "hs_language",
            "hs_lead_status",
            HUBSPOTUTK,
            WHATSAPP_PHONE,
            "jobtitle",
            "lastname",
            "lifecyclestage",
            "mobilephone",
            "phone",
            "state",
            "website",
            "zip",
        ],
        ObjectType::Ticket => &[
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "hubspot_owner_id",
            "source_type",
            "subject",
        ],
        ObjectType::Company => &[
            "address",
            "city",
            "country",
            "description",
            "domain",
            "industry",
            "lifecyclestage",
            "name",
            "phone",
            "state",
            "website",
            "zip",
        ],
    }
}

impl Handler for CrmState {
    fn handle(shared: &Shared<Self>, request: &ExchangeRequest<'_>) -> MockResponse {
        Inner { core: &shared.core, data: &shared.state.0 }.handle(request)
    }
}

/// The CRM's parts, borrowed for one request.
struct Inner<'a> {
    core: &'a Core,
    data: &'a Mutex<Data>,
}

/// A path segment with its `%`-escapes undone, and nothing else: `&`, `=`
/// and `+` are themselves in a path (a form decoder would cut the segment at
/// `&` and read `+` as a space). Escapes that are not UTF-8 are kept as
/// replacement characters, which no id and no email matches.
fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// What handling a request produced, before it becomes a response.
struct Outcome {
    status: u16,
    body: serde_json::Value,
}

impl Outcome {
    fn ok(body: impl Serialize) -> Outcome {
        Outcome { status: 200, body: serde_json::to_value(body).unwrap_or(serde_json::Value::Null) }
    }
}

/// An error answer: status, category, message, one context entry, and the
/// body's `errors`.
#[derive(Debug)]
struct Failure {
    status: u16,
    category: &'static str,
    message: String,
    context: Option<(&'static str, String)>,
    errors: Vec<ErrorDetail>,
}

impl Failure {
    fn validation(message: impl Into<String>) -> Failure {
        Failure {
            status: 400,
            category: "VALIDATION_ERROR",
            message: message.into(),
            context: None,
            errors: Vec::new(),
        }
    }

    /// A validation error about request field `field` (`limit`,
    /// `filterGroups[0].filters[1].values`, …): named in the message, in
    /// `context`, and in the one entry of `errors` (`in`).
    fn invalid_field(field: &str, message: String) -> Failure {
        let detail = ErrorDetail {
            message: message.clone(),
            code: None,
            field: Some(field.to_owned()),
            context: None,
        };
        Failure {
            context: Some(("field", field.to_owned())),
            errors: vec![detail],
            ..Failure::validation(message)
        }
    }

    fn not_found(id: &str) -> Failure {
        Failure {
            status: 404,
            category: "OBJECT_NOT_FOUND",
            message: "Object not found.  objectId are usually numeric.".to_owned(),
            context: Some(("id", id.to_owned())),
            errors: Vec::new(),
        }
    }
}

impl Inner<'_> {
    fn handle(&self, request: &ExchangeRequest<'_>) -> MockResponse {
        let mut entry = match self.core.admit(request, "CRM request") {
            Admission::Serve(entry) => entry,
            Admission::Refuse(response, entry) => {
                if let Some(mut entry) = entry {
                    // An oversized PATCH is still a write received, and not applied.
                    if let Some(routed) = route(&entry.method, &entry.path) {
                        entry.endpoint = Some(routed.endpoint);
                        if is_update(routed.endpoint) {
                            self.record_write(entry.seq, entry.at, routed.object, routed.id(), &[], false);
                        }
                    }
                    self.core.record(entry);
                }
                return response;
            }
        };
        let (served, correlation_id, now) = (entry.seq, entry.correlation_id.clone(), entry.at);
        let (method, path, query) = (entry.method.clone(), entry.path.clone(), entry.query.clone());
        let routed = route(&method, &path);
        entry.endpoint = routed.as_ref().map(|routed| routed.endpoint);

        let response = if !self.core.authorized(request) {
            entry.status = 401;
            unauthorized(&correlation_id, served)
        } else if let Some(routed) = routed {
            let fault = lock(&self.core.faults).strike(routed.endpoint);
            let is_write = is_update(routed.endpoint);
            // Every fault but a delay answers instead of the CRM: nothing is applied.
            let apply = fault.as_ref().is_none_or(|kind| matches!(kind, super::FaultKind::Delay(_)));
            let outcome = || self.serve(&routed, &query, request.body, served, now, apply);
            match fault {
                Some(kind) => {
                    entry.fault = Some(kind.clone());
                    let mut real_status = 200;
                    let response = fault_response(&kind, &correlation_id, served, || match outcome() {
                        Ok(outcome) => {
                            real_status = outcome.status;
                            (outcome.status, outcome.body)
                        }
                        Err(failure) => {
                            real_status = failure.status;
                            (
                                failure.status,
                                serde_json::json!({"status": "error", "message": failure.message}),
                            )
                        }
                    });
                    entry.status = match kind {
                        super::FaultKind::Status(code) => super::fault::answered_status(code),
                        super::FaultKind::Delay(_) => real_status,
                        super::FaultKind::Timeout => 504,
                        super::FaultKind::Malformed | super::FaultKind::Truncated => 200,
                        super::FaultKind::RateLimited { .. } => 429,
                    };
                    if is_write && !apply {
                        self.record_write(served, now, routed.object, routed.id(), request.body, false);
                    }
                    response
                }
                None => match outcome() {
                    Ok(outcome) => {
                        entry.status = outcome.status;
                        hubspot_response(outcome.status, &correlation_id, served).json(outcome.body)
                    }
                    Err(failure) => {
                        entry.status = failure.status;
                        let context = failure.context.as_ref().map(|(key, value)| (*key, value.as_str()));
                        error_response_with(
                            failure.status,
                            failure.category,
                            failure.message,
                            &correlation_id,
                            served,
                            context,
                            &failure.errors,
                        )
                    }
                },
            }
        } else {
            entry.status = 404;
            error_response(404, "OBJECT_NOT_FOUND", unserved(&method, &path), &correlation_id, served, None)
        };
        entry.log("CRM request");
        self.core.record(entry);
        response
    }

    /// Serves a routed request; `apply` is false when a fault answers
    /// instead, so a write computes its answer without storing it.
    fn serve(
        &self,
        routed: &Routed,
        query: &[(String, String)],
        body: &[u8],
        seq: usize,
        now: Timestamp,
        apply: bool,
    ) -> Result<Outcome, Failure> {
        let object = routed.object;
        match &routed.operation {
            Operation::Search => self.search(object, body),
            Operation::Get(id) => self.get(object, id, query),
            Operation::List => self.list(object, query),
            Operation::BatchRead => self.batch_read(object, body, now),
            Operation::Associations { id, to } => {
                associations::page_of(&lock(self.data), object, id, *to, query).map(Outcome::ok)
            }
            Operation::AssociationsBatchRead { to, v3 } => {
                associations::batch_read(&lock(self.data), object, *to, *v3, body, now)
            }
            Operation::Properties(name) => {
                properties::read(&lock(self.data), object, name.as_deref(), now).map(Outcome::ok)
            }
            Operation::Update(id) if apply => self.update(object, id, query, body, seq, now),
            Operation::Update(id) => {
                // What the answer would have been, without storing anything.
                let data = lock(self.data);
                let (id, stored) = find(&data, object, id, query)?;
                Ok(Outcome::ok(render(object, id, stored, None, None, &data)))
            }
        }
    }

    fn search(&self, object: ObjectType, body: &[u8]) -> Result<Outcome, Failure> {
        let data = lock(self.data);
        let search = Search::parse(object, body, &data)?;
        let empty = BTreeMap::new();
        let records = data.records.get(&object).unwrap_or(&empty);
        let mut matched: Vec<(u64, &Stored)> = records
            .iter()
            .filter(|(id, stored)| search.matches(&data, **id, stored))
            .map(|(id, stored)| (*id, stored))
            .collect();
        search.order(&mut matched);
        let total = matched.len();
        let (page, next) = page(total, search.offset, search.limit);
        let requested = search.properties.as_deref();
        let results: Vec<SimplePublicObject> = matched[page]
            .iter()
            .map(|(id, stored)| render(object, *id, stored, requested, None, &data))
            .collect();
        Ok(Outcome::ok(SearchResponse { total: total as u64, results, paging: next.map(paging) }))
    }

    fn get(&self, object: ObjectType, id: &str, query: &[(String, String)]) -> Result<Outcome, Failure> {
        let data = lock(self.data);
        let (id, stored) = find(&data, object, id, query)?;
        let (properties, associations) = (query_list(query, "properties"), query_list(query, "associations"));
        let requested = (!properties.is_empty()).then_some(properties.as_slice());
        let associations = (!associations.is_empty()).then_some(associations.as_slice());
        Ok(Outcome::ok(render(object, id, stored, requested, associations, &data)))
    }

    /// A page of every record of `object`, in id order: `limit` (1 to
    /// [`MAX_LIST_LIMIT`], [`DEFAULT_LIST_LIMIT`] when absent) records from the `after`
    /// cursor, with the `properties` and `associations` asked for. The mock holds no
    /// archived records, so `archived=true` lists none.
    fn list(&self, object: ObjectType, query: &[(String, String)]) -> Result<Outcome, Failure> {
        let limit = query_limit(query, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
        let offset = cursor(query_value(query, "after"))?;
        let archived = query_value(query, "archived").is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let data = lock(self.data);
        let empty = BTreeMap::new();
        let records: Vec<(&u64, &Stored)> =
            if archived { Vec::new() } else { data.records.get(&object).unwrap_or(&empty).iter().collect() };
        let (properties, associations) = (query_list(query, "properties"), query_list(query, "associations"));
        let requested = (!properties.is_empty()).then_some(properties.as_slice());
        let associations = (!associations.is_empty()).then_some(associations.as_slice());
        let (page, next) = page(records.len(), offset, limit);
        let results: Vec<SimplePublicObject> = records[page]
            .iter()
            .map(|(id, stored)| render(object, **id, stored, requested, associations, &data))
            .collect();
        Ok(Outcome::ok(ListResponse { results, paging: next.map(paging) }))
    }

    /// Records by id (or by `idProperty`), at most [`MAX_BATCH_INPUTS`]: 200 with every
    /// record asked for, or 207 with the ones found and an `OBJECT_NOT_FOUND` error naming
    /// the others, as HubSpot answers.
    fn batch_read(&self, object: ObjectType, body: &[u8], now: Timestamp) -> Result<Outcome, Failure> {
        let input: BatchReadInput = json_body(body)?;
        batch_size(input.inputs.len())?;
        let data = lock(self.data);
        let by: Vec<(String, String)> =
            input.id_property.iter().map(|name| ("idProperty".to_owned(), name.clone())).collect();
        let requested = (!input.properties.is_empty()).then_some(input.properties.as_slice());
        let (mut results, mut missing, mut seen) = (Vec::new(), Vec::new(), BTreeSet::new());
        for wanted in &input.inputs {
            match find(&data, object, &wanted.id, &by) {
                Ok((id, stored)) if seen.insert(id) => {
                    results.push(render(object, id, stored, requested, None, &data))
                }
                Ok(_) => {}
                Err(_) => missing.push(wanted.id.clone()),
            }
        }
        let now = hubspot_time(now);
        let mut body = serde_json::json!({
            "status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now,
        });
        if missing.is_empty() {
            return Ok(Outcome { status: 200, body });
        }
        let kind = object.as_str().to_uppercase();
        body["numErrors"] = 1.into();
        body["errors"] = serde_json::json!([{
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": format!("Could not get some {kind} objects, they may be deleted or not exist. Check that ids are valid."),
            "context": { "ids": missing },
            "errors": [],
            "links": {},
        }]);
        Ok(Outcome { status: 207, body })
    }

    fn update(
        &self,
        object: ObjectType,
        id: &str,
        query: &[(String, String)],
        body: &[u8],
        seq: usize,
        now: Timestamp,
    ) -> Result<Outcome, Failure> {
        let input = serde_json::from_slice::<SimplePublicObjectInput>(body);
        let mut data = lock(self.data);
        let found = find(&data, object, id, query).map(|(id, _)| id);
        let write =
            |data: &mut Data, id: Option<u64>, properties: BTreeMap<String, String>, applied: bool| {
                data.writes.push(Write { seq, at: now, object, id, properties, applied });
            };
        let input = match input {
            Ok(input) => input,
            Err(err) => {
                write(&mut data, found.as_ref().ok().copied(), BTreeMap::new(), false);
                return Err(Failure::validation(format!("Property values were not valid: {err}")));
            }
        };
        let id = match found {
            Ok(id) => id,
            Err(failure) => {
                write(&mut data, None, input.properties, false);
                return Err(failure);
            }
        };
        let known = data.known.get(&object);
        let missing: Vec<&String> = input
            .properties
            .keys()
            .filter(|name| !known.is_some_and(|known| known.contains(*name)))
            .collect();
        if !missing.is_empty() {
            let failure = property_doesnt_exist(&missing);
            write(&mut data, Some(id), input.properties.clone(), false);
            return Err(failure);
        }
        if let Some(name) = input.properties.keys().find(|name| is_read_only(object, name)) {
            let message = format!("Property \"{name}\" is a read only property; its value cannot be set.");
            write(&mut data, Some(id), input.properties.clone(), false);
            return Err(Failure {
                context: Some(("propertyName", name.clone())),
                ..Failure::validation(message)
            });
        }
        if object == ObjectType::Contact
            && let Some(email) = input.properties.get("email")
            && let Some(other) = data.records.get(&object).and_then(|records| {
                records.iter().find(|(other, stored)| {
                    **other != id
                        && stored.properties.get("email").is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
            })
        {
            let message = format!("Contact already exists. Existing ID: {}", other.0);
            write(&mut data, Some(id), input.properties.clone(), false);
            return Err(Failure { status: 409, category: "CONFLICT", ..Failure::validation(message) });
        }
        write(&mut data, Some(id), input.properties.clone(), true);
        let Some(stored) = data.records.get_mut(&object).and_then(|records| records.get_mut(&id)) else {
            return Err(Failure::not_found(&id.to_string()));
        };
        for (name, value) in &input.properties {
            // HubSpot clears a property set to the empty string.
            if value.is_empty() {
                stored.properties.remove(name);
            } else {
                stored.properties.insert(name.clone(), value.clone());
            }
        }
        stored.updated_at = now;
        let names: Vec<String> = input.properties.keys().cloned().collect();
        let stored = stored.clone();
        Ok(Outcome::ok(render(object, id, &stored, Some(&names), None, &data)))
    }

    fn record_write(
        &self,
        seq: usize,
        at: Timestamp,
        object: ObjectType,
        id: Option<&str>,
        body: &[u8],
        applied: bool,
    ) {
        let properties = serde_json::from_slice::<SimplePublicObjectInput>(body)
            .map(|input| input.properties)
            .unwrap_or_default();
        let mut data = lock(self.data);
        let id = id
            .and_then(|id| id.parse().ok())
            .filter(|id| data.records.get(&object).is_some_and(|records| records.contains_key(id)));
        data.writes.push(Write { seq, at, object, id, properties, applied });
    }
}

/// The body as JSON, or as text when it is not JSON, or nothing when empty.
pub(super) fn parse_body(body: &[u8]) -> Option<serde_json::Value> {
    if body.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned())),
    )
}

/// The record a path segment names: an id, or with `idProperty`, the value of
/// that property (`idProperty=email` for contacts).
fn find<'d>(
    data: &'d Data,
    object: ObjectType,
    segment: &str,
    query: &[(String, String)],
) -> Result<(u64, &'d Stored), Failure> {
    let records = data.records.get(&object).ok_or_else(|| Failure::not_found(segment))?;
    let id_property = query.iter().find(|(key, _)| key == "idProperty").map(|(_, value)| value.as_str());
    match id_property {
        None | Some("hs_object_id") => {
            let id = parse_id(segment).ok_or_else(|| Failure::not_found(segment))?;
            records.get(&id).map(|stored| (id, stored)).ok_or_else(|| Failure::not_found(segment))
        }
        Some(property) => records
            .iter()
            .find(|(_, stored)| {
                stored.properties.get(property).is_some_and(|v| v.eq_ignore_ascii_case(segment))
            })
            .map(|(id, stored)| (*id, stored))
            .ok_or_else(|| Failure::not_found(segment)),
    }
}

/// The id a path segment names: a record id written as HubSpot writes one,
/// ASCII digits with no sign and no leading zero. Anything else (`101&x`,
/// `+101`, `0101`, ` 101`) names no record, rather than one it resembles.
fn parse_id(segment: &str) -> Option<u64> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    canonical.then(|| segment.parse().ok()).flatten()
}

/// Whether `endpoint` is a PATCH.
fn is_update(endpoint: Endpoint) -> bool {
    matches!(endpoint, Endpoint::UpdateContact | Endpoint::UpdateTicket | Endpoint::UpdateCompany)
}

/// HubSpot's 400 for a write naming properties that do not exist, as its CRM
/// object API guide shows it: the message lists each property as
/// `PROPERTY_DOESNT_EXIST` (in HubSpot's own JSON-in-a-string form), and
/// `errors` holds one entry per property with `code` `PROPERTY_DOESNT_EXIST`
/// and the name in `context.propertyName`.
fn property_doesnt_exist(names: &[&String]) -> Failure {
    // Written out in HubSpot's key order (a JSON map would sort the keys).
    let text = |value: &str| serde_json::Value::from(value).to_string();
    let listed: Vec<String> = names
        .iter()
        .map(|name| {
            let message = text(&format!("Property \"{name}\" does not exist"));
            format!(
                r#"{{"isValid":false,"message":{message},"error":"PROPERTY_DOESNT_EXIST","name":{},"localizedErrorMessage":{message}}}"#,
                text(name)
            )
        })
        .collect();
    let errors = names
        .iter()
        .map(|name| ErrorDetail {
            message: format!("Property \"{name}\" does not exist"),
            code: Some("PROPERTY_DOESNT_EXIST".to_owned()),
            field: None,
            context: Some([("propertyName".to_owned(), vec![(*name).clone()])].into()),
        })
        .collect();
    let message = format!("Property values were not valid: [{}]", listed.join(","));
    Failure { errors, ..Failure::validation(message) }
}

/// The records of a page of a search with `total` matches, starting at
/// `offset`, of at most `limit` (at least 1) records; and the cursor of the
/// next page, if any records follow. The cursor is always past `offset`, so
/// a client following it ends, having seen each record once.
fn page(total: usize, offset: usize, limit: u32) -> (std::ops::Range<usize>, Option<usize>) {
    let start = offset.min(total);
    let end = start.saturating_add(limit.max(1) as usize).min(total);
    (start..end, (end < total).then_some(end))
}

/// A record's value of property `name`, the ones HubSpot computes included
/// (they win over a stored value of the same name).
fn property<'s>(object: ObjectType, id: u64, stored: &'s Stored, name: &str) -> Option<Cow<'s, str>> {
    match name {
        "hs_object_id" => Some(Cow::Owned(id.to_string())),
        "createdate" => Some(Cow::Owned(hubspot_time(stored.created_at))),
        _ if name == modified_property(object) => Some(Cow::Owned(hubspot_time(stored.updated_at))),
        _ => stored.properties.get(name).map(|value| Cow::Borrowed(value.as_str())),
    }
}

/// The property HubSpot keeps a record's last change in.
fn modified_property(object: ObjectType) -> &'static str {
    match object {
        ObjectType::Contact => "lastmodifieddate",
        _ => "hs_lastmodifieddate",
    }
}

/// Properties only HubSpot sets.
fn is_read_only(object: ObjectType, name: &str) -> bool {
    matches!(name, "hs_object_id" | "createdate") || name == modified_property(object)
}

/// The properties HubSpot returns when none are asked for.
fn default_properties(object: ObjectType) -> &'static [&'static str] {
    match object {
        ObjectType::Contact => {
            &["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"]
        }
        ObjectType::Ticket => &[
            "content",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "subject",
        ],
        ObjectType::Company => &["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    }
}

/// The v3 name of the association from `object` to `to`, `contact_to_ticket`.
fn association_label(object: ObjectType, to: ObjectType) -> String {
    format!("{}_to_{}", object.as_str(), to.as_str())
}

/// The plural name of an object type in paths and association maps.
fn plural(object: ObjectType) -> &'static str {
    match object {
        ObjectType::Contact => "contacts",
        ObjectType::Ticket => "tickets",
        ObjectType::Company => "companies",
    }
}

/// A stored record as HubSpot sends it.
fn render(
    object: ObjectType,
    id: u64,
    stored: &Stored,
    requested: Option<&[String]>,
    associations: Option<&[String]>,
    data: &Data,
) -> SimplePublicObject {
    let names: Vec<&str> = match requested {
        Some(names) => names.iter().map(String::as_str).collect(),
        None => default_properties(object).to_vec(),
    };
    // The spec types every value as a string: a property without a value is left out, not sent as null.
    let properties = names
        .into_iter()
        .filter_map(|name| {
            property(object, id, stored, name).map(|value| (name.to_owned(), Some(value.into_owned())))
        })
        .collect();
    let associations = associations.map(|wanted| {
        wanted
            .iter()
            .filter_map(|name| {
                let to = object_named(name)?;
                let results: Vec<AssociatedId> = associated(data, object, id, to)
                    .into_iter()
                    .map(|other| AssociatedId { id: other.to_string(), kind: association_label(object, to) })
                    .collect();
                (!results.is_empty()).then(|| {
                    (plural(to).to_owned(), CollectionResponseAssociatedId { results, paging: None })
                })
            })
            .collect()
    });
    SimplePublicObject {
        id: id.to_string(),
        properties,
        created_at: hubspot_time(stored.created_at),
        updated_at: hubspot_time(stored.updated_at),
        archived: false,
        associations,
    }
}

/// `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging`: a page of a list.
#[derive(Serialize)]
struct ListResponse {
    results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

/// `BatchReadInputSimplePublicObjectId`. The spec requires `properties` and
/// `propertiesWithHistory`; clients omit them, so they default to empty.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchReadInput {
    inputs: Vec<ObjectId>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    properties_with_history: Vec<String>,
    #[serde(default)]
    id_property: Option<String>,
}

/// `SimplePublicObjectId` / `PublicObjectId`: `{"id": "…"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectId {
    id: String,
}

/// The message of the 404 for a request the mock does not serve: what it does serve,
/// so the agent's author sees at once what to change.
fn unserved(method: &str, path: &str) -> String {
    let versions = DATE_VERSIONS.join(", ");
    format!(
        "Unable to route {method} {path}: the mock CRM does not serve this endpoint. It serves, for \
         contacts, companies and tickets: search, get, update (PATCH), list and batch read under \
         /crm/v3/objects/ and /crm/objects/{{{versions}}}/; associations under \
         /crm/v4/objects/{{type}}/{{id}}/associations/{{toType}} and \
         /crm/{{v3,v4}}/associations/{{type}}/{{toType}}/batch/read (and the dated forms); properties under \
         /crm/v3/properties/{{type}} (and the dated forms)."
    )
}

/// The object type a path or a filter names: plural (`contacts`), singular
/// (`contact`) or HubSpot's type id (`0-1`).
fn object_named(name: &str) -> Option<ObjectType> {
    match name {
        "contacts" | "contact" | "0-1" => Some(ObjectType::Contact),
        "companies" | "company" | "0-2" => Some(ObjectType::Company),
        "tickets" | "ticket" | "0-5" => Some(ObjectType::Ticket),
        _ => None,
    }
}

/// The ids of the records of type `to` associated with record `id` of `object`.
fn associated(data: &Data, object: ObjectType, id: u64, to: ObjectType) -> BTreeSet<u64> {
    data.associations
        .range((object, id, to, 0)..=(object, id, to, u64::MAX))
        .map(|(.., other)| *other)
        .collect()
}

/// The value of query parameter `name`, the first if repeated.
fn query_value<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// The `limit` query parameter: `default` when absent, else 1 to `max`.
fn query_limit(query: &[(String, String)], default: u32, max: u32) -> Result<u32, Failure> {
    let Some(text) = query_value(query, "limit") else { return Ok(default) };
    match text.parse::<u32>() {
        Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
        _ => Err(Failure::invalid_field("limit", format!("limit must be between 1 and {max}, got {text:?}"))),
    }
}

/// Where a page starts: the offset an `after` cursor names (absent or empty: 0).
fn cursor(after: Option<&str>) -> Result<usize, Failure> {
    match after {
        None | Some("") => Ok(0),
        Some(after) => {
            after.parse().map_err(|_| Failure::validation(format!("invalid paging cursor {after:?}")))
        }
    }
}

/// A request body read as `T`, or HubSpot's 400 saying why it is not one.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|err| Failure::validation(format!("Invalid input JSON: {err}")))
}

/// Refuses a batch of more than [`MAX_BATCH_INPUTS`] inputs.
fn batch_size(inputs: usize) -> Result<(), Failure> {
    if inputs > MAX_BATCH_INPUTS {
        return Err(Failure::invalid_field(
            "inputs",
            format!("A batch may read at most {MAX_BATCH_INPUTS} records, got {inputs}"),
        ));
    }
    Ok(())
}

/// The paging of a page followed by one starting at `next`.
fn paging(next: usize) -> Paging {
    Paging { next: Some(NextPage { after: next.to_string(), link: Some(format!("?after={next}")) }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn following_the_cursor_from_any_start_ends_and_yields_each_record_once() {
        for total in 0..40 {
            for limit in 0..45u32 {
                for start in 0..45 {
                    let (mut offset, mut seen, mut pages) = (start, Vec::new(), 0);
                    loop {
                        let (range, next) = page(total, offset, limit);
                        assert!(range.len() <= limit.max(1) as usize);
                        seen.extend(range);
                        pages += 1;
                        assert!(pages <= total + 1, "no end: {total} {limit} {start}");
                        match next {
                            Some(next) => {
                                assert!(next > offset && next < total);
                                offset = next;
                            }
                            None => break,
                        }
                    }
                    assert_eq!(
                        seen,
                        (start.min(total)..total).collect::<Vec<_>>(),
                        "{total} {limit} {start}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_a_canonical_id_is_an_id() {
        assert_eq!(parse_id("101"), Some(101));
        assert_eq!(parse_id("0"), Some(0));
        for bad in ["", "+101", "-1", "0101", "101&x", " 101", "101 ", "1e3", "18446744073709551616"] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
        assert_eq!(percent_decode("a%26b+c%2B%40"), "a&b+c+@");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }
}
