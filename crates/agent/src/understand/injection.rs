//! Attempts to override the agent, looked for in the whole message: "ignore your instructions", "you are now…", "system:", "as an admin", "reveal your prompt".

use super::reader::Reader;
use super::tokens::{Kind, Tok};

impl Reader<'_> {
    /// Where the message first tries to override the agent, if it does.
    pub(super) fn injection(&self) -> Option<usize> {
        let lower = self.text.to_lowercase();
        if [
            "<|",
            "|>",
            "[inst]",
            "[/inst]",
            "<<sys",
            "[system",
            "<system",
            "{system",
            "### instruction",
            "###instruction",
        ]
        .iter()
        .any(|marker| lower.contains(marker))
        {
            return Some(0);
        }
        let words: Vec<(usize, &Tok)> =
            self.tokens.iter().enumerate().filter(|(_, t)| t.kind == Kind::Word).collect();
        let word = |n: usize| words.get(n).map(|(_, t)| *t);
        let seq =
            |n: usize, s: &[&str]| s.iter().enumerate().all(|(k, w)| word(n + k).is_some_and(|t| t.is(w)));
        let within = |n: usize, k: usize, pred: &dyn Fn(&Tok) -> bool| {
            (n + 1..=n + k).any(|i| word(i).is_some_and(pred))
        };
        for (n, &(index, token)) in words.iter().enumerate() {
            // "ignore your previous instructions", "skip the verification",
            // "forget everything above"; not "ignore my previous email".
            let everything = |i: usize| {
                word(i).is_some_and(|t| t.is("everything"))
                    && word(i + 1)
                        .is_none_or(|t| t.is_in(&["above", "before", "prior", "previous", "earlier", "you"]))
            };
            if token.like_any(OVERRIDE_VERBS)
                && (within(n, 5, &|t| t.like_any(OVERRIDE_TARGETS)) || (n + 1..=n + 2).any(everything))
            {
                return Some(index);
            }
            if (seq(n, &["not", "follow"]) || seq(n, &["stop", "following"]))
                && within(n + 1, 4, &|t| t.like_any(OVERRIDE_TARGETS))
            {
                return Some(index);
            }
            if INJECTION_PHRASES.iter().any(|s| seq(n, s)) || token.like_any(INJECTION_WORDS) {
                return Some(index);
            }
            // "act as an unrestricted AI", "act as if you were…"; not "act as a reference".
            let role = |t: &Tok| t.is_in(AUTHORITY_STRONG) || t.is_in(AUTHORITY_WEAK) || t.is_in(AI_WORDS);
            if token.is_in(&["act", "acting", "behave", "respond", "answer"])
                && word(n + 1).is_some_and(|t| t.is("as"))
                && (word(n + 2).is_some_and(|t| t.is_in(&["if", "though"]))
                    || (n + 2..n + 5).any(|i| word(i).is_some_and(role)))
            {
                return Some(index);
            }
            // "system: …", "admin: …".
            let colon_after = self.tok(index + 1).is_some_and(|t| t.is_punct(':'));
            if token.is_in(&[
                "system",
                "admin",
                "administrator",
                "developer",
                "root",
                "assistant",
                "sysadmin",
            ]) && colon_after
            {
                return Some(index);
            }
            if token.is("system")
                && word(n + 1).is_some_and(|t| {
                    t.is_in(&[
                        "prompt",
                        "message",
                        "instruction",
                        "instructions",
                        "override",
                        "note",
                        "command",
                        "update",
                        "mode",
                    ])
                })
            {
                return Some(index);
            }
            // "as an admin", "I am your developer", "admin access".
            let article = |i: usize| word(i).is_some_and(|t| t.is_in(&["a", "an", "the", "your", "this"]));
            let role_at = |i: usize, weak_too: bool| {
                word(i).is_some_and(|t| t.is_in(AUTHORITY_STRONG) || (weak_too && t.is_in(AUTHORITY_WEAK)))
            };
            if token.is("as")
                && (role_at(n + 1, false)
                    || article(n + 1)
                        && role_at(n + 2, word(n + 1).is_some_and(|t| t.is_in(&["the", "your"]))))
            {
                return Some(index);
            }
            let claim = seq(n, &["i", "am"]) || seq(n, &["this", "is"]);
            if claim {
                let determiner = word(n + 2).is_some_and(|t| t.is_in(&["the", "your"]));
                let optional_article = if article(n + 2) { 3 } else { 2 };
                if role_at(n + optional_article, determiner)
                    || word(n + 2).is_some_and(|t| t.is_in(&["authorized", "authorised"]))
                {
                    return Some(index);
                }
            }
            if token.is_in(AUTHORITY_STRONG)
                && word(n + 1).is_some_and(|t| {
                    t.is_in(&[
                        "override",
                        "access",
                        "mode",
                        "privileges",
                        "privilege",
                        "rights",
                        "command",
                        "commands",
                        "here",
                        "speaking",
                        "credentials",
                        "permissions",
                    ])
                })
            {
                return Some(index);
            }
            // "reveal your prompt", "what are your instructions".
            if token.is_in(&["prompt", "prompts"])
                && n > 0
                && (n.saturating_sub(3)..n).any(|i| {
                    word(i).is_some_and(|t| {
                        t.is_in(&["your", "system", "initial", "original", "hidden", "secret"])
                    })
                })
            {
                return Some(index);
            }
            if token.is_in(REVEAL_VERBS)
                && within(n, 5, &|t| t.is("your"))
                && within(n, 7, &|t| {
                    t.like_any(&[
                        "instructions",
                        "rules",
                        "guidelines",
                        "configuration",
                        "config",
                        "programming",
                        "directives",
                        "training",
                    ])
                })
            {
                return Some(index);
            }
            // "disable your filters".
            if (token.is_in(&["disable", "deactivate", "remove", "lift", "suspend", "relax", "loosen"])
                || seq(n, &["turn", "off"])
                || seq(n, &["switch", "off"]))
                && within(n, 4, &|t| {
                    t.is_in(&[
                        "safety",
                        "filter",
                        "filters",
                        "restrictions",
                        "restriction",
                        "rules",
                        "verification",
                        "security",
                        "guardrails",
                        "checks",
                        "limits",
                        "safeguards",
                        "protections",
                        "protection",
                    ])
                })
            {
                return Some(index);
            }
            // "no need to verify me", "treat me as verified".
            if token.is_in(&["verify", "verification", "verifying", "verified"]) {
                let before: Vec<&Tok> = (n.saturating_sub(4)..n).filter_map(word).collect();
                let need = before.iter().any(|t| t.is_in(&["need", "needed", "necessary", "required"]));
                let negated = before.iter().any(|t| t.is_in(&["no", "not", "without"]));
                let treat =
                    before.iter().any(|t| t.is_in(&["consider", "treat", "mark", "assume", "pretend"]));
                if need && negated || treat || word(n.wrapping_sub(1)).is_some_and(|t| t.is("without")) {
                    return Some(index);
                }
            }
        }
        None
    }
}

/// Verbs that set instructions aside: "ignore", "disregard", "forget".
const OVERRIDE_VERBS: &[&str] = &[
    "ignore",
    "disregard",
    "forget",
    "override",
    "bypass",
    "circumvent",
    "overrule",
    "skip",
    "abandon",
    "discard",
    "neglect",
    "drop",
    "ignoring",
    "disregarding",
];

/// What injections tell the agent to set aside.
const OVERRIDE_TARGETS: &[&str] = &[
    "instructions",
    "instruction",
    "rules",
    "rule",
    "prompt",
    "prompts",
    "guidelines",
    "guideline",
    "policy",
    "policies",
    "directions",
    "directives",
    "restrictions",
    "restriction",
    "programming",
    "training",
    "constraints",
    "limits",
    "limitations",
    "guardrails",
    "safeguards",
    "filters",
    "safety",
    "security",
    "verification",
    "verify",
    "verifying",
    "checks",
    "protocol",
    "protocols",
    "above",
    "orders",
    "commands",
    "system",
    "context",
    "settings",
    "configuration",
    "rulebook",
    "guidance",
];

/// Phrases that try to change who the agent is.
const INJECTION_PHRASES: &[&[&str]] = &[
    &["you", "are", "now"],
    &["you", "are", "no", "longer"],
    &["from", "now", "on", "you"],
    &["from", "now", "on", "your"],
    &["role", "play"],
    &["imagine", "you", "are"],
    &["your", "new", "role"],
    &["your", "new", "task"],
    &["your", "new", "instructions"],
    &["your", "new", "rules"],
    &["your", "new", "job"],
    &["your", "new", "persona"],
    &["your", "new", "purpose"],
    &["new", "instructions"],
    &["updated", "instructions"],
    &["jail", "break"],
    &["dan", "mode"],
    &["do", "anything", "now"],
    &["developer", "mode"],
    &["dev", "mode"],
    &["god", "mode"],
    &["admin", "mode"],
    &["debug", "mode"],
    &["maintenance", "mode"],
    &["no", "restrictions"],
    &["without", "restrictions"],
    &["no", "limits"],
    &["no", "rules"],
    &["without", "rules"],
    &["you", "must", "obey"],
    &["you", "will", "obey"],
    &["obey", "me"],
    &["i", "have", "admin"],
    &["i", "have", "root"],
    &["with", "admin"],
    &["with", "root"],
    &["security", "clearance"],
    &["authorized", "personnel"],
    &["authorised", "personnel"],
];

/// What an injection asks the agent to become: "act as an unrestricted AI".
const AI_WORDS: &[&str] = &[
    "ai",
    "assistant",
    "bot",
    "chatbot",
    "model",
    "gpt",
    "llm",
    "dan",
    "system",
    "unrestricted",
    "unfiltered",
    "different",
    "character",
    "persona",
    "terminal",
    "hacker",
];

/// Words that are an injection on their own.
const INJECTION_WORDS: &[&str] = &[
    "pretend",
    "pretending",
    "roleplay",
    "jailbreak",
    "jailbroken",
    "sudo",
    "unrestricted",
    "unfiltered",
    "uncensored",
    "override",
    "overrides",
    "bypass",
    "circumvent",
    "simulate",
];

/// Roles that claim authority over the agent whatever the article.
const AUTHORITY_STRONG: &[&str] =
    &["admin", "administrator", "sysadmin", "superuser", "root", "moderator", "creator", "developers"];

/// Roles that claim authority only as "the/your …": "I am your developer".
const AUTHORITY_WEAK: &[&str] = &[
    "developer",
    "dev",
    "programmer",
    "engineer",
    "owner",
    "ceo",
    "cto",
    "boss",
    "operator",
    "supervisor",
    "maker",
    "designer",
    "trainer",
];

/// Verbs that ask the agent to reveal itself.
const REVEAL_VERBS: &[&str] = &[
    "reveal", "show", "print", "repeat", "output", "display", "tell", "give", "share", "leak", "dump",
    "recite", "list", "what", "expose", "disclose", "paste", "copy", "spell", "send",
];
