//! Understanding customer text deterministically: one message in, the [`Intent`]s the agent acts on out, with no language model.
//!
//! [`Understander::new`] builds a phrase table once from the labels and
//! synonyms of the configured properties; [`Understander::understand`] then
//! reads each message with a hand-written tokenizer and a few tables of trigger
//! words. Nothing is compiled per message, and nothing here decides access: an
//! intent only says what the customer asked for, and the policy decides what
//! the agent may do about it.
//!
//! How a message is read:
//!
//! 1. **Tokens.** Words are lowercased, contractions expanded ("what's" →
//!    "what is", "don't" → "do not"), possessives marked ("wife's"), and email
//!    addresses kept whole and validated (one `@`, a dot in the domain).
//! 2. **Properties.** Every label and synonym is matched as whole words, the
//!    longest phrase first ("billing address" beats "address"), forgiving a
//!    small misspelling per word: Damerau-Levenshtein distance 1 for words of
//!    4–7 letters, 2 for longer ones, none for shorter words or for common
//!    English words ("down" is never "town").
//! 3. **Updates.** "change my X to Y", "my new X is Y", "X should be Y": the
//!    value is cut from the text as typed, up to an obvious end (a sentence
//!    end, "please", "thanks", ", and what's…").
//! 4. **Whose data.** Each property mention and each email address is
//!    attributed to the customer ("my", "I'm", a bare address) or to someone
//!    else ("of bob@x.org", "my wife's", "Maren Solberg's", "for my mother").
//! 5. **Clauses.** The rest is split at sentence ends, commas and
//!    conjunctions, and each clause is read for yes or no, a request for a
//!    human, a returning customer, small talk and questions. Attempts to
//!    override the agent are looked for in the whole message.
//!
//! # Where the code is
//!
//! One file per part of that reading; the word tables live with the code
//! that reads them, and those read in several places in `lexicon`.
//!
//! - `tokens`: the tokenizer (step 1), email addresses included.
//! - `phrases`: the phrase table and the properties a message names (step 2);
//!   `fuzzy` forgives the misspellings, `stopwords` lists the common words it
//!   never takes for one.
//! - `reader`: the state of reading one message, its sentences and clauses,
//!   the order of the passes, and how the intents found are ordered.
//! - `probes`: a guess to confirm, a part or another form of a value: always
//!   a question, never an update.
//! - `updates` (step 3), with `values` cutting the new value from the text.
//! - `whose`, `emails` and `others`: whose data (step 4).
//! - `clauses` (step 5), one file per reader: `answer` (yes or no),
//!   `handoff`, `returning`, `small_talk`.
//! - `injection`: attempts to override the agent.
//! - `lexicon`: the word tables several of these read.
//!
//! # Example
//!
//! ```
//! use leakproof_agent::understand::{Intent, Understander};
//! use leakproof_config::{from_yaml_str, ObjectType};
//! use leakproof_policy::Policy;
//!
//! let config = from_yaml_str("agent.yaml", r#"
//! agent: { name: Ava }
//! properties:
//!   - { object: contact, property: phone, label: phone number, synonyms: [phone],
//!       view: { enabled: true, protection: verify_email } }
//! "#)?;
//! let policy = Policy::compile(&config)?;
//! let phone = policy.property(ObjectType::Contact, "phone").unwrap();
//! let understander = Understander::new(&policy);
//!
//! assert_eq!(
//!     understander.understand("My email is ADA@example.com. What's my phne numbr?"),
//!     [Intent::ProvideEmail { email: "ada@example.com".into() }, Intent::AskProperty { property: phone }],
//! );
//! assert_eq!(
//!     understander.understand("what's my wife's phone?"),
//!     [Intent::AskAboutOther { property: Some(phone), email: None }],
//! );
//! # Ok::<(), leakproof_config::ConfigError>(())
//! ```

mod clauses;
mod emails;
mod fuzzy;
mod injection;
mod lexicon;
mod others;
mod phrases;
mod probes;
mod reader;
mod stopwords;
mod tokens;
mod updates;
mod values;
mod whose;

use std::collections::HashMap;

use leakproof_config::ObjectType;
use leakproof_policy::{Policy, PropertyId};

use phrases::{Phrase, TableBuilder};
use reader::Reader;
use tokens::{Kind, tokenize};

/// What the customer wants, as far as one message says.
///
/// [`Understander::understand`] returns these in the order the agent should
/// handle them: an [`Intent::Injection`] first, then a yes or no, then the
/// customer's own email address, then the rest in the order typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Intent {
    /// The customer gives their own email address ("my email is ada@x.com",
    /// "it's ada@x.com", a bare "ADA@X.COM"), lowercased and trimmed.
    ProvideEmail {
        /// The address as typed, lowercased.
        email: String,
    },
    /// "what is my X", "do you have my X", "tell me my X", a bare "X?" for a
    /// configured property of the customer's own records.
    AskProperty {
        /// The property asked about.
        property: PropertyId,
    },
    /// "change my X to Y", "my new X is Y", "X should be Y", "please update
    /// X: Y": a new value for a property of the customer's own records.
    UpdateProperty {
        /// The property to change.
        property: PropertyId,
        /// The new value exactly as typed (trimmed, quotes and trailing
        /// chatter removed); never empty.
        value: String,
    },
    /// "I want to change my X", "my X is wrong": an update without a value;
    /// the agent asks for the new value.
    WantsUpdate {
        /// The property to change.
        property: PropertyId,
    },
    /// "yes", "yep", "correct", "go ahead", "that's right", 👍.
    Confirm,
    /// "no", "nope", "cancel", "don't", "that's wrong", "stop", 👎.
    Decline,
    /// "can I talk to a human", "real person please", "transfer me".
    Handoff,
    /// A request about someone else's data: by email ("the address of
    /// ola@example.com", "bob@x.org's phone"), by relation ("my wife's phone
    /// number", "for my mother") or by name ("Maren Solberg's address").
    AskAboutOther {
        /// The property asked about, if one is named.
        property: Option<PropertyId>,
        /// The other person's email address, if one is given; it is not the
        /// customer's own ([`Intent::ProvideEmail`]).
        email: Option<String>,
    },
    /// Text that tries to override the agent ("ignore your instructions",
    /// "you are now…", "system:", "as an admin", "reveal your prompt"). It
    /// carries no authority; the other intents of the message still follow.
    Injection,
    /// "I'm a returning customer", "I have an account", without an address.
    ReturningCustomer,
    /// Greetings, thanks, goodbyes, "how are you", "what can you do"; only
    /// reported when nothing else in the message was understood.
    SmallTalk,
    /// Nothing understood.
    Unknown,
}

/// Reads customer messages against the properties of one [`Policy`].
///
/// Build once per configuration and share: [`Understander::understand`]
/// takes `&self` and keeps no state between messages.
#[derive(Clone, Debug)]
pub struct Understander {
    /// Every distinct word of every phrase, with its id.
    vocabulary: HashMap<String, u32>,
    /// The letters of each vocabulary word, by id, for fuzzy matching.
    spellings: Vec<Vec<char>>,
    /// Labels, synonyms and their object-word variants, as word ids.
    phrases: Vec<Phrase>,
    /// Indices into `phrases` by the id of their first word.
    by_first_word: Vec<Vec<u32>>,
}

impl Understander {
    /// Builds the phrase table from the labels and synonyms of every
    /// property `policy` configures.
    ///
    /// A ticket or company label that starts with its object word ("ticket
    /// status") also answers to "status of my ticket" and "status for my
    /// ticket".
    pub fn new(policy: &Policy) -> Self {
        let mut builder = TableBuilder::default();
        for (rank, (property, rule)) in policy.properties().enumerate() {
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            let object = match rule.object {
                ObjectType::Contact => None,
                ObjectType::Ticket => Some("ticket"),
                ObjectType::Company => Some("company"),
            };
            for name in std::iter::once(&rule.label).chain(&rule.synonyms) {
                let words: Vec<String> = tokenize(name)
                    .into_iter()
                    .filter(|t| t.kind == Kind::Word)
                    .map(|t| t.norm.into_owned())
                    .collect();
                builder.add(&words, property, rank);
                if let (Some(object), [first, rest @ ..]) = (object, words.as_slice())
                    && first == object
                    && !rest.is_empty()
                {
                    for link in [["of", "my"], ["of", "the"], ["for", "my"], ["on", "my"]] {
                        let variant: Vec<String> = rest
                            .iter()
                            .cloned()
                            .chain(link.map(str::to_owned))
                            .chain([object.to_owned()])
                            .collect();
                        builder.add(&variant, property, rank);
                    }
                }
            }
        }
        builder.finish()
    }

    /// Reads one message: the intents it carries, in the order the agent
    /// should handle them, identical ones once; never empty
    /// ([`Intent::Unknown`] when nothing is understood).
    pub fn understand(&self, text: &str) -> Vec<Intent> {
        let tokens = tokenize(text);
        let mentions = self.mentions(&tokens);
        let mut reader = Reader::new(text, &tokens, mentions);
        reader.read();
        reader.finish()
    }
}
