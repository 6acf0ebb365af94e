//! HubSpot CRM v3 and transactional-email v3 bodies, as the OpenAPI specs in `reference/hubspot` define them.
//!
//! Both the mocks (which send them) and the clients (which read them) use
//! these types, so the two cannot drift apart; the mock tests validate them
//! against HubSpot's own schemas.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `SimplePublicObject` / `SimplePublicObjectWithAssociations`: one CRM record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObject {
    /// The record id, a numeric string.
    pub id: String,
    /// Property values, all strings; a property with no value is `null`.
    pub properties: BTreeMap<String, Option<String>>,
    /// ISO 8601 with milliseconds, e.g. `2019-10-30T03:30:17.883Z`.
    pub created_at: String,
    /// ISO 8601 with milliseconds.
    pub updated_at: String,
    /// Whether the record is archived.
    pub archived: bool,
    /// Associated records by object type (`tickets`, `companies`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associations: Option<BTreeMap<String, CollectionResponseAssociatedId>>,
}

/// `CollectionResponseAssociatedId`: the records of one type associated with a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionResponseAssociatedId {
    /// The associated records.
    pub results: Vec<AssociatedId>,
    /// The next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `AssociatedId`: one associated record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociatedId {
    /// The associated record's id.
    pub id: String,
    /// The association type, e.g. `contact_to_ticket`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `Paging`: where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paging {
    /// The next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextPage>,
}

/// `NextPage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextPage {
    /// The cursor to pass as `after`.
    pub after: String,
    /// A link to the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// `PublicObjectSearchRequest`. The spec marks most fields required; real
/// clients omit them freely, so every field is optional here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicObjectSearchRequest {
    /// ORed groups of ANDed filters.
    #[serde(default)]
    pub filter_groups: Vec<FilterGroup>,
    /// The properties to return.
    #[serde(default)]
    pub properties: Vec<String>,
    /// Sort order; strings or objects in the wild, kept as given. Always
    /// sent, even empty: the spec lists it as required.
    #[serde(default)]
    pub sorts: Vec<serde_json::Value>,
    /// Page size, at most 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The cursor of the page to return; `"0"` for the first page. Send it:
    /// the spec lists it as required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Free-text query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// `FilterGroup`: filters that must all hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterGroup {
    /// The filters.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `Filter`: one condition on a property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The property compared.
    pub property_name: String,
    /// `EQ`, `NEQ`, `IN`, `HAS_PROPERTY`, …
    pub operator: String,
    /// The value compared with, for one-value operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The upper bound, for `BETWEEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    /// The values, for `IN` and `NOT_IN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// `CollectionResponseWithTotalSimplePublicObject`: a search result page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// How many records match in all.
    pub total: u64,
    /// This page's records.
    pub results: Vec<SimplePublicObject>,
    /// The next page, absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `SimplePublicObjectInput`: the body of a PATCH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimplePublicObjectInput {
    /// The new values.
    pub properties: BTreeMap<String, String>,
}

/// HubSpot's error body. The spec requires `category`, `correlationId` and
/// `message`; the wire also carries `status: "error"`, and 429s carry
/// `policyName` and `errorType`. Every field may be missing in practice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What went wrong, for people.
    #[serde(default)]
    pub message: String,
    /// The id HubSpot support asks for; also in `x-hubspot-correlation-id`.
    #[serde(default)]
    pub correlation_id: String,
    /// `OBJECT_NOT_FOUND`, `INVALID_AUTHENTICATION`, `VALIDATION_ERROR`, …
    #[serde(default)]
    pub category: String,
    /// Details by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, Vec<String>>>,
    /// `RATE_LIMIT` on a 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// `DAILY`, `SECONDLY` or `TEN_SECONDLY_ROLLING` on a 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

/// `PublicSingleSendRequestEgg`: a transactional email send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleSendRequest {
    /// The transactional email template.
    pub email_id: i64,
    /// Who receives it.
    pub message: SingleSendMessage,
    /// Contact property values for the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_properties: Option<BTreeMap<String, String>>,
    /// Custom values for the template, e.g. the verification link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_properties: Option<BTreeMap<String, serde_json::Value>>,
}

/// `PublicSingleSendEmail`: the addressing of a send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleSendMessage {
    /// The recipient.
    pub to: String,
    /// The sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Makes the send idempotent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<String>,
    /// Reply-to addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Vec<String>>,
    /// Copy recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<Vec<String>>,
    /// Blind copy recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<Vec<String>>,
}

/// `EmailSendStatusView`: what a send returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailSendStatusView {
    /// The send's id.
    pub status_id: String,
    /// `PENDING`, `PROCESSING`, `CANCELED` or `COMPLETE`.
    pub status: String,
    /// When the send was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// `SENT`, `QUEUED`, `INVALID_TO_ADDRESS`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_result: Option<String>,
}
