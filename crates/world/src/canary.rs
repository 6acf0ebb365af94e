//! Canary fragments: short tokens in generated values that trace any value seen in a reply back to exactly one (record, property).
//!
//! A canary is six characters in a fixed shape, letter-letter-digit-letter-
//! digit-letter (`KX7Q2M`):
//!
//! - **No look-alikes.** Letters leave out `I`, `L` and `O`, digits leave out
//!   `0` and `1`; and since every position is either a letter or a digit,
//!   `Z`/`2`, `S`/`5` or `B`/`8` cannot be mistaken for each other either.
//! - **Found in any text, and nowhere else.** The two digits keep English words
//!   out; the four letters keep phone numbers, zip codes and dates out. A
//!   canary is only recognised as a whole word (no letter or digit directly
//!   before or after it), and without regard to case, because emails and
//!   domains carry it in lowercase and an agent may change the case of what it
//!   repeats.
//! - **Unique by construction.** [`CanaryMint`] numbers the values it marks
//!   0, 1, 2, … and maps each number through a keyed permutation of the whole
//!   token space (a Feistel network with cycle walking), keyed by the seed. Two
//!   numbers never give the same token, whatever the seed; different seeds give
//!   unrelated-looking tokens. The space holds [`CANARY_CAPACITY`] tokens.
//!
//! [`Canaries`] indexes the canaries a fixture set actually contains, found in
//! its values, so it works as well for fixtures loaded from YAML as for
//! generated ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use serde::Serialize;

use super::{Fixtures, RecordRef};
use leakproof_config::ObjectType;
use leakproof_config::ids::ContactId;

/// The length of a canary, in characters.
pub const CANARY_LEN: usize = 6;

/// The letters a canary uses: `A`–`Z` without `I`, `L` and `O`, which read as
/// `1`, `1` and `0`.
const LETTERS: &[u8; 23] = b"ABCDEFGHJKMNPQRSTUVWXYZ";

/// The digits a canary uses: `2`–`9`; `0` and `1` read as `O` and `I`/`L`.
const DIGITS: &[u8; 8] = b"23456789";

/// Which positions hold a digit; the others hold a letter. `KX7Q2M`.
const DIGIT_AT: [bool; CANARY_LEN] = [false, false, true, false, true, false];

/// How many distinct canaries there are: 23⁴ · 8² = 17,909,824.
pub const CANARY_CAPACITY: u64 = 23 * 23 * 23 * 23 * 8 * 8;

/// Half the bits of the Feistel domain, `2^26 >= CANARY_CAPACITY`.
const HALF_BITS: u32 = 13;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
const FEISTEL_ROUNDS: u64 = 4;

/// Hands out canaries, each different from every other one it has handed out.
#[derive(Clone, Debug)]
pub struct CanaryMint {
    key: u64,
    next: u64,
}

impl CanaryMint {
    /// A mint whose sequence of canaries is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        CanaryMint { key: splitmix64(seed ^ 0x6361_6e61_7279_2121), next: 0 }
    }

    /// The next canary, or `None` once all [`CANARY_CAPACITY`] are spent.
    pub fn next_canary(&mut self) -> Option<String> {
        if self.next >= CANARY_CAPACITY {
            return None;
        }
        let index = self.permute(self.next);
        self.next += 1;
        Some(token_of(index))
    }

    /// How many canaries are left.
    pub fn remaining(&self) -> u64 {
        CANARY_CAPACITY - self.next
    }

    /// A permutation of `0..CANARY_CAPACITY`: a permutation of `0..2^26`
    /// applied until the result falls in range (cycle walking), which stays a
    /// bijection on the smaller range.
    fn permute(&self, index: u64) -> u64 {
        let mut x = index;
        loop {
            x = self.feistel(x);
            if x < CANARY_CAPACITY {
                return x;
            }
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let (mut left, mut right) = (x >> HALF_BITS, x & HALF_MASK);
        for round in 0..FEISTEL_ROUNDS {
            let mixed = splitmix64(self.key ^ (round << 32) ^ right) & HALF_MASK;
            (left, right) = (right, left ^ mixed);
        }
        (left << HALF_BITS) | right
    }
}

/// The canary numbered `index` (below [`CANARY_CAPACITY`]), in mixed radix.
fn token_of(mut index: u64) -> String {
    let mut token = [0u8; CANARY_LEN];
    for (slot, &digit) in token.iter_mut().zip(DIGIT_AT.iter()).rev() {
        let alphabet: &[u8] = if digit { DIGITS } else { LETTERS };
        let radix = alphabet.len() as u64;
        // `index % radix` is below the alphabet's length.
        *slot = alphabet[(index % radix) as usize];
        index /= radix;
    }
    token.iter().map(|&b| char::from(b)).collect()
}

/// SplitMix64's finaliser: a fixed, well-mixing function of 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether `token` (exactly six characters) is canary-shaped, ignoring case.
pub fn is_canary(token: &str) -> bool {
    token.len() == CANARY_LEN && token.bytes().zip(DIGIT_AT).all(|(b, digit)| fits(b, digit))
}

fn fits(byte: u8, digit: bool) -> bool {
    // DIGITS and LETTERS as ranges: 2 to 9, and A to Z but I, L and O.
    let upper = byte.to_ascii_uppercase();
    if digit {
        matches!(upper, b'2'..=b'9')
    } else {
        upper.is_ascii_uppercase() && !matches!(upper, b'I' | b'L' | b'O')
    }
}

/// Every canary-shaped word in `text`, in order, with its byte range and its
/// canonical (uppercase) spelling. A canary must stand as a word of its own:
/// no ASCII letter or digit directly before or after it.
///
/// ```
/// use leakproof_world::find_canary_tokens;
/// let found = find_canary_tokens("Suite KX7Q2M, or kx7q2m@example.com; not AKX7Q2M");
/// let tokens: Vec<_> = found.iter().map(|(_, t)| t.as_str()).collect();
/// assert_eq!(tokens, ["KX7Q2M", "KX7Q2M"]);
/// ```
pub fn find_canary_tokens(text: &str) -> Vec<(Range<usize>, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    while start + CANARY_LEN <= bytes.len() {
        let end = start + CANARY_LEN;
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        // Every byte checked by `fits` is ASCII, so the range is on character boundaries.
        if before_ok && after_ok && bytes[start..end].iter().zip(DIGIT_AT).all(|(&b, digit)| fits(b, digit)) {
            let token = bytes[start..end].iter().map(|b| char::from(b.to_ascii_uppercase())).collect();
            found.push((start..end, token));
            start = end;
        } else {
            start += 1;
        }
    }
    found
}

/// The (record, property) a canary belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CanaryOwner {
    /// The record whose value carries the canary.
    pub record: RecordRef,
    /// The property, by HubSpot internal name (`email` for a contact's email).
    pub property: String,
    /// The contacts whose data this is: the contact itself, or the contacts a
    /// ticket or company is associated with.
    pub contacts: Vec<ContactId>,
}

impl CanaryOwner {
    /// The CRM object of the record.
    pub fn object(&self) -> ObjectType {
        self.record.object()
    }
}

/// A canary found in a text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CanarySighting {
    /// The canary, uppercase.
    pub canary: String,
    /// Where in the text, in bytes.
    pub range: Range<usize>,
    /// Whose value it is.
    pub owner: CanaryOwner,
}

/// The canaries of one fixture set, each with its owner.
///
/// Built from the values themselves: every canary-shaped word in a value is
/// that value's canary. A word found in the values of two different (record,
/// property) pairs attributes nothing; it is listed in
/// [`Canaries::ambiguous`] instead. Generated fixtures have none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canaries {
    owners: BTreeMap<String, CanaryOwner>,
    ambiguous: BTreeSet<String>,
}

impl Canaries {
    /// The canaries in `fixtures`' values. Linear in the size of the fixtures.
    pub fn of(fixtures: &Fixtures) -> Self {
        // Record -> the contacts associated with it, in contact order, each once.
        let mut associated: HashMap<RecordRef, Vec<ContactId>> = HashMap::new();
        for contact in &fixtures.contacts {
            let records = contact
                .tickets
                .iter()
                .map(|&t| RecordRef::Ticket(t))
                .chain(contact.companies.iter().map(|&c| RecordRef::Company(c)));
            for record in records {
                let contacts = associated.entry(record).or_default();
                if contacts.last() != Some(&contact.id) {
                    contacts.push(contact.id);
                }
            }
        }

        let mut canaries = Canaries::default();
        for contact in &fixtures.contacts {
            let record = RecordRef::Contact(contact.id);
            let values = std::iter::once(("email", &contact.email))
                .chain(contact.properties.iter().map(|(k, v)| (k.as_str(), v)));
            for (property, value) in values {
                canaries.add(record, property, value, &[contact.id]);
            }
        }
        let records = fixtures
            .tickets
            .iter()
            .map(|t| (RecordRef::Ticket(t.id), t))
            .chain(fixtures.companies.iter().map(|c| (RecordRef::Company(c.id), c)));
        for (record, r) in records {
            let contacts = associated.get(&record).map_or(&[][..], Vec::as_slice);
            for (property, value) in &r.properties {
                canaries.add(record, property, value, contacts);
            }
        }
        canaries
    }

    /// Records the canaries in `value` as (`record`, `property`)'s.
    fn add(&mut self, record: RecordRef, property: &str, value: &str, contacts: &[ContactId]) {
        for (_, token) in find_canary_tokens(value) {
            if self.ambiguous.contains(&token) {
                continue;
            }
            match self.owners.get(&token) {
                Some(owner) if owner.record == record && owner.property == property => {}
                Some(_) => {
                    self.owners.remove(&token);
                    self.ambiguous.insert(token);
                }
                None => {
                    let owner =
                        CanaryOwner { record, property: property.to_owned(), contacts: contacts.to_vec() };
                    self.owners.insert(token, owner);
                }
            }
        }
    }

    /// The owner of `canary` (any case).
    pub fn owner(&self, canary: &str) -> Option<&CanaryOwner> {
        self.owners.get(&canary.to_ascii_uppercase())
    }

    /// Every canary, uppercase, with its owner, in canary order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CanaryOwner)> {
        self.owners.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The canaries and owners as a map.
    pub fn as_map(&self) -> &BTreeMap<String, CanaryOwner> {
        &self.owners
    }

    /// How many canaries attribute a value.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether no value carries a canary.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Canary-shaped words found in more than one (record, property): they
    /// attribute nothing.
    pub fn ambiguous(&self) -> &BTreeSet<String> {
        &self.ambiguous
    }

    /// The canaries of this fixture set that `text` contains, in order of
    /// appearance. Canary-shaped words that belong to no value are ignored.
    pub fn find(&self, text: &str) -> Vec<CanarySighting> {
        find_canary_tokens(text)
            .into_iter()
            .filter_map(|(range, canary)| {
                let owner = self.owners.get(&canary)?.clone();
                Some(CanarySighting { canary, range, owner })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_is_membership_of_the_alphabets() {
        for byte in 0..=u8::MAX {
            let upper = byte.to_ascii_uppercase();
            assert_eq!(fits(byte, true), DIGITS.contains(&upper), "{byte}");
            assert_eq!(fits(byte, false), LETTERS.contains(&upper), "{byte}");
        }
    }

    #[test]
    fn the_permutation_is_a_bijection_on_a_prefix_and_differs_by_seed() {
        let mut mint = CanaryMint::new(1);
        let tokens: Vec<String> = (0..50_000).filter_map(|_| mint.next_canary()).collect();
        let distinct: BTreeSet<&String> = tokens.iter().collect();
        assert_eq!(distinct.len(), tokens.len());
        assert!(tokens.iter().all(|t| is_canary(t)), "{tokens:?}");
        let mut other = CanaryMint::new(2);
        assert_ne!(other.next_canary().as_ref(), tokens.first());
    }

    #[test]
    fn the_mint_is_fixed_by_its_seed() {
        // The same on every machine: no platform-dependent arithmetic.
        let mut mint = CanaryMint::new(42);
        let first: Vec<String> = (0..3).filter_map(|_| mint.next_canary()).collect();
        let mut again = CanaryMint::new(42);
        let second: Vec<String> = (0..3).filter_map(|_| again.next_canary()).collect();
        assert_eq!(first, second);
        assert_eq!(first.len(), 3);
    }

    #[test]
    fn the_mint_runs_dry_instead_of_repeating() {
        let mut mint = CanaryMint::new(0);
        mint.next = CANARY_CAPACITY - 1;
        assert_eq!(mint.remaining(), 1);
        assert!(mint.next_canary().is_some());
        assert_eq!(mint.next_canary(), None);
    }

    #[test]
    fn token_space_ends_are_canaries() {
        assert_eq!(token_of(0), "AA2A2A");
        assert_eq!(token_of(CANARY_CAPACITY - 1), "ZZ9Z9Z");
    }

    #[test]
    fn a_canary_in_two_values_attributes_nothing() {
        let fixtures = crate::from_yaml_str(
            "f.yaml",
            "contacts:
  - { id: 1, email: a@example.com, tickets: [7], properties: { city: Leeds KX7Q2M, zip: AB2C3D 1 } }
  - { id: 2, email: b@example.com, tickets: [7], properties: { city: York KX7Q2M, note: 'AB2C3D again' } }
tickets: [{ id: 7, properties: { subject: 'Broken (ref PQ8R5T)' } }]
",
        )
        .unwrap();
        let canaries = fixtures.canaries();
        assert_eq!(canaries.ambiguous().iter().collect::<Vec<_>>(), ["AB2C3D", "KX7Q2M"]);
        let owner = canaries.owner("pq8r5t").unwrap();
        assert_eq!(owner.record, RecordRef::Ticket(crate::RecordId(7)));
        assert_eq!(owner.contacts, [ContactId(1), ContactId(2)]);
        assert_eq!(canaries.len(), 1);
        assert!(canaries.find("KX7Q2M and AB2C3D").is_empty());
        assert_eq!(canaries.find("see PQ8R5T")[0].range, 4..10);
    }

    #[test]
    fn tokens_are_found_as_whole_words_only() {
        let found = |text: &str| find_canary_tokens(text).into_iter().map(|(_, t)| t).collect::<Vec<_>>();
        assert_eq!(found("KX7Q2M"), ["KX7Q2M"]);
        assert_eq!(found("(ref KX7Q2M)"), ["KX7Q2M"]);
        assert_eq!(found("maria.kx7q2m@example.com"), ["KX7Q2M"]);
        assert_eq!(found("acme-kx7q2m.example"), ["KX7Q2M"]);
        assert!(found("AKX7Q2M KX7Q2M9 KX0Q2M KI7Q2M market 555-0134 2024-01-02").is_empty());
        assert_eq!(found("éKX7Q2Mé"), ["KX7Q2M"]);
        let ranges = find_canary_tokens("a KX7Q2M");
        assert_eq!(ranges[0].0, 2..8);
    }
}
