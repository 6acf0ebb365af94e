//! Which CRM operation a request asks for: HubSpot's v3 and v4 paths and the same operations
//! under its date-versioned paths (`/crm/objects/2026-03/contacts`).

use leakproof_config::ObjectType;

use super::{object_named, percent_decode};
use crate::Endpoint;

/// The date versions of HubSpot's API the mock serves, as they appear in paths.
pub const DATE_VERSIONS: [&str; 3] = ["2025-09", "2026-03", "2026-09"];

/// The date versions that read one record's associations on the objects path
/// (`GET /crm/objects/2026-03/{type}/{id}/associations/{toType}`); 2026-09 has no such
/// operation (its records' associations are read with `associations=` or a batch read).
const ASSOCIATIONS_ON_OBJECTS: [&str; 2] = ["2025-09", "2026-03"];

/// What a routed request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Operation {
    /// `POST …/{type}/search`.
    Search,
    /// `GET …/{type}/{id}`.
    Get(String),
    /// `PATCH …/{type}/{id}`.
    Update(String),
    /// `GET …/{type}`: a page of every record.
    List,
    /// `POST …/{type}/batch/read`.
    BatchRead,
    /// `GET /crm/v4/objects/{type}/{id}/associations/{to}` (and its dated form): v4 shape.
    Associations { id: String, to: ObjectType },
    /// `POST /crm/v{3,4}/associations/{type}/{to}/batch/read` (and the dated form, v4's
    /// shape); `v3` for v3's shape.
    AssociationsBatchRead { to: ObjectType, v3: bool },
    /// `GET /crm/v3/properties/{type}` (`None`) or `…/{type}/{name}`.
    Properties(Option<String>),
}

/// A request the mock serves: its endpoint (as faults and the log name it), the object
/// type it is about, and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Routed {
    pub(super) endpoint: Endpoint,
    pub(super) object: ObjectType,
    pub(super) operation: Operation,
}

impl Routed {
    /// The record id segment of a get or update, percent-decoded.
    pub(super) fn id(&self) -> Option<&str> {
        match &self.operation {
            Operation::Get(id) | Operation::Update(id) => Some(id),
            _ => None,
        }
    }
}

/// The operation `method` `path` asks for, `None` if the mock does not serve it.
pub(super) fn route(method: &str, path: &str) -> Option<Routed> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.strip_prefix("/crm/")?.split('/').collect();
    let dated = |version: &str| DATE_VERSIONS.contains(&version);
    match segments.as_slice() {
        ["v3", "objects", object, rest @ ..] => objects(method, object, rest, false),
        ["objects", version, object, rest @ ..] if dated(version) => {
            objects(method, object, rest, ASSOCIATIONS_ON_OBJECTS.contains(version))
        }
        ["v4", "objects", object, rest @ ..] => match rest {
            [_, "associations", _] => objects(method, object, rest, true),
            _ => None,
        },
        ["v3", "associations", from, to, "batch", "read"] => associations_batch(method, from, to, true),
        ["v4", "associations", from, to, "batch", "read"] => associations_batch(method, from, to, false),
        ["associations", version, from, to, "batch", "read"] if dated(version) => {
            associations_batch(method, from, to, false)
        }
        ["v3", "properties", object, rest @ ..] => properties(method, object, rest),
        ["properties", version, object, rest @ ..] if dated(version) => properties(method, object, rest),
        _ => None,
    }
}

/// The operations on `/…/objects/{object}/{rest}`; `associations` when the v4
/// associations read is on that path (v4 and dated paths).
fn objects(method: &str, object: &str, rest: &[&str], associations: bool) -> Option<Routed> {
    let object = object_named(object)?;
    let routed = |endpoint, operation| Some(Routed { endpoint, object, operation });
    let id = |segment: &str| (!segment.is_empty()).then(|| percent_decode(segment));
    match (method, rest) {
        ("GET", []) => routed(Endpoint::List, Operation::List),
        ("POST", ["search"]) => routed(Endpoint::Search, Operation::Search),
        ("POST", ["batch", "read"]) => routed(Endpoint::BatchRead, Operation::BatchRead),
        ("GET", [segment]) => routed(get_endpoint(object), Operation::Get(id(segment)?)),
        ("PATCH", [segment]) => routed(update_endpoint(object), Operation::Update(id(segment)?)),
        ("GET", [segment, "associations", to]) if associations => {
            let to = object_named(to)?;
            routed(Endpoint::Associations, Operation::Associations { id: id(segment)?, to })
        }
        _ => None,
    }
}

/// `POST /crm/…/associations/{from}/{to}/batch/read`.
fn associations_batch(method: &str, from: &str, to: &str, v3: bool) -> Option<Routed> {
    let (object, to) = (object_named(from)?, object_named(to)?);
    (method == "POST").then_some(Routed {
        endpoint: Endpoint::AssociationsBatchRead,
        object,
        operation: Operation::AssociationsBatchRead { to, v3 },
    })
}

/// `GET /crm/…/properties/{object}` and `…/{object}/{name}`.
fn properties(method: &str, object: &str, rest: &[&str]) -> Option<Routed> {
    let object = object_named(object)?;
    let name = match rest {
        [] => None,
        [name] if !name.is_empty() => Some(percent_decode(name)),
        _ => return None,
    };
    (method == "GET").then_some(Routed {
        endpoint: Endpoint::Properties,
        object,
        operation: Operation::Properties(name),
    })
}

fn get_endpoint(object: ObjectType) -> Endpoint {
    match object {
        ObjectType::Contact => Endpoint::GetContact,
        ObjectType::Ticket => Endpoint::GetTicket,
        ObjectType::Company => Endpoint::GetCompany,
    }
}

fn update_endpoint(object: ObjectType) -> Endpoint {
    match object {
        ObjectType::Contact => Endpoint::UpdateContact,
        ObjectType::Ticket => Endpoint::UpdateTicket,
        ObjectType::Company => Endpoint::UpdateCompany,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(method: &str, path: &str) -> Option<(Endpoint, ObjectType, Operation)> {
        route(method, path).map(|r| (r.endpoint, r.object, r.operation))
    }

    #[test]
    fn v3_and_every_date_version_route_alike() {
        for prefix in
            ["/crm/v3/objects", "/crm/objects/2025-09", "/crm/objects/2026-03", "/crm/objects/2026-09"]
        {
            assert_eq!(
                routed("POST", &format!("{prefix}/contacts/search")),
                Some((Endpoint::Search, ObjectType::Contact, Operation::Search))
            );
            assert_eq!(
                routed("GET", &format!("{prefix}/tickets/7/")),
                Some((Endpoint::GetTicket, ObjectType::Ticket, Operation::Get("7".into())))
            );
            assert_eq!(
                routed("PATCH", &format!("{prefix}/companies/a%40b")),
                Some((Endpoint::UpdateCompany, ObjectType::Company, Operation::Update("a@b".into())))
            );
            assert_eq!(
                routed("GET", &format!("{prefix}/contacts")),
                Some((Endpoint::List, ObjectType::Contact, Operation::List))
            );
            assert_eq!(
                routed("POST", &format!("{prefix}/0-1/batch/read")),
                Some((Endpoint::BatchRead, ObjectType::Contact, Operation::BatchRead))
            );
        }
        assert_eq!(
            routed("GET", "/crm/v4/objects/contacts/5/associations/tickets"),
            routed("GET", "/crm/objects/2026-03/contacts/5/associations/tickets")
        );
        assert_eq!(route("GET", "/crm/objects/2026-09/contacts/5/associations/tickets"), None);
        assert_eq!(
            routed("GET", "/crm/properties/2026-09/contacts/email"),
            Some((Endpoint::Properties, ObjectType::Contact, Operation::Properties(Some("email".into()))))
        );
    }

    #[test]
    fn what_the_mock_does_not_serve_is_not_routed() {
        for (method, path) in [
            ("GET", "/crm/v3/objects/deals/1"),
            ("GET", "/crm/objects/2024-01/contacts/1"),
            ("GET", "/crm/v3/objects/contacts/1/associations/tickets"),
            ("DELETE", "/crm/v3/objects/contacts/1"),
            ("POST", "/crm/v3/objects/contacts"),
            ("GET", "/crm/v3/objects/contacts//"),
            ("GET", "/crm/v3/objects/contacts/1/2"),
            ("POST", "/crm/v3/objects/contacts/batch/update"),
            ("GET", "/crm/v4/objects/contacts/1"),
            ("GET", "/crm/v4/associations/contacts/tickets/batch/read"),
            ("POST", "/crm/v3/properties/contacts"),
            ("GET", "/crm/v3/properties/contacts/groups/x"),
            ("GET", "/contacts/v1/lists"),
            ("GET", "/crm/v3/objectscontacts"),
        ] {
            assert_eq!(route(method, path), None, "{method} {path}");
        }
    }
}
