//! Associations as HubSpot's associations APIs give them: v4's page of one record's
//! associations, and the v3 and v4 batch reads, from the same associations the CRM's gets show.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use leakproof_config::ObjectType;

use super::{
    Data, Failure, Outcome, associated, association_label, batch_size, cursor, find, json_body, page, paging,
    query_limit,
};
use crate::hubspot_time;
use leakproof_hubspot::crm::wire::Paging;

/// The most associations one v4 page returns, and its default, as HubSpot's spec says.
const MAX_ASSOCIATIONS_LIMIT: u32 = 500;

/// `CollectionResponseMultiAssociatedObjectWithLabelForwardPaging`.
#[derive(Serialize)]
pub(super) struct AssociationsPage {
    results: Vec<MultiAssociated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

/// `MultiAssociatedObjectWithLabel`: one associated record and how it is associated.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MultiAssociated {
    /// A string, as HubSpot's current v4 and dated specs type it.
    to_object_id: String,
    association_types: Vec<AssociationType>,
}

/// `AssociationSpecWithLabel`. HubSpot's own association types carry no label.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationType {
    category: &'static str,
    type_id: u32,
}

/// HubSpot's id of its unlabelled association type from `from` to `to`
/// (contact to ticket is 15, ticket to contact 16, …).
fn type_id(from: ObjectType, to: ObjectType) -> u32 {
    use ObjectType::{Company, Contact, Ticket};
    match (from, to) {
        (Contact, Ticket) => 15,
        (Ticket, Contact) => 16,
        (Contact, Company) => 279,
        (Company, Contact) => 280,
        (Ticket, Company) => 339,
        (Company, Ticket) => 340,
        // HubSpot has no association of an object type with itself among these.
        _ => 0,
    }
}

fn multi(from: ObjectType, to: ObjectType, id: u64) -> MultiAssociated {
    MultiAssociated {
        to_object_id: id.to_string(),
        association_types: vec![AssociationType { category: "HUBSPOT_DEFINED", type_id: type_id(from, to) }],
    }
}

/// `GET /crm/v4/objects/{object}/{id}/associations/{to}`: a page of the record's
/// associations with `to` (`limit` 1 to 500, default 500; `after`); a 404 if there is no
/// such record.
pub(super) fn page_of(
    data: &Data,
    object: ObjectType,
    id: &str,
    to: ObjectType,
    query: &[(String, String)],
) -> Result<AssociationsPage, Failure> {
    let limit = query_limit(query, MAX_ASSOCIATIONS_LIMIT, MAX_ASSOCIATIONS_LIMIT)?;
    let offset = cursor(super::query_value(query, "after"))?;
    let (id, _) = find(data, object, id, &[])?;
    let ids: Vec<u64> = associated(data, object, id, to).into_iter().collect();
    let (range, next) = page(ids.len(), offset, limit);
    let results = ids[range].iter().map(|other| multi(object, to, *other)).collect();
    Ok(AssociationsPage { results, paging: next.map(paging) })
}

/// `BatchInputPublicFetchAssociationsBatchRequest` and v3's `BatchInputPublicObjectId`:
/// `{"inputs": [{"id": "…"}]}` (v4's inputs may carry an `after`, which the mock,
/// answering every association at once, ignores).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchInput {
    inputs: Vec<FetchInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchInput {
    id: String,
    #[serde(default)]
    #[allow(dead_code)]
    after: Option<String>,
}

/// `POST /crm/{v3,v4}/associations/{object}/{to}/batch/read`: for each input record, its
/// associations with `to`, in v3's shape (`{from, to: [{id, type}]}`) or v4's (`{from,
/// to: [{toObjectId, associationTypes}]}`). An input with no such record, or with no
/// association, is in `errors` (status 207), as HubSpot answers.
pub(super) fn batch_read(
    data: &Data,
    object: ObjectType,
    to: ObjectType,
    v3: bool,
    body: &[u8],
    now: Timestamp,
) -> Result<Outcome, Failure> {
    let input: BatchInput = json_body(body)?;
    batch_size(input.inputs.len())?;
    let (mut results, mut missing, mut unassociated) = (Vec::new(), Vec::new(), Vec::new());
    let ids = input.inputs.iter().map(|input| &input.id);
    for wanted in ids.collect::<std::collections::BTreeSet<_>>() {
        let Ok((id, _)) = find(data, object, wanted, &[]) else {
            missing.push(wanted.clone());
            continue;
        };
        let others = associated(data, object, id, to);
        if others.is_empty() {
            unassociated.push(wanted.clone());
            continue;
        }
        let to_list: Vec<serde_json::Value> = others
            .iter()
            .map(|other| match v3 {
                true => serde_json::json!({ "id": other.to_string(), "type": association_label(object, to) }),
                false => serde_json::to_value(multi(object, to, *other)).unwrap_or_default(),
            })
            .collect();
        results.push(serde_json::json!({ "from": { "id": id.to_string() }, "to": to_list }));
    }
    let now = hubspot_time(now);
    let mut body =
        serde_json::json!({ "status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now });
    let (from_name, to_name) = (object.as_str().to_uppercase(), to.as_str().to_uppercase());
    // HubSpot's specs type `subCategory` as an object here, so it is left out.
    let error = |message: String, ids: Vec<String>| {
        serde_json::json!({
            "status": "error", "category": "OBJECT_NOT_FOUND", "message": message,
            "context": { "fromObjectId": ids }, "errors": [], "links": {},
        })
    };
    let mut errors = Vec::new();
    if !missing.is_empty() {
        let message = format!("Could not find {from_name} objects with ids {}", missing.join(", "));
        errors.push(error(message, missing));
    }
    if !unassociated.is_empty() {
        let message = format!("No {to_name} is associated with {from_name} {}", unassociated.join(", "));
        errors.push(error(message, unassociated));
    }
    if errors.is_empty() {
        return Ok(Outcome { status: 200, body });
    }
    body["numErrors"] = errors.len().into();
    body["errors"] = errors.into();
    Ok(Outcome { status: 207, body })
}
