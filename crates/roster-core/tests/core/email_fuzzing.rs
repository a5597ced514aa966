//! The email and address-list parser under arbitrary input (issue 12,
//! "Property-based fuzzing"): whatever a client pastes, parsing never
//! panics; every address it accepts is a valid normalized address that
//! parses back to itself; a refusal is an error value; a pasted list splits
//! exactly on its separators; and an invitation batch is accepted exactly
//! when every entry parses, naming each one that does not otherwise.
//!
//! Cases: `PROPTEST_CASES` (proptest reads it) per property; 1,024 without
//! it. The long form and its figures are in `docs/benchmarks.md`.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use roster_core::email::split_email_list;
use roster_core::invite::{invitations_of, EmailInput, InviteRequest, MAX_BATCH};
use roster_core::*;

use crate::common::{by, now, send, sid, staffed, ttl};

/// Without `PROPTEST_CASES`: enough to explore, quick in a debug build.
const DEFAULT_CASES: u32 = 1_024;

fn config() -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

// What a normalized address is, written from RFC 5321/1035 and the module's
// documented normalization, not from the parser's code.

const LOCAL_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

fn is_normalized_local_part(local: &str) -> bool {
    (1..=64).contains(&local.len())
        && local.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || LOCAL_SPECIALS.contains(c)
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn is_normalized_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// Every accepted address: valid, normalized, and a fixed point of parsing,
/// also when a client sends it back upper-cased, padded or with the
/// domain's trailing dot.
fn assert_valid_and_round_trips(email: &Email, input: &str) {
    let text = email.as_str();
    let (local, domain) = text
        .split_once('@')
        .unwrap_or_else(|| panic!("{input:?} → {text:?} has no @"));
    assert!(text.len() <= 254, "{input:?} → {text:?} is too long");
    assert!(
        is_normalized_local_part(local),
        "{input:?} → {text:?}: local part {local:?} is not normalized"
    );
    assert!(
        is_normalized_domain(domain),
        "{input:?} → {text:?}: domain {domain:?} is not a normalized host name"
    );
    assert_eq!(email.domain(), domain);
    assert_eq!(email.to_string(), text);
    // Only the case of the local part changes; its characters are kept.
    let (raw_local, _) = input.trim().split_once('@').unwrap_or_default();
    assert_eq!(local, raw_local.to_ascii_lowercase(), "from {input:?}");

    assert_eq!(Email::parse(text).as_ref(), Ok(email), "{text:?} re-parsed");
    let dressed = format!(" \t{}.\r\n", text.to_ascii_uppercase());
    assert_eq!(Email::parse(&dressed).as_ref(), Ok(email), "{dressed:?}");
    assert_eq!(
        Domain::parse(domain).map(|d| d.as_str().to_owned()),
        Ok(domain.to_owned()),
        "the domain of {text:?} alone"
    );
}

/// The separators of a pasted list, as API.md and the UI describe them.
fn is_separator(c: char) -> bool {
    c == ',' || c == ';' || c.is_whitespace()
}

/// The entries of a pasted list, found character by character.
fn reference_split(input: &str) -> Vec<String> {
    let mut entries = vec![String::new()];
    for c in input.chars() {
        match (is_separator(c), entries.last_mut()) {
            (true, Some(last)) if !last.is_empty() => entries.push(String::new()),
            (false, Some(last)) => last.push(c),
            _ => {}
        }
    }
    entries.retain(|e| !e.is_empty());
    entries
}

// Inputs

/// Characters that break parsers: separators, quotes, brackets, @, dots,
/// Unicode dots and spaces that IDNA maps, combining marks, joiners,
/// right-to-left letters, fullwidth forms, controls, and non-characters.
const TRICKY: &str = "@.,; \t\n\r\"\\()<>[]:-_*+\0\u{7f}\u{a0}\u{85}\u{2028}\u{3000}\u{3002}\
    \u{ff0e}\u{ff61}\u{ff20}\u{fe6b}üßςİıKÅ\u{301}\u{200c}\u{200d}\u{feff}\
    \u{5d0}\u{627}\u{661}ａＡ１ⓐ\u{2460}\u{fb01}\u{1f600}\u{e000}\u{fffd}\
    \u{fffe}\u{10ffff}xn0Az";

/// Strings made of fragments of addresses and the characters above: most
/// are nearly addresses, so the parser's deeper branches get reached.
fn address_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9]{1,12}",
        2 => Just("@".to_owned()),
        2 => Just(".".to_owned()),
        1 => Just("xn--".to_owned()),
        1 => "xn--[a-z0-9]{1,10}",
        1 => Just("-".to_owned()),
        1 => "[!#$%&'*+/=?^_`{|}~-]{1,3}",
        1 => "[a-z]{63,70}",
        1 => "[0-9]{1,3}",
        3 => prop::sample::select(TRICKY.chars().collect::<Vec<_>>()).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        1 => "\\PC{1,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Letters for internationalized labels: ones IDNA maps (case, fullwidth,
/// ligatures, circled), deviations, right-to-left scripts, joiners and
/// combining marks.
const IDN_LETTERS: &str = "üéßςİıKÅａＡ１ⓐ\u{fb01}\u{5d0}\u{5d1}\u{627}\u{661}\u{301}\u{200c}\
    \u{200d}\u{ad}яо中文ア\u{1f600}-xn0";

/// A label: plain ASCII, internationalized, or punycode-looking.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9]{1,8}(-[a-zA-Z0-9]{1,6})?",
        2 => prop::collection::vec(
            prop_oneof![
                2 => prop::sample::select(IDN_LETTERS.chars().collect::<Vec<_>>()),
                1 => prop::char::range('a', 'z'),
            ],
            1..8,
        )
        .prop_map(String::from_iter),
        1 => "(xn|XN)--[a-z0-9-]{0,12}",
        1 => "[a-z0-9-]{0,70}",
    ]
}

/// Nearly a domain: labels between ASCII or Unicode dots, perhaps a
/// trailing dot.
fn nearly_a_domain() -> impl Strategy<Value = String> {
    let dot = prop::sample::select(&[".", ".", ".", "\u{3002}", "\u{ff0e}", "\u{ff61}", ".."][..]);
    (prop::collection::vec((label(), dot), 1..5), label(), "\\.?").prop_map(
        |(labels, last, end)| {
            let mut domain: String = labels.into_iter().map(|(l, d)| l + d).collect();
            domain.push_str(&last);
            domain + &end
        },
    )
}

/// A few characters of `text` inserted or replaced by tricky ones.
fn edited(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::sample::select(TRICKY.chars().collect::<Vec<_>>()),
            any::<bool>(),
        ),
        0..3,
    );
    (text, edits).prop_map(|(text, edits)| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c, replace) in edits {
            let i = at.index(chars.len() + 1);
            if replace && i < chars.len() {
                chars[i] = c;
            } else {
                chars.insert(i, c);
            }
        }
        chars.into_iter().collect()
    })
}

/// Nearly an address: a plausible local part and domain, then edited.
fn nearly_an_address() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        4 => "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]{1,12}",
        1 => "[a-z]{60,70}",
    ];
    edited((local, nearly_a_domain()).prop_map(|(local, domain)| format!("{local}@{domain}")))
}

/// Nearly an allowlist entry: a domain, perhaps with `*.`, then edited.
fn nearly_a_pattern() -> impl Strategy<Value = String> {
    edited(("(\\*\\.)?", nearly_a_domain()).prop_map(|(star, domain)| star + &domain))
}

/// Any string: arbitrary Unicode, arbitrary bytes read as UTF-8 (lossily),
/// fragments of addresses, or nearly-addresses.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        1 => address_like(),
        3 => nearly_an_address(),
    ]
}

/// An address that must be accepted, in random letter case.
fn valid_address() -> impl Strategy<Value = String> {
    let atom = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}";
    let local = prop::collection::vec(atom, 1..4).prop_map(|atoms| atoms.join("."));
    // No `--` anywhere, so no label has hyphens in its 3rd and 4th places.
    let label = "[a-zA-Z0-9]{1,8}(-[a-zA-Z0-9]{1,6})?";
    let domain = (prop::collection::vec(label, 1..4), "[a-zA-Z]{2,6}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")));
    (local, domain).prop_map(|(local, domain)| format!("{local}@{domain}"))
}

/// What may come between two entries of a pasted list.
fn separator() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&[",", ";", " ", "\n", "\r\n", "\t", "\u{a0}", "\u{3000}"][..]),
        1..4,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsing_any_text_as_an_address_accepts_only_normalized_addresses_that_round_trip(
        input in any_text(),
    ) {
        // A refusal is an error value; an acceptance must be sound.
        if let Ok(email) = Email::parse(&input) {
            assert_valid_and_round_trips(&email, &input);
        }
    }

    #[test]
    fn parsing_any_bytes_never_panics_and_refuses_with_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..1200),
    ) {
        let text = String::from_utf8_lossy(&bytes);
        match Email::parse(&text) {
            Ok(email) => assert_valid_and_round_trips(&email, &text),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        let _ = Domain::parse(&text);
        let _ = DomainPattern::parse(&text);
    }

    #[test]
    fn every_valid_address_is_accepted_lower_cased(
        address in valid_address(),
        padding in "[ \t\r\n]{0,3}",
        trailing_dot in any::<bool>(),
    ) {
        let input = format!("{padding}{address}{}{padding}", if trailing_dot { "." } else { "" });
        let email = Email::parse(&input);
        prop_assert_eq!(
            email.as_ref().map(|e| e.as_str().to_owned()),
            Ok(address.to_ascii_lowercase()),
            "{:?}", input
        );
        if let Ok(email) = email {
            assert_valid_and_round_trips(&email, &input);
        }
    }

    #[test]
    fn domains_and_allowlist_patterns_accept_only_normalized_names_that_round_trip(
        input in prop_oneof![any_text(), nearly_a_pattern()],
    ) {
        if let Ok(domain) = Domain::parse(&input) {
            prop_assert!(is_normalized_domain(domain.as_str()), "{:?} → {}", input, domain);
            prop_assert_eq!(Domain::parse(domain.as_str()), Ok(domain.clone()));
        }
        if let Ok(pattern) = DomainPattern::parse(&input) {
            let shown = pattern.to_string();
            let base = shown.strip_prefix("*.").unwrap_or(&shown);
            prop_assert!(is_normalized_domain(base), "{:?} → {}", input, shown);
            prop_assert_eq!(DomainPattern::parse(&shown), Ok(pattern.clone()));
        }
    }

    #[test]
    fn a_pasted_list_splits_exactly_on_commas_semicolons_and_white_space(
        input in any_text(),
    ) {
        let entries = split_email_list(&input);
        prop_assert_eq!(&entries, &reference_split(&input));
        // Repeats count once, first one first.
        let pasted = EmailInput::Text(input.clone());
        let distinct = pasted.entries();
        let mut expected: Vec<&str> = Vec::new();
        for entry in &entries {
            if !expected.contains(entry) {
                expected.push(entry);
            }
        }
        prop_assert_eq!(distinct, expected);
    }

    #[test]
    fn a_list_of_valid_addresses_with_any_separators_parses_to_each_address_once(
        addresses in prop::collection::vec(valid_address(), 1..12),
        separators in prop::collection::vec(separator(), 13),
        lead in "[ ,;\n]{0,3}",
    ) {
        let mut pasted = lead;
        for (address, separator) in addresses.iter().zip(&separators) {
            pasted.push_str(address);
            pasted.push_str(separator);
        }
        let parsed: Vec<String> = EmailInput::Text(pasted.clone())
            .entries()
            .into_iter()
            .map(|entry| Email::parse(entry).map(|e| e.as_str().to_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{pasted:?}: {e}")))?;
        // Entries count once as typed; letter case is normalized after.
        let mut expected: Vec<&String> = Vec::new();
        for address in &addresses {
            if !expected.contains(&address) {
                expected.push(address);
            }
        }
        let expected: Vec<String> = expected.iter().map(|a| a.to_ascii_lowercase()).collect();
        prop_assert_eq!(parsed, expected, "{:?}", pasted);
    }

    #[test]
    fn an_invitation_batch_is_accepted_exactly_when_every_entry_parses(
        emails in prop_oneof![
            any_text().prop_map(EmailInput::Text),
            prop::collection::vec(any_text(), 0..6).prop_map(EmailInput::List),
            prop::collection::vec(
                prop_oneof![3 => valid_address(), 1 => any_text()],
                1..6,
            )
            .prop_map(EmailInput::List),
        ],
    ) {
        let entries: Vec<String> = emails.entries().into_iter().map(str::to_owned).collect();
        let request = InviteRequest {
            emails,
            role: Role::Space(SpaceRole::Participant),
            space_ids: vec![sid("s1")],
            duration: None,
            message: None,
        };
        let unparsable: Vec<&String> =
            entries.iter().filter(|e| Email::parse(e).is_err()).collect();
        let acceptable = (1..=MAX_BATCH).contains(&entries.len()) && unparsable.is_empty();
        match send(&staffed(), &by("owner"), &request, now(), ttl()) {
            Ok(change) => {
                prop_assert!(acceptable, "accepted {:?}", entries);
                let mut expected: Vec<Email> = Vec::new();
                for entry in &entries {
                    let email = Email::parse(entry)
                        .map_err(|e| TestCaseError::fail(format!("{entry:?}: {e}")))?;
                    if !expected.contains(&email) {
                        expected.push(email);
                    }
                }
                let invited: Vec<Email> =
                    invitations_of(&change).iter().map(|i| i.email.clone()).collect();
                for email in &invited {
                    assert_valid_and_round_trips(email, email.as_str());
                }
                prop_assert_eq!(invited, expected);
            }
            Err(error) => {
                prop_assert!(!acceptable, "refused {:?}: {:?}", entries, error);
                prop_assert_eq!(error.code(), "validation_failed", "{:?}", error);
                if !entries.is_empty() {
                    // Every entry that does not parse is named, as typed.
                    let named: Vec<&str> =
                        error.rejected().iter().map(|r| r.email.as_str()).collect();
                    let expected: Vec<&str> = unparsable.iter().map(|e| e.as_str()).collect();
                    prop_assert_eq!(named, expected, "{:?}", entries);
                }
            }
        }
    }
}

#[test]
fn the_reference_split_agrees_with_the_documented_examples() {
    assert_eq!(
        reference_split("a@x.com,, ;\n b@y.com ;"),
        ["a@x.com", "b@y.com"]
    );
    assert!(reference_split(" ,;\n ").is_empty());
}

#[test]
fn the_reference_validity_checks_refuse_what_they_must() {
    assert!(is_normalized_local_part("john.doe+tag"));
    for bad in ["", ".a", "a.", "a..b", "A", "a b", "ü"] {
        assert!(!is_normalized_local_part(bad), "{bad:?}");
    }
    assert!(is_normalized_domain("xn--bcher-kva.de"));
    for bad in [
        "com", "a..com", "-a.com", "a-.com", "A.com", "1.2.3.4", "a_b.com",
    ] {
        assert!(!is_normalized_domain(bad), "{bad:?}");
    }
}
