//! Small talk: greetings, thanks, goodbyes and questions about the agent itself.

use super::squeezed_in;
use crate::understand::lexicon::SMALL_TALK_WORDS;
use crate::understand::reader::Reader;
use crate::understand::tokens::Tok;

impl Reader<'_> {
    /// Greetings, thanks, goodbyes and questions about the agent itself.
    pub(super) fn small_talk(&self, words: &[usize], any_mention: bool) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let starts = |n: usize, s: &[&str]| {
            tokens.len() >= n + s.len() && tokens[n..].iter().zip(s).all(|(t, w)| t.is(w))
        };
        for (n, token) in tokens.iter().enumerate() {
            let position = words[n];
            if let Some(c) = token.symbol()
                && SMALL_TALK_EMOJI.contains(&c)
            {
                return Some(position);
            }
            if squeezed_in(token, SMALL_TALK_WORDS) {
                return Some(position);
            }
            if token.is("good")
                && tokens
                    .get(n + 1)
                    .is_some_and(|t| t.is_in(&["morning", "afternoon", "evening", "day", "night", "bye"]))
            {
                return Some(position);
            }
            let phrase = SMALL_TALK_PHRASES.iter().any(|s| starts(n, s));
            if phrase && !any_mention {
                return Some(position);
            }
            if token.is_in(&[
                "great",
                "cool",
                "awesome",
                "nice",
                "perfect",
                "wonderful",
                "excellent",
                "brilliant",
                "amazing",
                "lovely",
                "help",
                "test",
                "testing",
                "menu",
                "options",
            ]) && tokens.len() <= 3
                && !any_mention
            {
                return Some(position);
            }
        }
        None
    }
}

/// Emoji that only say hello or thanks.
const SMALL_TALK_EMOJI: &[char] = &[
    '👋', '🙂', '😊', '😀', '😃', '😄', '😁', '🙏', '❤', '😉', '🤗', '☺', '😎', '🥰', '♥', '😂', '🤣', '💙',
    '🤝',
];

/// Small talk of several words.
const SMALL_TALK_PHRASES: &[&[&str]] = &[
    &["how", "are", "you"],
    &["how", "are", "things"],
    &["how", "is", "it", "going"],
    &["how", "do", "you", "do"],
    &["what", "is", "up"],
    &["nice", "to", "meet", "you"],
    &["pleased", "to", "meet", "you"],
    &["who", "are", "you"],
    &["what", "is", "your", "name"],
    &["are", "you", "a"],
    &["are", "you", "human"],
    &["are", "you", "real"],
    &["are", "you", "an"],
    &["is", "this", "a"],
    &["am", "i", "talking", "to"],
    &["am", "i", "chatting", "with"],
    &["have", "a", "nice"],
    &["have", "a", "good"],
    &["have", "a", "great"],
    &["see", "you"],
    &["see", "ya"],
    &["take", "care"],
    &["no", "problem"],
    &["no", "worries"],
    &["you", "are", "welcome"],
    &["good", "job"],
    &["well", "done"],
    &["you", "rock"],
    &["what", "can", "you", "do"],
    &["what", "do", "you", "do"],
    &["how", "can", "you", "help"],
    &["how", "does", "this", "work"],
    &["what", "can", "i", "ask"],
    &["can", "you", "help"],
    &["i", "need", "help"],
];
