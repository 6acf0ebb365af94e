//! The properties API: the definition of each property the CRM holds (name, label, type, field
//! type, group, options), as HubSpot's `Property` gives it. Definitions only, never a record's value.

use jiff::Timestamp;
use serde::Serialize;

use leakproof_config::ObjectType;

use super::{Data, Failure, is_read_only, plural, standard_properties};
use crate::hubspot_time;

/// `Property`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Property {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: &'static str,
    field_type: &'static str,
    group_name: String,
    description: String,
    options: Vec<PropertyOption>,
    display_order: i32,
    calculated: bool,
    external_options: bool,
    has_unique_value: bool,
    hidden: bool,
    form_field: bool,
    hubspot_defined: bool,
    modification_metadata: ModificationMetadata,
    created_at: String,
    updated_at: String,
    archived: bool,
}

/// `Option`: one choice of an enumeration.
#[derive(Serialize)]
struct PropertyOption {
    label: &'static str,
    value: &'static str,
    #[serde(rename = "displayOrder")]
    display_order: i32,
    hidden: bool,
}

/// `PropertyModificationMetadata`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModificationMetadata {
    archivable: bool,
    read_only_definition: bool,
    read_only_value: bool,
}

/// `CollectionResponsePropertyNoPaging`, or one `Property`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Answer {
    All { results: Vec<Property> },
    One(Property),
}

/// `GET /crm/v3/properties/{object}` (`name` absent): every property of `object`, in name
/// order; or the one named, a 404 if it does not exist.
pub(super) fn read(
    data: &Data,
    object: ObjectType,
    name: Option<&str>,
    now: Timestamp,
) -> Result<Answer, Failure> {
    let known = data.known.get(&object);
    let names = known.into_iter().flatten();
    match name {
        None => Ok(Answer::All { results: names.map(|name| define(object, name, now)).collect() }),
        Some(name) if known.is_some_and(|known| known.contains(name)) => {
            Ok(Answer::One(define(object, name, now)))
        }
        Some(name) => Err(Failure {
            status: 404,
            category: "OBJECT_NOT_FOUND",
            message: format!("Unable to find property {name} on {}", plural(object)),
            context: Some(("propertyName", name.to_owned())),
            errors: Vec::new(),
        }),
    }
}

/// The enumeration options of HubSpot's own enumerated properties.
fn options(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match name {
        "hs_ticket_priority" => {
            &[("Low", "LOW"), ("Medium", "MEDIUM"), ("High", "HIGH"), ("Urgent", "URGENT")]
        }
        "hs_pipeline" => &[("Support Pipeline", "0")],
        "hs_pipeline_stage" => {
            &[("New", "1"), ("Waiting on contact", "2"), ("Waiting on us", "3"), ("Closed", "4")]
        }
        "hs_ticket_category" => &[
            ("Product issue", "PRODUCT_ISSUE"),
            ("Billing issue", "BILLING_ISSUE"),
            ("Feature request", "FEATURE_REQUEST"),
            ("General inquiry", "GENERAL_INQUIRY"),
        ],
        "lifecyclestage" => &[
            ("Subscriber", "subscriber"),
            ("Lead", "lead"),
            ("Marketing Qualified Lead", "marketingqualifiedlead"),
            ("Sales Qualified Lead", "salesqualifiedlead"),
            ("Opportunity", "opportunity"),
            ("Customer", "customer"),
            ("Evangelist", "evangelist"),
            ("Other", "other"),
        ],
        "hs_lead_status" => &[
            ("New", "NEW"),
            ("Open", "OPEN"),
            ("In Progress", "IN_PROGRESS"),
            ("Open Deal", "OPEN_DEAL"),
            ("Unqualified", "UNQUALIFIED"),
            ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
            ("Connected", "CONNECTED"),
            ("Bad Timing", "BAD_TIMING"),
        ],
        "source_type" => &[("Chat", "CHAT"), ("Email", "EMAIL"), ("Form", "FORM"), ("Phone", "PHONE")],
        _ => return None,
    })
}

/// A property's label, type and field type: HubSpot's for its own properties, a label
/// made from the name and a single-line text otherwise.
fn describe(name: &str) -> (String, &'static str, &'static str) {
    let fixed = |label: &str, kind, field| (label.to_owned(), kind, field);
    match name {
        "email" => fixed("Email", "string", "text"),
        "firstname" => fixed("First Name", "string", "text"),
        "lastname" => fixed("Last Name", "string", "text"),
        "phone" => fixed("Phone Number", "string", "phonenumber"),
        "mobilephone" => fixed("Mobile Phone Number", "string", "phonenumber"),
        "date_of_birth" => fixed("Date of birth", "date", "date"),
        "createdate" => fixed("Create Date", "datetime", "date"),
        "lastmodifieddate" | "hs_lastmodifieddate" => fixed("Last Modified Date", "datetime", "date"),
        "hs_object_id" => fixed("Record ID", "number", "number"),
        "hubspotutk" => fixed("Usertoken", "string", "text"),
        "hs_whatsapp_phone_number" => fixed("WhatsApp Phone Number", "string", "phonenumber"),
        "subject" => fixed("Ticket name", "string", "text"),
        "content" | "description" => fixed("Description", "string", "textarea"),
        "hs_ticket_priority" => fixed("Priority", "enumeration", "select"),
        "hs_pipeline" => fixed("Pipeline", "enumeration", "select"),
        "hs_pipeline_stage" => fixed("Ticket status", "enumeration", "select"),
        "hs_ticket_category" => fixed("Category", "enumeration", "select"),
        "lifecyclestage" => fixed("Lifecycle Stage", "enumeration", "radio"),
        "hs_lead_status" => fixed("Lead Status", "enumeration", "radio"),
        "source_type" => fixed("Source", "enumeration", "select"),
        _ => {
            let words = name.trim_start_matches("hs_").replace('_', " ");
            let mut label: String = words.chars().take(1).flat_map(char::to_uppercase).collect();
            label.extend(words.chars().skip(1));
            (label, "string", "text")
        }
    }
}

fn define(object: ObjectType, name: &str, now: Timestamp) -> Property {
    let (label, kind, field_type) = describe(name);
    let read_only = is_read_only(object, name);
    let hubspot_defined = read_only || standard_properties(object).contains(&name);
    let options = options(name).unwrap_or_default();
    let at = hubspot_time(now);
    Property {
        name: name.to_owned(),
        label,
        kind,
        field_type,
        group_name: format!("{}information", object.as_str()),
        description: String::new(),
        options: options
            .iter()
            .zip(0..)
            .map(|((label, value), order)| PropertyOption {
                label,
                value,
                display_order: order,
                hidden: false,
            })
            .collect(),
        display_order: -1,
        calculated: false,
        external_options: false,
        has_unique_value: name == "hs_object_id",
        hidden: false,
        form_field: !read_only,
        hubspot_defined,
        modification_metadata: ModificationMetadata {
            archivable: !hubspot_defined,
            read_only_definition: hubspot_defined,
            read_only_value: read_only,
        },
        created_at: at.clone(),
        updated_at: at,
        archived: false,
    }
}
