//! Reading fixtures from YAML and checking the rules a CRM world must satisfy, with every error placed at its file, line, column and field.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::path::Path;

use super::Fixtures;
use leakproof_config::yaml::{Document, Issue, LoadError, Problem};

/// The longest accepted property name, in characters; as for configurations.
const MAX_PROPERTY_NAME_CHARS: usize = 100;

/// Parses and validates the fixtures in `document`.
///
/// A document with nothing in it (empty, only comments, or `~`) is an error,
/// as it is for configurations and scenarios: an empty CRM world is written
/// `contacts: []`.
pub fn parse(document: &Document) -> Result<Fixtures, LoadError> {
    if document.is_empty() {
        return Err(LoadError::Invalid(vec![Issue {
            source: document.name().to_owned(),
            position: Some(leakproof_config::yaml::Position { line: 1, column: 1 }),
            field: "(document)".to_owned(),
            message: "the file is empty: write the CRM world's `contacts` (and `tickets`, `companies`), \
                      or `contacts: []` for an empty world"
                .to_owned(),
        }]));
    }
    let fixtures: Fixtures = document.parse().map_err(clarify)?;
    let found = problems(&fixtures);
    if found.is_empty() { Ok(fixtures) } else { Err(document.place(found)) }
}

/// Loads and validates the fixtures in the file at `path`.
pub fn load_file(path: impl AsRef<Path>) -> Result<Fixtures, LoadError> {
    parse(&Document::read(path.as_ref())?)
}

/// Loads and validates fixtures from YAML (or JSON) text; `name` appears in
/// error messages where a file name would.
///
/// ```
/// let err = leakproof_world::from_yaml_str("f.yaml", "contacts:\n  - id: 1\n    email: ann\n").unwrap_err();
/// assert_eq!(err.issues()[0].field, "contacts[0].email");
/// assert_eq!(err.issues()[0].position.map(|p| (p.line, p.column)), Some((3, 12)));
/// ```
pub fn from_yaml_str(name: &str, text: &str) -> Result<Fixtures, LoadError> {
    parse(&Document::new(name, text))
}

/// Checks the rules fixtures must satisfy beyond their shape.
///
/// Loading from YAML runs this already; call it for fixtures built in code.
/// The issues name fields by path, without a file position.
///
/// ```
/// use leakproof_world::{Contact, Fixtures, validate};
/// use leakproof_config::ids::ContactId;
/// let contact = Contact {
///     id: ContactId(1),
///     email: "ann@example.com".into(),
///     properties: Default::default(),
///     tickets: vec![],
///     companies: vec![],
/// };
/// let fixtures = Fixtures { contacts: vec![contact.clone(), contact], ..Default::default() };
/// let err = validate(&fixtures).unwrap_err();
/// assert_eq!(err.issues()[0].field, "contacts[1].id");
/// ```
pub fn validate(fixtures: &Fixtures) -> Result<(), LoadError> {
    let problems = problems(fixtures);
    if problems.is_empty() {
        return Ok(());
    }
    Err(LoadError::Invalid(
        problems
            .into_iter()
            .map(|problem| Issue {
                source: "fixtures".to_owned(),
                position: None,
                field: problem.field,
                message: problem.message,
            })
            .collect(),
    ))
}

/// The parser's messages about `properties` and their values, in our words.
fn clarify(err: LoadError) -> LoadError {
    let LoadError::Invalid(mut issues) = err else { return err };
    for issue in &mut issues {
        if is_property_value(&issue.field) && issue.message.starts_with("expected string scalar") {
            issue.message = "expected a text, number or boolean value, found a list or mapping".to_owned();
        } else if issue.field.ends_with("].properties") && issue.message.starts_with("expected mapping") {
            issue.message =
                "expected a mapping of property names to values, such as `city: Bristol`".to_owned();
        }
    }
    LoadError::Invalid(issues)
}

/// Whether `field` is a value inside a record's `properties`.
fn is_property_value(field: &str) -> bool {
    ["contacts[", "tickets[", "companies["].iter().any(|list| field.starts_with(list))
        && field.split_once("].properties.").is_some_and(|(_, name)| !name.is_empty())
}

/// Every rule `fixtures` breaks, in document order.
pub(crate) fn problems(fixtures: &Fixtures) -> Vec<Problem> {
    let mut problems = Vec::new();

    let contact_ids = first_indices(fixtures.contacts.iter().map(|c| c.id));
    let ticket_ids = first_indices(fixtures.tickets.iter().map(|t| t.id));
    let company_ids = first_indices(fixtures.companies.iter().map(|c| c.id));
    // lowercase email -> index of the first contact with it.
    let mut emails: HashMap<String, usize> = HashMap::new();

    for (index, contact) in fixtures.contacts.iter().enumerate() {
        let at = |field: &str| format!("contacts[{index}].{field}");
        if let Some(&first) = contact_ids.get(&contact.id)
            && first != index
        {
            problems.push(Problem::new(
                at("id"),
                format!("duplicate contact id {}: contacts[{first}] has it already", contact.id),
            ));
        }

        if let Some(why) = leakproof_hubspot::crm::email_problem(&contact.email) {
            problems.push(Problem::new(at("email"), format!("invalid email {:?}: {why}", contact.email)));
        } else {
            let key = contact.email.to_lowercase();
            match emails.get(&key) {
                Some(&first) => problems.push(Problem::new(
                    at("email"),
                    format!(
                        "duplicate email {:?}: contacts[{first}] has it already (emails are compared \
                         without case, as HubSpot does)",
                        contact.email
                    ),
                )),
                None => {
                    emails.insert(key, index);
                }
            }
        }

        property_problems(&at("properties"), contact.properties.keys(), true, &mut problems);

        let mut listed = BTreeSet::new();
        for (i, ticket) in contact.tickets.iter().enumerate() {
            let field = at(&format!("tickets[{i}]"));
            if !ticket_ids.contains_key(ticket) {
                problems.push(Problem::new(field, format!("no ticket with id {ticket} in `tickets`")));
            } else if !listed.insert(*ticket) {
                problems.push(Problem::new(field, format!("ticket {ticket} is listed twice")));
            }
        }
        let mut listed = BTreeSet::new();
        for (i, company) in contact.companies.iter().enumerate() {
            let field = at(&format!("companies[{i}]"));
            if !company_ids.contains_key(company) {
                problems.push(Problem::new(field, format!("no company with id {company} in `companies`")));
            } else if !listed.insert(*company) {
                problems.push(Problem::new(field, format!("company {company} is listed twice")));
            }
        }
    }

    for (list, what, records, ids) in [
        ("tickets", "ticket", &fixtures.tickets, &ticket_ids),
        ("companies", "company", &fixtures.companies, &company_ids),
    ] {
        for (index, record) in records.iter().enumerate() {
            if let Some(&first) = ids.get(&record.id)
                && first != index
            {
                problems.push(Problem::new(
                    format!("{list}[{index}].id"),
                    format!("duplicate {what} id {}: {list}[{first}] has it already", record.id),
                ));
            }
            property_problems(
                &format!("{list}[{index}].properties"),
                record.properties.keys(),
                false,
                &mut problems,
            );
        }
    }

    for (cookie, contact) in &fixtures.visitors.cookies {
        let field = format!("visitors.cookies.{cookie}");
        if cookie.trim().is_empty() {
            problems.push(Problem::new(field, "empty cookie value: a visitor's cookie is never empty"));
        } else if !contact_ids.contains_key(contact) {
            problems.push(Problem::new(field, format!("no contact with id {contact} in `contacts`")));
        }
    }
    for (number, contact) in &fixtures.visitors.whatsapp {
        let field = format!("visitors.whatsapp.{number}");
        if !is_e164(number) {
            problems.push(Problem::new(
                field,
                format!("invalid WhatsApp number {number:?}: write it in E.164, `+` then 8 to 15 digits"),
            ));
        } else if !contact_ids.contains_key(contact) {
            problems.push(Problem::new(field, format!("no contact with id {contact} in `contacts`")));
        }
    }
    problems
}

/// Id -> index of the first record with it.
fn first_indices<K: Eq + Hash>(ids: impl Iterator<Item = K>) -> HashMap<K, usize> {
    let mut first = HashMap::new();
    for (index, id) in ids.enumerate() {
        first.entry(id).or_insert(index);
    }
    first
}

/// The problems with the property names of one record.
fn property_problems<'a>(
    at: &str,
    names: impl Iterator<Item = &'a String>,
    contact: bool,
    problems: &mut Vec<Problem>,
) {
    for name in names {
        let field = format!("{at}.{name}");
        if contact && name == "email" {
            problems.push(Problem::new(
                field,
                "`email` is the contact's own `email` field; do not repeat it in `properties`",
            ));
        } else if name == "hs_object_id" {
            problems.push(Problem::new(
                field,
                "`hs_object_id` is the record's `id`; do not repeat it in `properties`",
            ));
        } else if !is_internal_name(name) {
            problems.push(Problem::new(
                field,
                format!(
                    "invalid property name {name:?}: HubSpot internal names are lowercase letters, digits \
                     and underscores, starting with a letter"
                ),
            ));
        }
    }
}

/// Whether `name` is a HubSpot internal property name: `[a-z][a-z0-9_]*`, at
/// most 100 characters.
pub fn is_internal_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_PROPERTY_NAME_CHARS
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `number` is in E.164 form: `+` then 8 to 15 digits.
pub fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordId;
    use leakproof_config::yaml::Position;

    const VALID: &str = "\
contacts:
  - id: 101
    email: ann@example.com
    properties:
      firstname: Ann
      zip: 02134
      points: 1200
      price: 1.50
      vip: yes
      active: true
    tickets: [5001]
    companies: [9001]
  - id: 102
    email: bob@example.org
    companies: [9001]
tickets:
  - id: 5001
    properties: { subject: Broken zip, hs_pipeline_stage: '1' }
companies:
  - id: 9001
    properties: { name: Northwind }
visitors:
  cookies: { abc123: 101 }
  whatsapp: { '+4712345678': 102 }
";

    /// The one issue loading `text` gives: (line, column, field, message).
    fn only_issue(text: &str) -> (usize, usize, String, String) {
        let err = from_yaml_str("f.yaml", text).unwrap_err();
        let issues = err.issues();
        assert_eq!(issues.len(), 1, "{err}");
        let Position { line, column } = issues[0].position.unwrap();
        (line, column, issues[0].field.clone(), issues[0].message.clone())
    }

    fn replace(from: &str, to: &str) -> String {
        assert!(VALID.contains(from), "{from}");
        VALID.replacen(from, to, 1)
    }

    #[test]
    fn a_valid_document_loads_with_values_as_written() {
        let fixtures = from_yaml_str("f.yaml", VALID).unwrap();
        let ann = &fixtures.contacts[0].properties;
        assert_eq!(ann["zip"], "02134");
        assert_eq!(ann["points"], "1200");
        assert_eq!(ann["price"], "1.50");
        assert_eq!(ann["vip"], "yes");
        assert_eq!(ann["active"], "true");
        assert_eq!(fixtures.tickets[0].properties["hs_pipeline_stage"], "1");
        assert_eq!(fixtures.contacts_of_company(RecordId(9001)).len(), 2);
        assert!(validate(&fixtures).is_ok());
    }

    #[test]
    fn duplicate_contact_id() {
        let err = from_yaml_str("f.yaml", &replace("id: 102", "id: 101")).unwrap_err();
        let issue = &err.issues()[0];
        assert_eq!(issue.position, Some(Position { line: 13, column: 9 }));
        assert_eq!(issue.field, "contacts[1].id");
        assert!(issue.message.contains("duplicate contact id 101: contacts[0]"), "{err}");
        // The WhatsApp number of contact 102 now points nowhere: reported too.
        assert_eq!(err.issues()[1].field, "visitors.whatsapp.+4712345678");
    }

    #[test]
    fn duplicate_ticket_and_company_ids() {
        let text = VALID.replace("tickets:\n  - id: 5001\n", "tickets:\n  - id: 5001\n  - id: 5001\n");
        let (line, column, field, _) = only_issue(&text);
        assert_eq!((line, column, field.as_str()), (18, 9, "tickets[1].id"));
        let text = VALID.replace("  - id: 9001\n", "  - id: 9001\n  - id: 9001\n");
        assert_eq!(only_issue(&text).2, "companies[1].id");
    }

    #[test]
    fn emails_are_unique_without_case() {
        let (line, column, field, message) = only_issue(&replace("bob@example.org", "ANN@Example.com"));
        assert_eq!((line, column, field.as_str()), (14, 12, "contacts[1].email"));
        assert!(message.starts_with("duplicate email \"ANN@Example.com\": contacts[0]"), "{message}");
    }

    #[test]
    fn emails_are_shaped_like_addresses() {
        for bad in [
            "ann",
            "'@example.com'",
            "ann@example",
            "'ann@@example.com'",
            "a@b@c.com",
            "ann@.com",
            "'an n@x.com'",
        ] {
            let (line, column, field, message) = only_issue(&replace("ann@example.com", bad));
            assert_eq!((line, column, field.as_str()), (3, 12, "contacts[0].email"), "{bad}: {message}");
            assert!(message.starts_with("invalid email"), "{message}");
        }
    }

    #[test]
    fn properties_must_not_repeat_email_or_the_id() {
        let (line, column, field, message) = only_issue(&replace("firstname: Ann", "email: ann@example.com"));
        assert_eq!((line, column, field.as_str()), (5, 14, "contacts[0].properties.email"));
        assert!(message.contains("`email` field"), "{message}");
        let (_, _, field, message) = only_issue(&replace("name: Northwind", "hs_object_id: '9001'"));
        assert_eq!(field, "companies[0].properties.hs_object_id");
        assert!(message.contains("record's `id`"), "{message}");
    }

    #[test]
    fn property_names_are_internal_names() {
        let (line, column, field, message) = only_issue(&replace("points: 1200", "Points: 1200"));
        assert_eq!((line, column, field.as_str()), (7, 15, "contacts[0].properties.Points"));
        assert!(message.starts_with("invalid property name \"Points\""), "{message}");
        let (_, _, field, _) = only_issue(&replace("subject: Broken zip", "2fa: Broken zip"));
        assert_eq!(field, "tickets[0].properties.2fa");
    }

    #[test]
    fn associations_point_at_existing_records() {
        let (line, column, field, message) = only_issue(&replace("tickets: [5001]", "tickets: [5002]"));
        assert_eq!((line, column, field.as_str()), (11, 15, "contacts[0].tickets[0]"));
        assert_eq!(message, "no ticket with id 5002 in `tickets`");
        let (line, column, field, _) =
            only_issue(&replace("companies: [9001]\n  - id: 102", "companies: [9001, 9001]\n  - id: 102"));
        assert_eq!((line, column, field.as_str()), (12, 23, "contacts[0].companies[1]"));
        let text = VALID.replace("companies: [9001]\ntickets", "companies: [9009]\ntickets");
        assert_eq!(only_issue(&text).2, "contacts[1].companies[0]");
    }

    #[test]
    fn visitors_point_at_existing_contacts() {
        let (line, column, field, message) = only_issue(&replace("abc123: 101", "abc123: 777"));
        assert_eq!((line, column, field.as_str()), (23, 22, "visitors.cookies.abc123"));
        assert_eq!(message, "no contact with id 777 in `contacts`");
        let (_, _, field, _) = only_issue(&replace("'+4712345678': 102", "'+4712345678': 103"));
        assert_eq!(field, "visitors.whatsapp.+4712345678");
    }

    #[test]
    fn whatsapp_numbers_are_e164() {
        for bad in ["'4712345678'", "'+47 1234 5678'", "'+1234567'", "'+1234567890123456'"] {
            let (line, _, field, message) = only_issue(&replace("'+4712345678'", bad));
            assert_eq!(line, 24, "{bad}");
            assert!(field.starts_with("visitors.whatsapp."), "{field}");
            assert!(message.contains("E.164"), "{message}");
        }
        assert!(is_e164("+4712345678") && is_e164("+123456789012345"));
    }

    #[test]
    fn non_scalar_values_are_refused_where_they_are() {
        let (line, column, field, message) = only_issue(&replace("points: 1200", "points: [1, 2]"));
        assert_eq!((line, column, field.as_str()), (7, 15, "contacts[0].properties.points"));
        assert_eq!(message, "expected a text, number or boolean value, found a list or mapping");
        let (line, column, field, message) = only_issue(&replace("points: 1200", "points:"));
        assert_eq!((line, field.as_str()), (7, "contacts[0].properties.points"), "column {column}");
        assert!(
            message.starts_with("expected a text, number or boolean value, found an empty value"),
            "{message}"
        );
        let (_, _, field, message) = only_issue(&replace("points: 1200", "points: {a: 1}"));
        assert_eq!(field, "contacts[0].properties.points");
        assert!(message.starts_with("expected a text, number or boolean value"), "{message}");
    }

    #[test]
    fn properties_must_be_a_mapping() {
        let text = replace("properties: { name: Northwind }", "properties: [name, Northwind]");
        let (line, column, field, message) = only_issue(&text);
        assert_eq!((line, column, field.as_str()), (21, 17, "companies[0].properties"));
        assert!(message.starts_with("expected a mapping of property names to values"), "{message}");
    }

    #[test]
    fn a_property_given_twice_is_refused() {
        let (line, _, field, message) =
            only_issue(&replace("points: 1200", "points: 1200\n      points: 1300"));
        assert_eq!(line, 8);
        assert!(field.ends_with("points"), "{field}");
        assert!(message.contains("duplicate"), "{message}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let (line, column, field, message) =
            only_issue(&replace("    tickets: [5001]", "    ticket: [5001]"));
        assert_eq!((line, column), (11, 5));
        assert!(field.starts_with("contacts[0]"), "{field}");
        assert!(message.contains("ticket"), "{message}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = replace("ann@example.com", "ann").replace("tickets: [5001]", "tickets: [1]");
        let err = from_yaml_str("f.yaml", &text).unwrap_err();
        let fields: Vec<&str> = err.issues().iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["contacts[0].email", "contacts[0].tickets[0]"]);
        assert!(err.to_string().starts_with("f.yaml:3:12: contacts[0].email: invalid email"), "{err}");
    }

    #[test]
    fn validate_reports_without_positions() {
        let mut fixtures = from_yaml_str("f.yaml", VALID).unwrap();
        fixtures.contacts[1].email = "ann@EXAMPLE.com".into();
        let err = validate(&fixtures).unwrap_err();
        assert_eq!(err.issues()[0].field, "contacts[1].email");
        assert_eq!(err.issues()[0].position, None);
        assert_eq!(err.issues()[0].source, "fixtures");
    }
}
