//! Resolution: a raw scenario made a [`Scenario`]: its referenced configuration and fixtures loaded (within its [`Reach`]), its steps checked against them, and every problem placed at its file, line and field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::SignedDuration;

use leakproof_config::ids::ContactId;
use leakproof_config::yaml::{Document, Issue, LoadError, Locations, Position, Problem};
use leakproof_config::{self as config, AgentConfig, Channel, ObjectType};
use leakproof_world::{self, Fixtures, GenerateOptions, MAX_CONTACTS, RecordId, RecordRef};

use super::raw::{
    InlineFixtures, PathOrInline, RawAction, RawExpect, RawFinal, RawLink, RawNewConversation, RawScenario,
    RawStep,
};
use super::{
    Action, DEFAULT_START, Expect, FinalRecord, FinalState, LinkChoice, MAIN_CONVERSATION, MAX_WAIT,
    MailChoice, MailExpect, PropertyRef, Reach, ReplyPattern, Scenario, Step, UpdateExpect,
};

/// The longest accepted conversation name or tag, in characters.
const MAX_NAME_CHARS: usize = 100;

/// The problems found so far: this document's (placed at the end) and those
/// of the files it references (placed already).
struct Problems<'a> {
    document: &'a Document,
    locations: Locations,
    /// This document's, by field.
    own: Vec<Problem>,
    /// The referenced files', placed in them.
    foreign: Vec<Issue>,
}

impl Problems<'_> {
    /// A problem of this document at `field`.
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.own.push(Problem::new(field, message));
    }

    /// The issues of validating settings written inline under `prefix`.
    fn inline(&mut self, prefix: &str, err: LoadError) {
        for issue in err.issues() {
            self.add(format!("{prefix}.{}", issue.field), issue.message.clone());
        }
    }

    /// An error loading a referenced file: its issues name that file; a file
    /// that cannot be read is reported where the scenario names it.
    fn referenced(&mut self, field: &str, err: LoadError) {
        match err {
            LoadError::Read { path, source } => {
                self.add(field, format!("failed to read {}: {source}", path.display()))
            }
            LoadError::Invalid(issues) => self.foreign.extend(issues),
        }
    }

    /// Where `field` is written in this document.
    fn position(&self, field: &str) -> Option<Position> {
        self.locations.find(field)
    }

    /// `list[index]`, or `list` itself when it was written as one value
    /// (`discloses: city`), which has no `[0]` to point at.
    fn item(&self, list: &str, index: usize) -> String {
        let item = format!("{list}[{index}]");
        if self.position(&item) == self.position(list) { list.to_owned() } else { item }
    }

    /// Every problem as an issue placed in its file, or nothing when there are none.
    fn finish(self) -> Result<(), LoadError> {
        if self.own.is_empty() && self.foreign.is_empty() {
            return Ok(());
        }
        let Problems { document, locations, own, foreign } = self;
        let own = own.into_iter().map(|problem| Issue {
            source: document.name().to_owned(),
            position: locations.find(&problem.field),
            field: problem.field,
            message: problem.message,
        });
        Err(LoadError::Invalid(own.chain(foreign).collect()))
    }
}

/// The scenario `document` (read from `path`) holds, its `config` and `fixtures` files read
/// from `base_dir` as far as `reach` allows, and every step checked against them.
pub(super) fn resolve(
    document: &Document,
    path: &Path,
    base_dir: &Path,
    reach: &Reach,
) -> Result<Scenario, LoadError> {
    let raw: RawScenario = document.parse()?;
    let mut problems =
        Problems { document, locations: document.locate(), own: Vec::new(), foreign: Vec::new() };

    let name = match raw.name {
        Some(name) => {
            if let Some(why) = name_problem(&name) {
                problems.add("name", format!("invalid name {name:?}: {why}"));
            }
            name
        }
        None => path
            .file_stem()
            .map_or_else(|| document.name().to_owned(), |stem| stem.to_string_lossy().into_owned()),
    };
    for (index, tag) in raw.tags.iter().enumerate() {
        if let Some(why) = name_problem(tag) {
            problems.add(format!("tags[{index}]"), format!("invalid tag {tag:?}: {why}"));
        }
    }

    let config = resolve_config(raw.config, base_dir, reach, &mut problems);
    let fixtures = resolve_fixtures(raw.fixtures, config.as_ref(), base_dir, reach, &mut problems);

    if raw.steps.is_empty() {
        problems.add("steps", "no steps: a scenario needs at least one, such as `- say: hello`");
    }
    let mut conversations = vec![MAIN_CONVERSATION.to_owned()];
    let steps: Vec<Step> = raw
        .steps
        .into_iter()
        .enumerate()
        .filter_map(|(index, step)| {
            resolve_step(index, step, config.as_ref(), &mut conversations, &mut problems)
        })
        .collect();

    let final_state = raw.final_state.map(|raw| resolve_final(raw, fixtures.as_ref(), &mut problems));

    problems.finish()?;
    // Without problems, both were loaded.
    let (Some(config), Some(fixtures)) = (config, fixtures) else {
        return Err(document.place(vec![Problem::new("config", "the configuration could not be loaded")]));
    };
    Ok(Scenario {
        name,
        description: raw.description,
        path: path.to_owned(),
        tags: raw.tags,
        config,
        fixtures,
        channel: raw.channel.unwrap_or(Channel::LiveChat),
        visitor: raw.visitor.unwrap_or_default(),
        start: raw.start.unwrap_or(DEFAULT_START),
        faults: raw.faults,
        steps,
        final_state,
    })
}

/// Why `name` cannot name a scenario, tag or conversation, if it cannot.
fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("a name needs words".to_owned());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Some(format!("{chars} characters long; at most {MAX_NAME_CHARS} are accepted"));
    }
    if name.chars().any(char::is_control) {
        return Some("it contains control characters".to_owned());
    }
    None
}

fn resolve_path(
    field: &str,
    path: &str,
    base_dir: &Path,
    reach: &Reach,
    problems: &mut Problems<'_>,
) -> Option<PathBuf> {
    if path.trim().is_empty() {
        problems.add(field, format!("empty path: name the {field} file, or write the {field} here"));
        return None;
    }
    let joined = base_dir.join(path);
    if let Reach::Within(suite) = reach
        && let Some(why) = suite.refuses(path, &joined)
    {
        problems.add(field, why);
        return None;
    }
    Some(joined)
}

/// A signing-key file the configuration names must be inside the suite too:
/// an agent serving the scenario over HTTP reads it.
fn check_key_file(field: &str, config: &AgentConfig, reach: &Reach, problems: &mut Problems<'_>) {
    if let (Reach::Within(suite), config::SigningKeySource::File(key)) =
        (reach, &config.verification.signing_key)
        && let Some(why) = suite.refuses(&key.display().to_string(), key)
    {
        problems.add(field, format!("the signing key file {why}"));
    }
}

fn resolve_config(
    source: PathOrInline<AgentConfig>,
    base_dir: &Path,
    reach: &Reach,
    problems: &mut Problems<'_>,
) -> Option<AgentConfig> {
    match source {
        PathOrInline::Path(path) => {
            let path = resolve_path("config", &path, base_dir, reach, problems)?;
            let config = config::load_file(path).map_err(|err| problems.referenced("config", err)).ok()?;
            check_key_file("config", &config, reach, problems);
            Some(config)
        }
        PathOrInline::Inline(config) => {
            if let Err(err) = config::validate(&config) {
                problems.inline("config", err);
            }
            check_key_file("config.verification.signing_key", &config, reach, problems);
            // Even with problems it says which properties exist, for checking the steps.
            Some(config)
        }
    }
}

fn resolve_fixtures(
    source: PathOrInline<InlineFixtures>,
    config: Option<&AgentConfig>,
    base_dir: &Path,
    reach: &Reach,
    problems: &mut Problems<'_>,
) -> Option<Fixtures> {
    let inline = match source {
        PathOrInline::Path(path) => {
            let path = resolve_path("fixtures", &path, base_dir, reach, problems)?;
            return leakproof_world::load_file(path).map_err(|err| problems.referenced("fixtures", err)).ok();
        }
        PathOrInline::Inline(inline) => inline,
    };
    let InlineFixtures { generate, contacts, tickets, companies, visitors } = inline;
    let Some(generate) = generate else {
        let fixtures = Fixtures {
            contacts: contacts.unwrap_or_default(),
            tickets: tickets.unwrap_or_default(),
            companies: companies.unwrap_or_default(),
            visitors: visitors.unwrap_or_default(),
        };
        if let Err(err) = leakproof_world::validate(&fixtures) {
            problems.inline("fixtures", err);
        }
        return Some(fixtures);
    };
    let written: Vec<&str> = [
        ("contacts", contacts.is_some()),
        ("tickets", tickets.is_some()),
        ("companies", companies.is_some()),
        ("visitors", visitors.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, given)| given.then_some(key))
    .collect();
    if !written.is_empty() {
        problems.add(
            "fixtures.generate",
            format!(
                "`generate` makes the whole world, so `{}` cannot be written beside it: \
                 use one or the other",
                written.join("`, `")
            ),
        );
    }
    if generate.contacts == 0 || generate.contacts > MAX_CONTACTS {
        problems.add(
            "fixtures.generate.contacts",
            format!("{} contacts: generate from 1 to {MAX_CONTACTS}", generate.contacts),
        );
        return None;
    }
    let config = config?;
    Some(Fixtures::generate(generate.seed, &GenerateOptions::for_config(config, generate.contacts)))
}

const ACTION_KEYS: &str = "say, open_link, wait, new_conversation, inject or clear_faults";

fn resolve_step(
    index: usize,
    mut raw: RawStep,
    config: Option<&AgentConfig>,
    conversations: &mut Vec<String>,
    problems: &mut Problems<'_>,
) -> Option<Step> {
    let at = |field: &str| format!("steps[{index}].{field}");
    let position = problems.position(&format!("steps[{index}]"));

    let mut actions = raw.take_actions();
    if actions.is_empty() {
        problems.add(format!("steps[{index}]"), format!("no action: a step does one of {ACTION_KEYS}"));
        return None;
    }
    if actions.len() > 1 {
        // Report at the key written last: the one that was added to a step that had its action.
        let mut written: Vec<(Option<Position>, &str)> =
            actions.iter().map(|(key, _)| (problems.position(&at(key)), *key)).collect();
        written.sort();
        let keys: Vec<&str> = written.iter().map(|(_, key)| *key).collect();
        let last = keys.last().copied().unwrap_or("say");
        problems.add(
            at(last),
            format!(
                "one action per step, but this step has {}: write each as a step of its own",
                keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
            ),
        );
        return None;
    }
    let (keyword, action) = actions.remove(0);

    let talks = matches!(action, RawAction::Say(_) | RawAction::OpenLink(_));
    let conversation = match raw.conversation {
        Some(name) if !talks => {
            let why = if keyword == "new_conversation" {
                "the conversation it starts is named by its `name`".to_owned()
            } else {
                format!("a `{keyword}` step acts on the whole world, not one conversation")
            };
            problems.add(at("conversation"), format!("`conversation` does not apply here: {why}"));
            name
        }
        Some(name) => {
            if !conversations.contains(&name) {
                problems.add(
                    at("conversation"),
                    format!(
                        "no conversation named {name:?} has started: start it with a `new_conversation` \
                         step first (started so far: {})",
                        conversations.join(", ")
                    ),
                );
            }
            name
        }
        None => MAIN_CONVERSATION.to_owned(),
    };

    let action = match action {
        RawAction::Say(text) => Action::Say(text),
        RawAction::OpenLink(RawLink { mailbox, mail, tamper }) => {
            if !leakproof_world::is_email_shaped(&mailbox) {
                problems.add(
                    at("open_link.mailbox"),
                    format!("invalid mailbox {mailbox:?}: write the email address the mail was sent to"),
                );
            }
            if mail == MailChoice::Nth(0) {
                problems.add(
                    at("open_link.mail"),
                    "mail 0: mails are counted from 1 (or write `first` or `latest`)",
                );
            }
            Action::OpenLink(LinkChoice { mailbox, mail, tamper })
        }
        RawAction::Wait(text) => match parse_wait(&text) {
            Ok(duration) => Action::Wait(duration),
            Err(why) => {
                problems.add(at("wait"), why);
                Action::Wait(SignedDuration::ZERO)
            }
        },
        RawAction::NewConversation(RawNewConversation { name, channel, visitor }) => {
            if let Some(why) = name_problem(&name) {
                problems
                    .add(at("new_conversation.name"), format!("invalid conversation name {name:?}: {why}"));
            } else if conversations.contains(&name) {
                problems.add(
                    at("new_conversation.name"),
                    format!("a conversation named {name:?} exists already: give the new one its own name"),
                );
            } else {
                conversations.push(name.clone());
            }
            Action::NewConversation { name, channel, visitor }
        }
        RawAction::Inject(fault) => Action::Inject(fault),
        RawAction::ClearFaults(target) => Action::ClearFaults(target),
    };
    let conversation = match &action {
        Action::NewConversation { name, .. } => name.clone(),
        _ => conversation,
    };

    let expect = match raw.expect {
        Some(expect) => resolve_expect(&at("expect"), keyword, expect, config, problems),
        None => Expect::default(),
    };
    Some(Step { conversation, action, expect, position })
}

/// A `wait` duration: friendly (`16m`, `1h 30m`, `30s`) or ISO 8601
/// (`PT16M`), more than nothing and at most [`MAX_WAIT`].
fn parse_wait(text: &str) -> Result<SignedDuration, String> {
    let duration: SignedDuration = text.trim().parse().map_err(|_| {
        format!("invalid duration {text:?}: write it in hours, minutes or seconds, like `16m`, `2h` or `30s`")
    })?;
    if duration <= SignedDuration::ZERO {
        return Err(format!(
            "invalid duration {text:?}: a wait moves the clock forward by more than nothing"
        ));
    }
    if duration > MAX_WAIT {
        return Err(format!("invalid duration {text:?}: at most {MAX_WAIT:#} per step"));
    }
    Ok(duration)
}

fn resolve_expect(
    at: &str,
    keyword: &str,
    raw: RawExpect,
    config: Option<&AgentConfig>,
    problems: &mut Problems<'_>,
) -> Expect {
    for key in raw.given() {
        let why = match keyword {
            "say" if key == "link" => Some("`link` applies only to `open_link` steps".to_owned()),
            "say" => None,
            "open_link" if key == "link" || key.starts_with("reply_") => None,
            "open_link" => Some(format!(
                "`{key}` cannot apply to an `open_link` step: opening a link gets no chat reply; \
                 state it on the next `say` step"
            )),
            _ => Some(format!("`{key}` cannot apply to a `{keyword}` step, which the agent does not answer")),
        };
        if let Some(why) = why {
            problems.add(format!("{at}.{key}"), why);
        }
    }

    for (key, texts) in
        [("reply_contains", &raw.reply_contains), ("reply_not_contains", &raw.reply_not_contains)]
    {
        for (index, text) in texts.iter().enumerate() {
            if text.trim().is_empty() {
                problems
                    .add(problems.item(&format!("{at}.{key}"), index), "empty text: every reply contains it");
            }
        }
    }
    for (index, text) in raw.reply_not_contains.iter().enumerate() {
        if raw.reply_contains.iter().any(|other| other.to_lowercase() == text.to_lowercase()) {
            problems.add(
                problems.item(&format!("{at}.reply_not_contains"), index),
                format!("{text:?} is also in `reply_contains`: no reply can satisfy both"),
            );
        }
    }

    let mut reply_matches = Vec::new();
    for (index, pattern) in raw.reply_matches.iter().enumerate() {
        match ReplyPattern::new(pattern) {
            Ok(pattern) => reply_matches.push(pattern),
            Err(err) => problems.add(
                problems.item(&format!("{at}.reply_matches"), index),
                format!("invalid regular expression {pattern:?}: {}", regex_message(&err)),
            ),
        }
    }

    if let Some(MailExpect::Sent { to }) = &raw.verification_mail
        && !leakproof_world::is_email_shaped(to)
    {
        problems.add(format!("{at}.verification_mail.to"), format!("invalid address {to:?}"));
    }

    let mut properties = |key: &str, names: Vec<String>| -> Vec<PropertyRef> {
        names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                let field = problems.item(&format!("{at}.{key}"), index);
                property_ref(&field, name, config, problems)
            })
            .collect()
    };
    let discloses = properties("discloses", raw.discloses);
    let withholds = properties("withholds", raw.withholds);
    for (index, property) in withholds.iter().enumerate() {
        if discloses.contains(property) {
            problems.add(
                problems.item(&format!("{at}.withholds"), index),
                format!("{property} is also in `discloses`: it cannot be both shown and withheld"),
            );
        }
    }
    let updates = raw
        .updates
        .into_iter()
        .enumerate()
        .filter_map(|(index, update)| {
            let field = problems.item(&format!("{at}.updates"), index);
            // The shorthand `- phone` has no `property` key to point at.
            let written = format!("{field}.property");
            let property_field =
                if problems.position(&written) == problems.position(&field) { field } else { written };
            let property = property_ref(&property_field, &update.property, config, problems)?;
            Some(UpdateExpect { property, value: update.value.map(|text| text.0) })
        })
        .collect();

    Expect {
        reply_contains: raw.reply_contains,
        reply_not_contains: raw.reply_not_contains,
        reply_matches,
        asks_for_email: raw.asks_for_email,
        verification_mail: raw.verification_mail,
        discloses,
        withholds,
        updates,
        hands_off: raw.hands_off,
        link: raw.link,
    }
}

/// The last line of a regex error (`unclosed group`), without the drawing above it.
fn regex_message(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or_else(|| text.lines().last().unwrap_or("syntax error"))
            .to_owned(),
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
        other => other.to_string(),
    }
}

/// `city`, `contact.city`, `ticket.hs_pipeline_stage`: a property the configuration defines.
fn property_ref(
    field: &str,
    text: &str,
    config: Option<&AgentConfig>,
    problems: &mut Problems<'_>,
) -> Option<PropertyRef> {
    let (object, property) = match text.trim().split_once('.') {
        None => (ObjectType::Contact, text.trim()),
        Some((object, property)) => {
            let object = match object {
                "contact" => ObjectType::Contact,
                "ticket" => ObjectType::Ticket,
                "company" => ObjectType::Company,
                _ => {
                    problems.add(
                        field,
                        format!(
                            "unknown object {object:?} in {text:?}: write `property` for a contact's, \
                             or put `contact.`, `ticket.` or `company.` before it"
                        ),
                    );
                    return None;
                }
            };
            (object, property)
        }
    };
    if !leakproof_world::is_internal_name(property) {
        problems.add(
            field,
            format!(
                "invalid property {text:?}: HubSpot internal names are lowercase letters, digits \
                 and underscores, such as `city` or `ticket.hs_pipeline_stage`"
            ),
        );
        return None;
    }
    let property = PropertyRef { object, property: property.to_owned() };
    if let Some(config) = config
        && !config.properties.iter().any(|rule| rule.object == object && rule.property == property.property)
    {
        let known: Vec<String> = config.properties.iter().map(|rule| rule.qualified_name()).collect();
        let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        problems.add(field, format!("unknown property {property}: the configuration defines {known}"));
        return None;
    }
    Some(property)
}

fn resolve_final(raw: RawFinal, fixtures: Option<&Fixtures>, problems: &mut Problems<'_>) -> FinalState {
    let mut crm = Vec::new();
    let mut seen: HashMap<RecordRef, usize> = HashMap::new();
    for (index, record) in raw.crm.into_iter().enumerate() {
        let at = |field: &str| format!("final.crm[{index}].{field}");
        let id = record.id.0;
        let reference = match record.object {
            ObjectType::Contact => RecordRef::Contact(ContactId(id)),
            ObjectType::Ticket => RecordRef::Ticket(RecordId(id)),
            ObjectType::Company => RecordRef::Company(RecordId(id)),
        };
        if let Some(fixtures) = fixtures
            && fixtures.values(reference).is_none()
        {
            problems.add(at("id"), format!("no {reference} in the fixtures"));
        }
        if let Some(first) = seen.insert(reference, index) {
            seen.insert(reference, first);
            problems.add(at("id"), format!("{reference} is listed already, in final.crm[{first}]"));
        }
        if record.properties.is_empty() {
            problems.add(at("properties"), "no properties: name the ones whose final values to check");
        }
        for name in record.properties.keys() {
            if !leakproof_world::is_internal_name(name) {
                problems.add(
                    at(&format!("properties.{name}")),
                    format!("invalid property name {name:?}: HubSpot internal names are lowercase letters, digits and underscores"),
                );
            }
        }
        let properties = record.properties.into_iter().map(|(name, value)| (name, value.0)).collect();
        crm.push(FinalRecord { record: reference, properties });
    }
    FinalState { crm, mails: raw.mails }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits() {
        assert_eq!(parse_wait("16m"), Ok(SignedDuration::from_mins(16)));
        assert_eq!(parse_wait(" 1h 30m "), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_wait("PT30S"), Ok(SignedDuration::from_secs(30)));
        assert_eq!(parse_wait("24h"), Ok(MAX_WAIT));
        for bad in ["", "0m", "-1s", "24h 1s", "16", "a while"] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regex_errors_read_as_their_last_line() {
        let err = ReplyPattern::new("a{2,1}").unwrap_err();
        assert_eq!(regex_message(&err), "invalid repetition count range, the start must be <= the end");
        let err = ReplyPattern::new(r"\w{1000}{1000}").unwrap_err();
        assert_eq!(regex_message(&err), "the pattern is too large");
    }

    #[test]
    fn names() {
        assert_eq!(name_problem("main"), None);
        assert!(name_problem(" ").is_some());
        assert!(name_problem("a\tb").is_some());
        assert!(name_problem(&"x".repeat(MAX_NAME_CHARS + 1)).is_some());
    }
}
