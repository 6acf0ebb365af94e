//! CRM search as HubSpot answers it: filters (association filters and `CONTAINS_TOKEN` wildcards
//! included), the free-text `query`, one sort, and a 400 naming what is supported for anything else.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

use leakproof_config::ObjectType;
use leakproof_hubspot::crm::wire::{Filter, PublicObjectSearchRequest};

use super::{Data, Failure, Stored, associated, object_named, property};

/// The most filter groups a search may have, as HubSpot's spec says.
const MAX_FILTER_GROUPS: usize = 6;

/// The most filters a search may have over all its groups, as HubSpot's
/// 2024 search changelog says.
const MAX_FILTERS: usize = 25;

/// The longest `query`, as HubSpot's search guide says.
const MAX_QUERY_CHARS: usize = 3000;

/// The most records one search page returns, as HubSpot's spec says.
const MAX_SEARCH_LIMIT: u32 = 200;

/// The fewest records one search page may ask for.
const MIN_SEARCH_LIMIT: u32 = 1;

/// The page size when a search names none.
const DEFAULT_SEARCH_LIMIT: u32 = 10;

/// The fields of a search body: any other is refused rather than ignored, so a
/// misspelt or misplaced field (`filters` at the top) is never a search of everything.
const SEARCH_FIELDS: [&str; 6] = ["filterGroups", "properties", "sorts", "limit", "after", "query"];

/// The fields of one filter.
const FILTER_FIELDS: [&str; 5] = ["propertyName", "operator", "value", "highValue", "values"];

/// The fields of one filter group.
const GROUP_FIELDS: [&str; 1] = ["filters"];

/// HubSpot's filter operators, in its documentation's order.
const OPERATORS: &str = "EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, \
                         CONTAINS_TOKEN and NOT_CONTAINS_TOKEN";

/// The operators an association filter (`associations.contact`) takes.
const ASSOCIATION_OPERATORS: &str = "EQ, NEQ, IN, NOT_IN, HAS_PROPERTY and NOT_HAS_PROPERTY";

/// The properties a free-text `query` searches, as HubSpot's search guide lists
/// them for each object type.
fn searchable(object: ObjectType) -> &'static [&'static str] {
    match object {
        ObjectType::Contact => &[
            "firstname",
            "lastname",
            "email",
            "phone",
            "hs_additional_emails",
            "fax",
            "mobilephone",
            "company",
        ],
        ObjectType::Company => &["website", "phone", "name", "domain"],
        ObjectType::Ticket => {
            &["subject", "content", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_id"]
        }
    }
}

/// A search, checked and made ready to test records.
pub(super) struct Search {
    object: ObjectType,
    groups: Vec<Vec<Compiled>>,
    /// The query's words, lowercased; empty when there is no query.
    query: Vec<String>,
    sort: Option<Sort>,
    /// The properties to return, `None` for the defaults.
    pub(super) properties: Option<Vec<String>>,
    pub(super) limit: u32,
    pub(super) offset: usize,
}

/// How results are ordered.
struct Sort {
    property: String,
    descending: bool,
}

impl Search {
    /// Reads and checks a search body for `object`, before any record is looked at: a
    /// bad search is a 400 whatever the records.
    pub(super) fn parse(object: ObjectType, body: &[u8], data: &Data) -> Result<Search, Failure> {
        let json: serde_json::Value = serde_json::from_slice(body)
            .map_err(|err| Failure::validation(format!("Invalid input JSON on line 1: {err}")))?;
        check_fields(&json)?;
        let search: PublicObjectSearchRequest = serde_json::from_value(json)
            .map_err(|err| Failure::validation(format!("Invalid input JSON: {err}")))?;
        let limit = search.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        if !(MIN_SEARCH_LIMIT..=MAX_SEARCH_LIMIT).contains(&limit) {
            return Err(Failure::invalid_field(
                "limit",
                format!("limit must be between {MIN_SEARCH_LIMIT} and {MAX_SEARCH_LIMIT}, got {limit}"),
            ));
        }
        let offset = super::cursor(search.after.as_deref())?;
        let known = data.known.get(&object);
        let exists = |name: &str| known.is_some_and(|known| known.contains(name));
        validate_filters(object, &search, &exists)?;
        let query = match search.query.as_deref() {
            Some(query) if query.chars().count() > MAX_QUERY_CHARS => {
                return Err(Failure::invalid_field(
                    "query",
                    format!("query may be at most {MAX_QUERY_CHARS} characters"),
                ));
            }
            // Its words as the records' words are read: `Kling (ref HK6Z3S)` is `kling`,
            // `ref`, `hk6z3s`; an address stays one word.
            Some(query) => tokens(&query.to_lowercase()).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        let sort = parse_sorts(&search.sorts, &exists)?;
        let groups = search
            .filter_groups
            .iter()
            .map(|group| group.filters.iter().map(Compiled::new).collect())
            .collect();
        let properties = (!search.properties.is_empty()).then_some(search.properties);
        Ok(Search { object, groups, query, sort, properties, limit, offset })
    }

    /// Whether record `id` matches: its filter groups (ORed groups of ANDed filters; no
    /// groups matches everything) and every word of the query.
    pub(super) fn matches(&self, data: &Data, id: u64, stored: &Stored) -> bool {
        let value = |name: &str| property(self.object, id, stored, name);
        let filtered = self.groups.is_empty()
            || self.groups.iter().any(|group| {
                group.iter().all(|filter| match filter.association {
                    Some(to) => filter.holds_association(associated(data, self.object, id, to)),
                    None => filter.holds(value(&filter.property).as_deref()),
                })
            });
        filtered && (self.query.is_empty() || self.query_matches(&value))
    }

    /// Whether every word of the query begins a word of one of the object's searchable
    /// properties (`ann` finds Annabel; `ann@example.com` finds that address whole).
    fn query_matches<'s>(&self, value: &impl Fn(&str) -> Option<Cow<'s, str>>) -> bool {
        let words: Vec<String> = searchable(self.object)
            .iter()
            .filter_map(|name| value(name))
            .flat_map(|text| {
                let text = text.to_lowercase();
                let whole: Vec<String> = tokens(&text).map(str::to_owned).collect();
                let parts =
                    text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_owned);
                whole.into_iter().chain(parts).collect::<Vec<_>>()
            })
            .collect();
        self.query.iter().all(|wanted| words.iter().any(|word| word.starts_with(wanted.as_str())))
    }

    /// Puts matched records in the search's order: by its sort (records without the
    /// property last), then by id; by id alone when it has none.
    pub(super) fn order(&self, matched: &mut [(u64, &Stored)]) {
        let Some(sort) = &self.sort else {
            matched.sort_by_key(|(id, _)| *id);
            return;
        };
        matched.sort_by(|(a_id, a), (b_id, b)| {
            let a_value = property(self.object, *a_id, a, &sort.property);
            let b_value = property(self.object, *b_id, b, &sort.property);
            let by_value = match (a_value, b_value) {
                (Some(a), Some(b)) => {
                    let order = compare(&a.to_lowercase(), &b.to_lowercase());
                    if sort.descending { order.reverse() } else { order }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            by_value.then(a_id.cmp(b_id))
        });
    }
}

/// Refuses fields a search body, a group or a filter does not have, naming the ones it has.
fn check_fields(json: &serde_json::Value) -> Result<(), Failure> {
    fn unknown(value: &serde_json::Value, allowed: &[&str], at: &str) -> Result<(), Failure> {
        let Some(map) = value.as_object() else { return Ok(()) };
        match map.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => {
                let field = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
                Err(Failure::invalid_field(
                    &field,
                    format!("Unknown field {field:?}; the mock's search takes {}", allowed.join(", ")),
                ))
            }
            None => Ok(()),
        }
    }
    unknown(json, &SEARCH_FIELDS, "")?;
    let groups = json.get("filterGroups").and_then(|groups| groups.as_array());
    for (g, group) in groups.into_iter().flatten().enumerate() {
        unknown(group, &GROUP_FIELDS, &format!("filterGroups[{g}]"))?;
        let filters = group.get("filters").and_then(|filters| filters.as_array());
        for (f, filter) in filters.into_iter().flatten().enumerate() {
            unknown(filter, &FILTER_FIELDS, &format!("filterGroups[{g}].filters[{f}]"))?;
        }
    }
    Ok(())
}

/// The search's sort: at most one, as a property name (`"createdate"`, `"-createdate"`
/// for descending) or `{"propertyName", "direction": "ASCENDING" | "DESCENDING"}`, of a
/// property that exists.
fn parse_sorts(sorts: &[serde_json::Value], exists: &impl Fn(&str) -> bool) -> Result<Option<Sort>, Failure> {
    let sort = match sorts {
        [] => return Ok(None),
        [sort] => sort,
        _ => {
            return Err(Failure::invalid_field(
                "sorts",
                format!("A search may sort by one property, got {} sorts", sorts.len()),
            ));
        }
    };
    let bad = || {
        Failure::invalid_field(
            "sorts[0]",
            format!(
                "sorts[0] must be a property name (\"-name\" for descending) or {{\"propertyName\": …, \
                 \"direction\": \"ASCENDING\" or \"DESCENDING\"}}, got {sort}"
            ),
        )
    };
    let (property, descending) = match sort {
        serde_json::Value::String(text) => match text.strip_prefix('-') {
            Some(name) => (name.to_owned(), true),
            None => (text.clone(), false),
        },
        serde_json::Value::Object(map) => {
            if let Some(key) = map.keys().find(|key| *key != "propertyName" && *key != "direction") {
                return Err(Failure::invalid_field(
                    &format!("sorts[0].{key}"),
                    format!("Unknown field sorts[0].{key:?}; a sort takes propertyName and direction"),
                ));
            }
            let name = map.get("propertyName").and_then(|name| name.as_str()).ok_or_else(bad)?;
            let descending = match map.get("direction").map(|direction| direction.as_str()) {
                None | Some(Some("ASCENDING")) => false,
                Some(Some("DESCENDING")) => true,
                Some(_) => return Err(bad()),
            };
            (name.to_owned(), descending)
        }
        _ => return Err(bad()),
    };
    if !exists(&property) {
        return Err(Failure::invalid_field(
            "sorts[0].propertyName",
            format!("Cannot sort by property {property:?}: no such property"),
        ));
    }
    Ok(Some(Sort { property, descending }))
}

/// What a filter's operator needs besides the property name.
enum Needs {
    Nothing,
    Value,
    ValueAndHigh,
    Values,
}

/// What `operator` needs, or `None` if HubSpot has no such operator.
fn needs(operator: &str) -> Option<Needs> {
    Some(match operator {
        "HAS_PROPERTY" | "NOT_HAS_PROPERTY" => Needs::Nothing,
        "EQ" | "NEQ" | "LT" | "LTE" | "GT" | "GTE" | "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => Needs::Value,
        "BETWEEN" => Needs::ValueAndHigh,
        "IN" | "NOT_IN" => Needs::Values,
        _ => return None,
    })
}

/// The object type an association filter's property names (`associations.contact`),
/// `None` for any other property; an error for `associations.` of no object type the
/// mock holds.
fn association_target(property: &str, at: &str) -> Result<Option<ObjectType>, Failure> {
    let Some(name) = property.strip_prefix("associations.") else { return Ok(None) };
    object_named(name).map(Some).ok_or_else(|| {
        Failure::invalid_field(
            &format!("{at}.propertyName"),
            format!(
                "{at}: cannot filter by {property:?}: the mock's association filters are associations.contact, \
                 associations.company and associations.ticket"
            ),
        )
    })
}

/// Checks a search's filters: at most [`MAX_FILTER_GROUPS`] groups and [`MAX_FILTERS`]
/// filters, each on a property that exists (or an association filter), with an operator
/// HubSpot has and the values it needs (`value` for `EQ` and the other comparisons,
/// `value` and `highValue` for `BETWEEN`, a non-empty `values` for `IN` and `NOT_IN`).
/// The message names the filter and, as HubSpot's does, the operator
/// (`operator IN requires values`).
fn validate_filters(
    object: ObjectType,
    search: &PublicObjectSearchRequest,
    exists: &impl Fn(&str) -> bool,
) -> Result<(), Failure> {
    if search.filter_groups.len() > MAX_FILTER_GROUPS {
        return Err(Failure::invalid_field(
            "filterGroups",
            format!(
                "A search may have at most {MAX_FILTER_GROUPS} filter groups, got {}",
                search.filter_groups.len()
            ),
        ));
    }
    let count: usize = search.filter_groups.iter().map(|group| group.filters.len()).sum();
    if count > MAX_FILTERS {
        return Err(Failure::invalid_field(
            "filterGroups",
            format!("A search may have at most {MAX_FILTERS} filters in all, got {count}"),
        ));
    }
    for (g, group) in search.filter_groups.iter().enumerate() {
        for (f, filter) in group.filters.iter().enumerate() {
            let at = format!("filterGroups[{g}].filters[{f}]");
            let operator = filter.operator.as_str();
            let named = format!("(property {:?})", filter.property_name);
            let Some(needs) = needs(operator) else {
                return Err(Failure::invalid_field(
                    &format!("{at}.operator"),
                    format!("{at}: unknown operator {operator:?} {named}; HubSpot's are {OPERATORS}"),
                ));
            };
            let association = association_target(&filter.property_name, &at)?;
            if association.is_some()
                && !matches!(operator, "EQ" | "NEQ" | "IN" | "NOT_IN" | "HAS_PROPERTY" | "NOT_HAS_PROPERTY")
            {
                return Err(Failure::invalid_field(
                    &format!("{at}.operator"),
                    format!(
                        "{at}: operator {operator} is not supported on an association filter {named}; \
                         the mock's are {ASSOCIATION_OPERATORS}"
                    ),
                ));
            }
            if association.is_none() && !exists(&filter.property_name) {
                return Err(Failure::invalid_field(
                    &format!("{at}.propertyName"),
                    format!(
                        "{at}: property {:?} does not exist on {}",
                        filter.property_name,
                        super::plural(object)
                    ),
                ));
            }
            let missing = match needs {
                Needs::Nothing => None,
                Needs::Value => filter.value.is_none().then_some(("value", "a value")),
                Needs::ValueAndHigh => match (&filter.value, &filter.high_value) {
                    (None, _) => Some(("value", "a value and a highValue")),
                    (_, None) => Some(("highValue", "a value and a highValue")),
                    _ => None,
                },
                Needs::Values => filter
                    .values
                    .as_ref()
                    .is_none_or(|values| values.is_empty())
                    .then_some(("values", "values")),
            };
            if let Some((field, what)) = missing {
                return Err(Failure::invalid_field(
                    &format!("{at}.{field}"),
                    format!("operator {operator} requires {what}: {at} {named}"),
                ));
            }
        }
    }
    Ok(())
}

/// A filter made ready to test many records: its values lowercased once,
/// `IN` lists as sets.
struct Compiled {
    property: String,
    /// The object type of an association filter.
    association: Option<ObjectType>,
    operator: String,
    value: String,
    high: String,
    values: HashSet<String>,
}

impl Compiled {
    fn new(filter: &Filter) -> Compiled {
        let lower = |value: &Option<String>| value.as_deref().unwrap_or_default().to_lowercase();
        Compiled {
            property: filter.property_name.clone(),
            association: filter.property_name.strip_prefix("associations.").and_then(object_named),
            operator: filter.operator.clone(),
            value: lower(&filter.value),
            high: lower(&filter.high_value),
            values: filter.values.iter().flatten().map(|value| value.to_lowercase()).collect(),
        }
    }

    /// Whether a record associated with the records `ids` (of the filter's type) satisfies it.
    fn holds_association(&self, ids: BTreeSet<u64>) -> bool {
        let has = |wanted: &str| ids.iter().any(|id| id.to_string() == wanted);
        match self.operator.as_str() {
            "EQ" => has(&self.value),
            "NEQ" => !has(&self.value),
            "IN" => self.values.iter().any(|value| has(value)),
            "NOT_IN" => !self.values.iter().any(|value| has(value)),
            "HAS_PROPERTY" => !ids.is_empty(),
            "NOT_HAS_PROPERTY" => ids.is_empty(),
            // validate_filters lets no other operator through.
            _ => false,
        }
    }

    /// Whether a record whose value of the property is `value` satisfies it.
    fn holds(&self, value: Option<&str>) -> bool {
        let value = value.map(str::to_lowercase);
        let value = value.as_deref();
        let order = |wanted: &str| value.map(|v| compare(v, wanted));
        let has_token = || value.is_some_and(|v| tokens(v).any(|token| glob(&self.value, token)));
        use Ordering::{Equal, Greater, Less};
        match self.operator.as_str() {
            "EQ" => value == Some(self.value.as_str()),
            "NEQ" => value != Some(self.value.as_str()),
            "IN" => value.is_some_and(|v| self.values.contains(v)),
            "NOT_IN" => !value.is_some_and(|v| self.values.contains(v)),
            "HAS_PROPERTY" => value.is_some(),
            "NOT_HAS_PROPERTY" => value.is_none(),
            "CONTAINS_TOKEN" => has_token(),
            "NOT_CONTAINS_TOKEN" => !has_token(),
            "LT" => order(&self.value) == Some(Less),
            "LTE" => matches!(order(&self.value), Some(Less | Equal)),
            "GT" => order(&self.value) == Some(Greater),
            "GTE" => matches!(order(&self.value), Some(Greater | Equal)),
            "BETWEEN" => {
                matches!(order(&self.value), Some(Greater | Equal))
                    && matches!(order(&self.high), Some(Less | Equal))
            }
            // validate_filters lets no other operator through.
            _ => false,
        }
    }
}

/// The tokens of a lowercased value, as `CONTAINS_TOKEN` sees them: runs of letters,
/// digits, `@` and `.`, so an address is one token.
fn tokens(value: &str) -> impl Iterator<Item = &str> {
    value.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.').filter(|token| !token.is_empty())
}

/// Whether `text` matches `pattern`, in which `*` stands for any characters (none
/// included), as HubSpot's `CONTAINS_TOKEN` wildcards do (`*@example.com`).
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Orders two property values: as numbers when both are (epoch
/// milliseconds, amounts), else as text (ISO dates order correctly as text).
fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.total_cmp(&b),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_stands_for_any_characters_and_nothing_else_does() {
        for (pattern, text) in [
            ("*@example.com", "ann@example.com"),
            ("ann*", "ann@example.com"),
            ("*", ""),
            ("a*b*c", "abc"),
            ("a*b*c", "axxbyyc"),
            ("ann@example.com", "ann@example.com"),
            ("*example*", "ann@example.com"),
        ] {
            assert!(glob(pattern, text), "{pattern} {text}");
        }
        for (pattern, text) in [
            ("*@example.com", "ann@example.net"),
            ("*@example.com", "ann@example.com.au"),
            ("ann", "ann@example.com"),
            ("a*b*c", "acb"),
            ("ab*ba", "aba"),
            ("", "x"),
        ] {
            assert!(!glob(pattern, text), "{pattern} {text}");
        }
    }

    #[test]
    fn a_query_is_read_in_words_as_the_records_are() {
        let data = Data::default();
        let body = br#"{"query": "Kling (ref HK6Z3S)"}"#;
        let search = Search::parse(ObjectType::Contact, body, &data).unwrap();
        assert_eq!(search.query, ["kling", "ref", "hk6z3s"]);
        let body = br#"{"query": "  ann@example.com, "}"#;
        let search = Search::parse(ObjectType::Contact, body, &data).unwrap();
        assert_eq!(search.query, ["ann@example.com"]);
    }

    #[test]
    fn an_address_is_one_token() {
        let found: Vec<&str> = tokens("ann.lee@example.com; +44 161").collect();
        assert_eq!(found, ["ann.lee@example.com", "44", "161"]);
    }
}
