//! A request for a human: "can I talk to a human", "real person please", "transfer me".

use crate::understand::lexicon::{FILLERS, HANDOFF_STRONG, HANDOFF_WEAK};
use crate::understand::reader::Reader;
use crate::understand::tokens::{Kind, Tok};

impl Reader<'_> {
    /// A request for a human.
    pub(super) fn handoff(&self, words: &[usize], any_mention: bool) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let seq = |s: &[&str]| tokens.windows(s.len()).any(|win| win.iter().zip(s).all(|(t, w)| t.is(w)));
        if seq(&["are", "you"]) || seq(&["is", "this"]) || seq(&["am", "i"]) || seq(&["you", "are"]) {
            return None;
        }
        let has_verb = tokens.iter().any(|t| t.is_in(HANDOFF_VERBS));
        let has_modifier =
            tokens.iter().any(|t| t.is_in(&["real", "live", "actual", "human", "proper", "physical"]));
        let bare = tokens.iter().all(|t| {
            t.kind != Kind::Word
                || t.is_in(FILLERS)
                || t.is_in(HANDOFF_STRONG)
                || t.is_in(HANDOFF_WEAK)
                || t.is_in(&[
                    "real", "live", "actual", "human", "customer", "service", "need", "want", "now", "asap",
                ])
        });
        for (n, (&index, token)) in words.iter().zip(&tokens).enumerate() {
            // "support" in "support request status" names a property, not a person.
            if self.mention_of[index].is_some() {
                continue;
            }
            let owned =
                n > 0 && tokens[n - 1].is_in(&["my", "our", "his", "her", "their"]) || token.possessive;
            if owned {
                continue;
            }
            let next_is_mine = tokens.get(n + 1).is_some_and(|t| t.is("my")) && any_mention;
            if token.like_any(&["transfer", "escalate", "escalation"]) && !next_is_mine {
                return Some(index);
            }
            if token.like_any(HANDOFF_STRONG) && (has_verb || has_modifier || bare) {
                return Some(index);
            }
            if token.is_in(HANDOFF_WEAK) {
                let talk = tokens.iter().any(|t| {
                    t.is_in(&[
                        "talk", "speak", "chat", "connect", "transfer", "put", "reach", "escalate",
                        "contact", "call",
                    ])
                });
                let real = n > 0 && tokens[n - 1].is_in(&["real", "live", "actual", "human", "proper"])
                    || tokens.get(n + 1).is_some_and(|t| t.is_in(&["real", "please"]));
                if talk || real || (bare && !any_mention) {
                    return Some(index);
                }
            }
        }
        None
    }
}

/// Verbs of asking for someone: "talk to", "get me", "put me through".
const HANDOFF_VERBS: &[&str] = &[
    "talk", "speak", "chat", "connect", "transfer", "put", "get", "want", "need", "reach", "escalate",
    "contact", "call", "switch", "pass", "hand", "forward", "redirect", "give", "see", "request", "prefer",
    "like",
];
