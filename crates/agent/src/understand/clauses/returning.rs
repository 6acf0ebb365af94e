//! A returning customer without an address: "I'm a returning customer", "I have an account".

use crate::understand::reader::Reader;
use crate::understand::tokens::Tok;

impl Reader<'_> {
    /// "I'm a returning customer", "I have an account".
    pub(super) fn returning(&self, words: &[usize]) -> Option<usize> {
        let tokens: Vec<&Tok> = words.iter().map(|&i| &self.tokens[i]).collect();
        let negated = tokens.iter().any(|t| t.is_in(&["not", "never", "no"]));
        for (n, token) in tokens.iter().enumerate() {
            let next = tokens.get(n + 1);
            let position = words[n];
            let customer_after = next.is_some_and(|t| t.like_any(CUSTOMER_NOUNS));
            if token.like("returning") && (customer_after || tokens.len() <= 3) && !negated {
                return Some(position);
            }
            if token.is_in(&[
                "existing", "current", "regular", "loyal", "repeat", "previous", "longtime", "frequent",
                "old",
            ]) && customer_after
                && !negated
            {
                return Some(position);
            }
            let within =
                |k: usize, pred: &dyn Fn(&Tok) -> bool| tokens.iter().skip(n + 1).take(k).any(|t| pred(t));
            if token.is_in(&["have", "got"]) && within(3, &|t| t.like("account")) && !negated {
                return Some(position);
            }
            if token.is("i")
                && next.is_some_and(|t| t.is("am"))
                && within(4, &|t| t.like_any(CUSTOMER_NOUNS))
                && !negated
            {
                return Some(position);
            }
            if token.is("been") && within(3, &|t| t.like_any(CUSTOMER_NOUNS) || t.is_in(&["here", "before"]))
            {
                return Some(position);
            }
            if token.is_in(&["ordered", "bought", "shopped", "purchased", "used"])
                && within(4, &|t| t.is("before"))
            {
                return Some(position);
            }
            if token.is_in(&["log", "sign", "logged", "signed"]) && within(2, &|t| t.is("in")) {
                return Some(position);
            }
            if token.is_in(&["login", "signin"]) {
                return Some(position);
            }
            if token.is("me") && next.is_some_and(|t| t.is("again")) {
                return Some(position);
            }
            if token.is("am") && next.is_some_and(|t| t.is("back")) && n > 0 && tokens[n - 1].is("i") {
                return Some(position);
            }
            if token.is_in(&["remember", "recognize", "recognise", "know"])
                && next.is_some_and(|t| t.is("me"))
            {
                return Some(position);
            }
            if token.is("registered")
                && (n > 0 && tokens[n - 1].is_in(&["already", "am"]) || customer_after)
                && !negated
            {
                return Some(position);
            }
        }
        None
    }
}

/// Words for a customer: "returning customer", "existing member".
const CUSTOMER_NOUNS: &[&str] =
    &["customer", "client", "member", "user", "shopper", "buyer", "visitor", "subscriber", "patron"];
