//! The CRM client: find a contact by email, read records with chosen properties and associations, update properties.
//!
//! Every answer is validated in full before anything of it is returned: a
//! record with no numeric id, a property that is not a string or null, a
//! truncated body, or another record than the one asked for is a
//! [`HttpError::Malformed`], never a partly read [`CrmObject`]. Callers can
//! therefore fail closed on any error and trust any record.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::RecordId;
use crate::crm::error::{CrmError, HttpError};
use crate::crm::http::{ApiRequest, DEFAULT_TIMEOUT, HttpClient, Reply, Transport, Verb, json_body};
use crate::crm::retry::{RetryPolicy, Sleeper};
use crate::crm::wire::{
    Filter, FilterGroup, PublicObjectSearchRequest, SearchResponse, SimplePublicObject,
    SimplePublicObjectInput,
};
use leakproof_config::ObjectType;
use leakproof_config::ids::ContactId;

/// Where the CRM is and how to talk to it.
///
/// ```
/// use leakproof_hubspot::crm::CrmSettings;
///
/// let settings = CrmSettings::new("http://127.0.0.1:8080".parse()?, "pat-na1-test");
/// assert_eq!(settings.timeout, leakproof_hubspot::crm::DEFAULT_TIMEOUT);
/// // The token never shows in debug output.
/// assert!(!format!("{settings:?}").contains("pat-na1-test"));
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone)]
pub struct CrmSettings {
    /// `https://api.hubapi.com` ([`HUBSPOT_API_BASE_URL`](super::HUBSPOT_API_BASE_URL))
    /// or a mock's base URL; a path prefix is kept.
    pub base_url: Url,
    /// The private-app or OAuth access token, sent as `Authorization: Bearer …`.
    pub token: String,
    /// The limit for one attempt, connecting to the last byte of the body.
    pub timeout: Duration,
    /// When to try again.
    pub retry: RetryPolicy,
}

impl CrmSettings {
    /// Settings with the default timeout and retry policy.
    pub fn new(base_url: Url, token: impl Into<String>) -> Self {
        CrmSettings { base_url, token: token.into(), timeout: DEFAULT_TIMEOUT, retry: RetryPolicy::default() }
    }
}

impl fmt::Debug for CrmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrmSettings")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A validated CRM record: a numeric id, every property a string or null,
/// and the ids of the associated records asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmObject {
    object: ObjectType,
    id: u64,
    properties: BTreeMap<String, Option<String>>,
    associations: BTreeMap<ObjectType, Vec<RecordId>>,
}

impl CrmObject {
    /// Checks a wire record; the error says what is wrong, without values.
    pub(crate) fn from_wire(object: ObjectType, record: SimplePublicObject) -> Result<Self, String> {
        let id = numeric_id(&record.id).ok_or_else(|| "`id` is not a numeric record id".to_owned())?;
        if let Some(Some(own_id)) = record.properties.get("hs_object_id")
            && own_id.trim() != record.id
        {
            return Err("`properties.hs_object_id` disagrees with `id`".to_owned());
        }
        let mut associations = BTreeMap::new();
        for (name, collection) in record.associations.unwrap_or_default() {
            let Some(kind) = object_type_from_plural(&name) else { continue };
            let mut ids: Vec<RecordId> = Vec::with_capacity(collection.results.len());
            for (index, associated) in collection.results.iter().enumerate() {
                let id = numeric_id(&associated.id).ok_or_else(|| {
                    format!("`associations.{name}.results[{index}].id` is not a numeric record id")
                })?;
                // HubSpot lists a record once per association type (labels);
                // callers want each record once.
                if !ids.contains(&RecordId(id)) {
                    ids.push(RecordId(id));
                }
            }
            associations.insert(kind, ids);
        }
        Ok(CrmObject { object, id, properties: record.properties, associations })
    }

    /// The record's object type.
    pub fn object(&self) -> ObjectType {
        self.object
    }

    /// The record id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The record id as a contact id.
    pub fn contact_id(&self) -> ContactId {
        ContactId(self.id)
    }

    /// The record id as a ticket or company id.
    pub fn record_id(&self) -> RecordId {
        RecordId(self.id)
    }

    /// A property's value; `None` when it is absent or has no value.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(Option::as_deref)
    }

    /// Every property returned, by internal name; `None` is a property without value.
    pub fn properties(&self) -> &BTreeMap<String, Option<String>> {
        &self.properties
    }

    /// The records of `kind` associated with this one, when they were asked
    /// for; empty when there are none. Only the first page HubSpot returns
    /// is read.
    pub fn associations(&self, kind: ObjectType) -> &[RecordId] {
        self.associations.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// The HubSpot CRM v3 client.
///
/// Retries follow its [`RetryPolicy`] (see [`retry`](super::retry)). Search
/// and get only read, and are repeated after any retryable failure. An update
/// is repeated only after an answer that says it was not applied (429, 503):
/// after a timeout, a broken connection or another server error it may have
/// landed, and a late repeat could overwrite a newer value, so the error is
/// returned at once ([`CrmError::outcome_unknown`]) for the caller to read the
/// record back.
///
/// ```no_run
/// use leakproof_hubspot::crm::{Crm, CrmSettings};
/// use leakproof_config::ObjectType;
///
/// # async fn example() -> Result<(), leakproof_hubspot::crm::CrmError> {
/// let crm = Crm::new(CrmSettings::new("https://api.hubapi.com".parse().unwrap(), "pat-na1-…"))?;
/// if let Some(contact) = crm.search_contact_by_email("ann@example.com", &["firstname"]).await? {
///     let tickets = crm.associated(contact.contact_id(), ObjectType::Ticket).await?;
///     println!("{} has {} tickets", contact.id(), tickets.len());
/// }
/// # Ok(())
/// # }
/// ```
pub struct Crm {
    transport: Transport,
}

impl fmt::Debug for Crm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crm")
            .field("base_url", &self.transport.base_url().as_str())
            .field("timeout", &self.transport.timeout())
            .field("retry", self.transport.retry())
            .finish_non_exhaustive()
    }
}

impl Crm {
    /// A client for the settings' base URL and token.
    ///
    /// Fails with [`HttpError::InvalidSettings`] for a base URL that is not
    /// http(s), a zero timeout, or a token that cannot be a header value.
    pub fn new(settings: CrmSettings) -> Result<Self, CrmError> {
        Crm::with_http(settings, &HttpClient::new()?)
    }

    /// A client for the settings' base URL and token that sends with `http`,
    /// shared with other clients: no HTTP client is built.
    ///
    /// Fails as [`Crm::new`] does.
    pub fn with_http(settings: CrmSettings, http: &HttpClient) -> Result<Self, CrmError> {
        let transport =
            Transport::new(http, &settings.base_url, &settings.token, settings.timeout, settings.retry)?;
        Ok(Crm { transport })
    }

    /// Waits between attempts with `sleeper` instead of `tokio::time::sleep`.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.transport.set_sleeper(sleeper);
        self
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &Url {
        self.transport.base_url()
    }

    /// Finds the one contact whose email address is `email`, with
    /// `properties` (plus `email`, always asked for and checked).
    ///
    /// `POST /crm/v3/objects/contacts/search` with one filter
    /// `email EQ <email>` and `limit: 2`. No match is `Ok(None)`; more than
    /// one is [`CrmError::Ambiguous`] — the client never picks one. A
    /// contact returned whose `email` is not the address searched for is
    /// malformed.
    pub async fn search_contact_by_email(
        &self,
        email: &str,
        properties: &[&str],
    ) -> Result<Option<CrmObject>, CrmError> {
        self.search_contact_by("email", email, properties).await
    }

    /// Finds the one contact whose `property` equals `value` (compared
    /// without case, as HubSpot does), with `properties` plus `property`.
    ///
    /// For unique identifiers: `email`, a returning visitor's `hubspotutk`
    /// cookie, a `hs_whatsapp_phone_number`. The same rules as
    /// [`Crm::search_contact_by_email`]: none is `Ok(None)`, more than one
    /// is [`CrmError::Ambiguous`], a contact without that value is malformed.
    pub async fn search_contact_by(
        &self,
        property: &str,
        value: &str,
        properties: &[&str],
    ) -> Result<Option<CrmObject>, CrmError> {
        let mut wanted: Vec<String> = properties.iter().map(|name| (*name).to_owned()).collect();
        if !wanted.iter().any(|name| name == property) {
            wanted.push(property.to_owned());
        }
        let search = PublicObjectSearchRequest {
            filter_groups: vec![FilterGroup {
                filters: vec![Filter {
                    property_name: property.to_owned(),
                    operator: "EQ".to_owned(),
                    value: Some(value.to_owned()),
                    high_value: None,
                    values: None,
                }],
            }],
            properties: wanted,
            // Two, not one: enough to tell "exactly one" from "ambiguous".
            limit: Some(2),
            // The first page; the spec lists `after` (and `sorts`) as required.
            after: Some("0".to_owned()),
            ..PublicObjectSearchRequest::default()
        };
        let segments = ["crm", "v3", "objects", "contacts", "search"];
        let body = json_body(Verb::Post, &segments, &search)?;
        let reply = self
            .transport
            .call(&ApiRequest { verb: Verb::Post, segments: &segments, query: &[], body: Some(body) })
            .await?;
        let mut page: SearchResponse = reply.json()?;
        let found = page.results.len() as u64;
        if page.total > 1 || found > 1 {
            return Err(CrmError::Ambiguous {
                total: page.total.max(found),
                correlation_id: reply.correlation_id,
            });
        }
        let record = match (page.total, page.results.pop()) {
            (0, None) => return Ok(None),
            (1, Some(record)) => record,
            (total, _) => {
                return Err(reply.malformed(format!("`total` is {total} but {found} results came")).into());
            }
        };
        let contact = record_from(&reply, ObjectType::Contact, record)?;
        let same_value = contact
            .property(property)
            .is_some_and(|found| found.trim().to_lowercase() == value.trim().to_lowercase());
        if !same_value {
            return Err(reply
                .malformed(format!("the contact found does not have the {property} searched for"))
                .into());
        }
        Ok(Some(contact))
    }

    /// Reads record `id` of `object` with `properties` and the ids of its
    /// `associations`.
    ///
    /// `GET /crm/v3/objects/{contacts|tickets|companies}/{id}` with
    /// `properties` and `associations` as repeated query parameters. 404 is
    /// [`CrmError::NotFound`].
    pub async fn get(
        &self,
        object: ObjectType,
        id: u64,
        properties: &[&str],
        associations: &[ObjectType],
    ) -> Result<CrmObject, CrmError> {
        let id_text = id.to_string();
        let segments = ["crm", "v3", "objects", plural(object), &id_text];
        let query: Vec<(&str, &str)> = properties
            .iter()
            .map(|name| ("properties", *name))
            .chain(associations.iter().map(|kind| ("associations", plural(*kind))))
            .collect();
        let reply = self
            .transport
            .call(&ApiRequest { verb: Verb::Get, segments: &segments, query: &query, body: None })
            .await
            .map_err(|error| not_found(error, object, id))?;
        the_record(&reply, object, id)
    }

    /// The ids of the tickets or companies (`kind`) associated with `contact`.
    ///
    /// `GET /crm/v3/objects/contacts/{id}?associations=tickets`, read from
    /// the v3 `associations` map. A contact that does not exist is
    /// [`CrmError::NotFound`].
    pub async fn associated(&self, contact: ContactId, kind: ObjectType) -> Result<Vec<RecordId>, CrmError> {
        let record = self.get(ObjectType::Contact, contact.0, &[], &[kind]).await?;
        Ok(record.associations(kind).to_vec())
    }

    /// Sets `properties` on record `id` of `object` and returns the record
    /// as HubSpot stored it.
    ///
    /// `PATCH /crm/v3/objects/{contacts|tickets|companies}/{id}` with
    /// `{"properties": {...}}`. 404 is [`CrmError::NotFound`]. Retried only
    /// after a 429 or a 503; any error for which [`CrmError::outcome_unknown`]
    /// holds may have been applied.
    pub async fn update(
        &self,
        object: ObjectType,
        id: u64,
        properties: &BTreeMap<String, String>,
    ) -> Result<CrmObject, CrmError> {
        let id_text = id.to_string();
        let segments = ["crm", "v3", "objects", plural(object), &id_text];
        let body =
            json_body(Verb::Patch, &segments, &SimplePublicObjectInput { properties: properties.clone() })?;
        let reply = self
            .transport
            .call(&ApiRequest { verb: Verb::Patch, segments: &segments, query: &[], body: Some(body) })
            .await
            .map_err(|error| not_found(error, object, id))?;
        the_record(&reply, object, id)
    }
}

impl CrmError {
    /// Whether a write that failed with this error may nevertheless have been applied: no
    /// answer came in time, the connection broke after sending, the CRM answered a server
    /// error other than 503, or its success could not be read. Such a write is not repeated
    /// by the client; read the record back to learn what the CRM holds.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            CrmError::Http(error) => crate::crm::http::may_have_applied(error),
            CrmError::NotFound { .. } | CrmError::Ambiguous { .. } => false,
        }
    }
}

/// Parses and validates a reply that must be record `id`.
fn the_record(reply: &Reply, object: ObjectType, id: u64) -> Result<CrmObject, CrmError> {
    let record = record_from(reply, object, reply.json()?)?;
    if record.id != id {
        return Err(reply
            .malformed(format!("asked for {object} {id}, the answer is record {}", record.id))
            .into());
    }
    Ok(record)
}

/// Validates one wire record of a reply.
fn record_from(
    reply: &Reply,
    object: ObjectType,
    record: SimplePublicObject,
) -> Result<CrmObject, HttpError> {
    CrmObject::from_wire(object, record).map_err(|detail| reply.malformed(detail))
}

/// A 404 is the record's absence; anything else stays as it is.
fn not_found(error: HttpError, object: ObjectType, id: u64) -> CrmError {
    match error {
        HttpError::Status { status: 404, correlation_id, .. } => {
            CrmError::NotFound { object, id, correlation_id }
        }
        other => CrmError::Http(other),
    }
}

/// The object type's path segment and association key.
fn plural(object: ObjectType) -> &'static str {
    match object {
        ObjectType::Contact => "contacts",
        ObjectType::Ticket => "tickets",
        ObjectType::Company => "companies",
    }
}

/// The object type an association key names, if it is one the agent uses.
fn object_type_from_plural(name: &str) -> Option<ObjectType> {
    match name {
        "contacts" => Some(ObjectType::Contact),
        "tickets" => Some(ObjectType::Ticket),
        "companies" => Some(ObjectType::Company),
        _ => None,
    }
}

/// A HubSpot record id: decimal digits that fit a `u64`.
fn numeric_id(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::wire::{AssociatedId, CollectionResponseAssociatedId};

    fn wire(id: &str) -> SimplePublicObject {
        SimplePublicObject {
            id: id.into(),
            properties: BTreeMap::from([("email".into(), Some("a@b.c".into())), ("phone".into(), None)]),
            created_at: "2024-01-01T00:00:00.000Z".into(),
            updated_at: "2024-01-01T00:00:00.000Z".into(),
            archived: false,
            associations: None,
        }
    }

    #[test]
    fn ids_must_be_numeric() {
        for bad in ["", "12a", "-1", " 1", "99999999999999999999999"] {
            assert!(CrmObject::from_wire(ObjectType::Contact, wire(bad)).is_err(), "{bad:?}");
        }
        let record = CrmObject::from_wire(ObjectType::Contact, wire("512")).unwrap();
        assert_eq!(record.contact_id(), ContactId(512));
        assert_eq!(record.property("email"), Some("a@b.c"));
        assert_eq!(record.property("phone"), None);
        assert!(record.associations(ObjectType::Ticket).is_empty());
    }

    #[test]
    fn hs_object_id_must_agree() {
        let mut record = wire("5");
        record.properties.insert("hs_object_id".into(), Some("6".into()));
        assert!(CrmObject::from_wire(ObjectType::Contact, record).is_err());
    }

    #[test]
    fn associations_are_deduplicated_and_checked() {
        let mut record = wire("5");
        let ids = |ids: &[&str]| CollectionResponseAssociatedId {
            results: ids
                .iter()
                .map(|id| AssociatedId { id: (*id).into(), kind: "contact_to_ticket".into() })
                .collect(),
            paging: None,
        };
        record.associations = Some(BTreeMap::from([
            ("tickets".into(), ids(&["7", "8", "7"])),
            ("p123_custom".into(), ids(&["x"])),
        ]));
        let object = CrmObject::from_wire(ObjectType::Contact, record.clone()).unwrap();
        assert_eq!(object.associations(ObjectType::Ticket), [RecordId(7), RecordId(8)]);
        record.associations = Some(BTreeMap::from([("companies".into(), ids(&["1", "x"]))]));
        let error = CrmObject::from_wire(ObjectType::Contact, record).unwrap_err();
        assert_eq!(error, "`associations.companies.results[1].id` is not a numeric record id");
    }
}
