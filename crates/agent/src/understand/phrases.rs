//! The phrase table: every label and synonym of the configured properties as word ids, and the properties a message's tokens name, longest phrase first.

use std::collections::{HashMap, HashSet};

use leakproof_policy::PropertyId;

use super::Understander;
use super::fuzzy::{MAX_FUZZY_CHARS, MIN_FUZZY_CHARS, fill, osa_distance_within, tolerance};
use super::stopwords::is_stopword;
use super::tokens::{Kind, Tok};

/// One way to name a property.
#[derive(Clone, Debug)]
pub(super) struct Phrase {
    words: Vec<u32>,
    property: PropertyId,
    /// The property's position in the configuration: the earlier one wins
    /// when two phrases match the same words equally well.
    rank: u32,
}

impl Understander {
    /// The vocabulary words `token` may stand for, with their distance.
    fn candidates(&self, token: &Tok) -> Candidates {
        let mut found = Candidates::default();
        if token.kind != Kind::Word {
            return found;
        }
        if let Some(&id) = self.vocabulary.get(token.norm.as_ref()) {
            found.push(id, 0);
            return found;
        }
        let mut letters = ['\0'; MAX_FUZZY_CHARS + 2];
        let Some(word) = fill(&mut letters, &token.norm) else { return found };
        if word.len() < MIN_FUZZY_CHARS || is_stopword(&token.norm) || word.iter().all(char::is_ascii_digit) {
            return found;
        }
        for (id, spelling) in self.spellings.iter().enumerate() {
            let max = tolerance(spelling.len());
            if max == 0 {
                continue;
            }
            if let Some(distance) = osa_distance_within(word, spelling, max) {
                found.push(u32::try_from(id).unwrap_or(u32::MAX), u8::try_from(distance).unwrap_or(u8::MAX));
            }
        }
        found
    }

    /// Every property named in `tokens`, left to right, longest match first.
    pub(super) fn mentions(&self, tokens: &[Tok]) -> Vec<Mention> {
        let candidates: Vec<Candidates> = tokens.iter().map(|t| self.candidates(t)).collect();
        let mut found = Vec::new();
        let mut start = 0;
        while start < tokens.len() {
            // (words, total distance, rank, property)
            let mut best: Option<(usize, u32, u32, PropertyId)> = None;
            for &(first, first_distance) in candidates[start].as_slice() {
                let Some(phrases) = self.by_first_word.get(first as usize) else { continue };
                for &index in phrases {
                    let Some(phrase) = self.phrases.get(index as usize) else { continue };
                    let len = phrase.words.len();
                    let Some(following) = candidates.get(start + 1..start + len) else { continue };
                    let mut distance = u32::from(first_distance);
                    let mut matched = true;
                    for (word, candidates) in phrase.words[1..].iter().zip(following) {
                        match candidates.distance_to(*word) {
                            Some(d) => distance += u32::from(d),
                            None => {
                                matched = false;
                                break;
                            }
                        }
                    }
                    let better = match best {
                        None => true,
                        Some((best_len, best_distance, best_rank, _)) => {
                            (len, std::cmp::Reverse(distance), std::cmp::Reverse(phrase.rank))
                                > (best_len, std::cmp::Reverse(best_distance), std::cmp::Reverse(best_rank))
                        }
                    };
                    if matched && better {
                        best = Some((len, distance, phrase.rank, phrase.property));
                    }
                }
            }
            match best {
                Some((len, _, _, property)) => {
                    found.push(Mention { start, end: start + len, property });
                    start += len;
                }
                None => start += 1,
            }
        }
        found
    }
}

/// Collects phrases while the table is built.
#[derive(Default)]
pub(super) struct TableBuilder {
    vocabulary: HashMap<String, u32>,
    spellings: Vec<Vec<char>>,
    phrases: Vec<Phrase>,
    seen: HashSet<Vec<u32>>,
}

impl TableBuilder {
    pub(super) fn add(&mut self, words: &[String], property: PropertyId, rank: u32) {
        if words.is_empty() {
            return;
        }
        let ids: Vec<u32> = words.iter().map(|w| self.intern(w)).collect();
        // The first property to use a phrase keeps it.
        if self.seen.insert(ids.clone()) {
            self.phrases.push(Phrase { words: ids, property, rank });
        }
    }

    fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.vocabulary.get(word) {
            return id;
        }
        let id = u32::try_from(self.spellings.len()).unwrap_or(u32::MAX);
        let letters: Vec<char> = word.chars().collect();
        // Too long to misspell within the fixed buffers: matched exactly only.
        self.spellings.push(if letters.len() > MAX_FUZZY_CHARS { Vec::new() } else { letters });
        self.vocabulary.insert(word.to_owned(), id);
        id
    }

    pub(super) fn finish(mut self) -> Understander {
        self.phrases.sort_by(|a, b| b.words.len().cmp(&a.words.len()).then(a.rank.cmp(&b.rank)));
        let mut by_first_word = vec![Vec::new(); self.spellings.len()];
        for (index, phrase) in self.phrases.iter().enumerate() {
            if let Some(list) = phrase.words.first().and_then(|&w| by_first_word.get_mut(w as usize)) {
                list.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
        }
        Understander {
            vocabulary: self.vocabulary,
            spellings: self.spellings,
            phrases: self.phrases,
            by_first_word,
        }
    }
}

/// Up to four vocabulary words a token may stand for, with their distance.
#[derive(Clone, Copy, Default)]
struct Candidates {
    ids: [(u32, u8); 4],
    len: usize,
}

impl Candidates {
    fn push(&mut self, id: u32, distance: u8) {
        if let Some(slot) = self.ids.get_mut(self.len) {
            *slot = (id, distance);
            self.len += 1;
        } else if let Some(worst) = self.ids.iter_mut().max_by_key(|(_, d)| *d)
            && worst.1 > distance
        {
            *worst = (id, distance);
        }
    }

    fn as_slice(&self) -> &[(u32, u8)] {
        &self.ids[..self.len]
    }

    fn distance_to(&self, id: u32) -> Option<u8> {
        self.as_slice().iter().find(|(candidate, _)| *candidate == id).map(|(_, d)| *d)
    }
}

/// A property named in the message: tokens `start..end`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mention {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) property: PropertyId,
}
