//! A yes or a no to the agent's last question: "yes", "go ahead", 👍; "no", "cancel", "don't", 👎.

use super::squeezed_in;
use crate::understand::Intent;
use crate::understand::lexicon::LEADING_FILLERS;
use crate::understand::reader::Reader;
use crate::understand::tokens::{Kind, Tok};

impl Reader<'_> {
    /// A yes or a no to the agent's last question, and whether it is only a
    /// weak one ("ok", "sure") that gives way to a real request.
    pub(super) fn answer(
        &self,
        words: &[usize],
        any_mention: bool,
        question: bool,
    ) -> Option<(usize, Intent, bool)> {
        let mut skip = 0;
        while words.get(skip).is_some_and(|&i| self.tokens[i].is_in(LEADING_FILLERS)) {
            skip += 1;
        }
        let indices = words.get(skip..)?;
        let position = *indices.first()?;
        let words: Vec<&Tok> = indices.iter().map(|&i| &self.tokens[i]).collect();
        let first = words[0];
        let second = words.get(1).copied();
        let rest_is_empty_or = |from: usize, allowed: &[&str]| {
            words[from..].iter().all(|t| t.is_in(allowed) || t.kind != Kind::Word)
        };
        let asked_back = || self.tok(position + 1).is_some_and(|t| t.is_punct('?'));

        // Decline.
        if let Some(c) = first.symbol()
            && NO_EMOJI.contains(&c)
        {
            return Some((position, Intent::Decline, false));
        }
        let no = squeezed_in(first, &["no", "nope", "nah", "naw", "nay", "nein", "nei", "non"]);
        let not_a_refusal = second.is_some_and(|t| {
            t.is_in(&[
                "problem", "problems", "prob", "probs", "worries", "worry", "stress", "rush", "hurry",
                "doubt", "way",
            ])
        });
        let dont = first.is("do") && second.is_some_and(|t| t.is("not"));
        let dont_what = words.get(2).is_none_or(|t| t.is_in(DONT_OBJECTS) || t.kind != Kind::Word);
        if (no && !not_a_refusal)
            || first.is_in(&["negative", "nevermind", "nvm"])
            // "cancel my subscription" is not a no.
            || first.is_in(&["cancel", "cancelled", "canceled", "stop", "abort"]) && !any_mention
            || first.is("never") && second.is_some_and(|t| t.is("mind"))
            || first.is("not")
                && second.is_some_and(|t| t.is_in(&["now", "yet", "really", "quite", "that", "it"]))
            || dont && dont_what
            || (first.is("n") && words.len() == 1)
        {
            return Some((position, Intent::Decline, false));
        }
        if !any_mention && !question {
            let has = |w: &str| words.iter().any(|t| t.is(w));
            let seq = |s: &[&str]| words.windows(s.len()).any(|win| win.iter().zip(s).all(|(t, w)| t.is(w)));
            if has("cancel")
                || has("wrong")
                || has("incorrect")
                || seq(&["not", "correct"])
                || seq(&["not", "right"])
                || seq(&["not", "it"])
                || seq(&["changed", "my", "mind"])
                || seq(&["rather", "not"])
                || seq(&["leave", "it"])
                || seq(&["keep", "it"])
                || seq(&["forget", "it"])
                || seq(&["do", "not", "do"])
            {
                return Some((position, Intent::Decline, false));
            }
        }

        // Confirm.
        if let Some(c) = first.symbol()
            && YES_EMOJI.contains(&c)
        {
            return Some((position, Intent::Confirm, false));
        }
        let yes = squeezed_in(
            first,
            &["yes", "yeah", "yep", "yup", "yea", "ya", "yah", "yas", "aye", "ja", "oui", "si", "sí"],
        ) || first.is_in(&[
            "affirmative",
            "absolutely",
            "definitely",
            "certainly",
            "exactly",
            "indeed",
            "agreed",
            "proceed",
            "yesplease",
        ]);
        // "confirm that my city is Oslo" asks to check a value; it answers nothing.
        let verb_like = first.is_in(&["correct", "confirm", "confirmed", "confirming"])
            && second.is_none_or(|t| {
                t.is_in(&["please", "it", "that", "this", "yes", "thanks", "thank", "go", "and"])
            })
            && !any_mention;
        let phrase = |s: &[&str]| {
            let confirms = s.last().is_some_and(|w| *w == "confirm");
            words.len() >= s.len() && words.iter().zip(s).all(|(t, w)| t.is(w)) && !(confirms && any_mention)
        };
        let confirm_phrase = [
            &["go", "ahead"][..],
            &["go", "for", "it"],
            &["do", "it"],
            &["please", "do"],
            &["please", "proceed"],
            &["please", "go", "ahead"],
            &["please", "confirm"],
            &["of", "course"],
            &["sounds", "good"],
            &["sounds", "great"],
            &["sounds", "right"],
            &["looks", "good"],
            &["looks", "right"],
            &["looks", "correct"],
            &["i", "confirm"],
            &["i", "agree"],
            &["that", "works"],
            &["all", "good"],
            &["please", "yes"],
        ]
        .iter()
        .any(|s| phrase(s));
        let that_is = (first.is_in(&["that", "this", "it"]) && second.is_some_and(|t| t.is("is")))
            && words.get(2).is_some_and(|t| {
                t.is_in(&[
                    "right", "correct", "fine", "it", "true", "good", "perfect", "ok", "okay", "great",
                    "accurate",
                ])
            })
            && !question;
        if (yes || verb_like || confirm_phrase || that_is) && !asked_back() {
            return Some((position, Intent::Confirm, false));
        }
        let weak = ["ok", "okay", "k", "kk", "alright", "fine", "right", "y", "allright", "sure"];
        let weak_rest = [
            "please", "thanks", "thank", "you", "then", "sure", "right", "ok", "okay", "yes", "alright",
            "all", "fine", "go", "ahead", "good", "great", "thing", "why", "not",
        ];
        let all_right = first.is("all") && second.is_some_and(|t| t.is("right"));
        if (squeezed_in(first, &weak) || all_right)
            && rest_is_empty_or(1, &weak_rest)
            && !question
            && !any_mention
        {
            return Some((position, Intent::Confirm, true));
        }
        None
    }
}

/// Words after "don't" that make it a refusal: "don't change it", a bare "don't".
const DONT_OBJECTS: &[&str] = &[
    "do", "change", "update", "it", "that", "bother", "proceed", "confirm", "save", "touch", "go",
    "continue", "make", "apply", "want", "please", "send", "agree",
];

/// Emoji that answer yes.
const YES_EMOJI: &[char] = &['👍', '✅', '👌', '✔', '☑', '🆗', '💯', '🙆'];

/// Emoji that answer no.
const NO_EMOJI: &[char] = &['👎', '❌', '✖', '🚫', '⛔', '🙅', '❎'];
