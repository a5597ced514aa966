//! Email addresses, domains and the Implementation Admin domain allowlist.
//!
//! Roster keys users by their normalized email address, and the domain
//! allowlist guards who may be made an Implementation Admin, so parsing here
//! is deliberately strict: anything unusual is refused rather than guessed at.
//!
//! Normalization of an address:
//! * surrounding whitespace is trimmed (internal whitespace is an error);
//! * the whole address is lower-cased (local parts are treated
//!   case-insensitively);
//! * the domain is converted to ASCII with IDNA / UTS-46 (punycode), using the
//!   strict STD3 rules;
//! * one trailing dot on the domain is removed.

use std::fmt;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_LEN: usize = 64;
/// Longest accepted domain, without the trailing dot (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;
/// Longest accepted DNS label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;
/// Longest accepted address after normalization (RFC 5321 path limit minus
/// the angle brackets).
const MAX_ADDRESS_LEN: usize = 254;
/// Inputs longer than this (in bytes, after trimming) are refused before any
/// IDNA work is done. Generous enough that no address which would fit in
/// [`MAX_ADDRESS_LEN`] after normalization is plausibly refused by it.
const MAX_RAW_INPUT_LEN: usize = 4 * MAX_ADDRESS_LEN;

/// Special characters allowed in an (unquoted) local part besides ASCII
/// letters, digits and the dot.
const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

/// Why an address (or domain, or allowlist entry) was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace was given.
    #[error("the address is empty")]
    Empty,
    /// No `@` in the address.
    #[error("the address has no @")]
    MissingAt,
    /// More than one `@` in the address.
    #[error("the address has more than one @")]
    MultipleAt,
    /// Nothing before the `@`.
    #[error("the address has nothing before the @")]
    EmptyLocalPart,
    /// The address contains a double quote (quoted local parts are not supported).
    #[error("quoted addresses are not accepted")]
    QuotedLocalPart,
    /// The part before the `@` contains characters or dots that are not allowed.
    #[error("the part before the @ is not valid")]
    InvalidLocalPart,
    /// Nothing after the `@` (or an empty domain).
    #[error("the domain is missing")]
    EmptyDomain,
    /// The domain is not a valid DNS host name.
    #[error("the domain is not a valid domain name")]
    InvalidDomain,
    /// The address, its local part or its domain is longer than allowed.
    #[error("the address is too long")]
    TooLong,
}

/// A validated, normalized email address.
///
/// Normalization: surrounding whitespace trimmed; the whole address
/// lower-cased; domain converted to ASCII with IDNA/UTS-46 (punycode, e.g.
/// `bücher.de` -> `xn--bcher-kva.de`); one trailing dot on the domain removed
/// (`user@upcoach.com.` -> `user@upcoach.com`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates and normalizes one address.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_RAW_INPUT_LEN {
            return Err(EmailError::TooLong);
        }
        // Checked before counting `@`s so that `"a@b"@x.com` gets the more
        // helpful message.
        if trimmed.contains('"') {
            return Err(EmailError::QuotedLocalPart);
        }
        let (local, domain) = match trimmed.split_once('@') {
            None => return Err(EmailError::MissingAt),
            Some((_, rest)) if rest.contains('@') => return Err(EmailError::MultipleAt),
            Some(parts) => parts,
        };

        let local = normalize_local_part(local)?;
        let domain = normalize_domain(domain)?;

        let mut address = String::with_capacity(local.len() + 1 + domain.len());
        address.push_str(&local);
        address.push('@');
        address.push_str(&domain);
        if address.len() > MAX_ADDRESS_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Email(address))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalized (ASCII, lower-case, no trailing dot) domain part.
    pub fn domain(&self) -> &str {
        // Always present by construction; an empty domain would match nothing.
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Split a pasted list of addresses.
///
/// Separators are commas, semicolons and any whitespace (including new
/// lines); empty entries are dropped. Returns the raw entries in order; they
/// still need [`Email::parse`].
pub fn split_email_list(input: &str) -> Vec<&str> {
    input
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// A domain name, normalized the same way as an email's domain: lower-case,
/// IDNA to ASCII, trailing dot removed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    /// Validates and normalizes a bare domain name (no `@`, no wildcard).
    pub fn parse(input: &str) -> Result<Domain, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        if trimmed.len() > MAX_RAW_INPUT_LEN {
            return Err(EmailError::TooLong);
        }
        normalize_domain(trimmed).map(Domain)
    }

    /// The normalized ASCII domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One allowlist entry.
///
/// * `Exact("upcoach.com")` allows exactly `upcoach.com`.
/// * `Subdomains("partner.io")`, written `*.partner.io`, allows any subdomain
///   of `partner.io` at any depth, but NOT `partner.io` itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DomainPattern {
    /// Exactly this domain.
    Exact(Domain),
    /// Any strict subdomain of this domain.
    Subdomains(Domain),
}

impl DomainPattern {
    /// Parses `upcoach.com` or `*.partner.io`. The base domain must itself be
    /// a valid domain of at least two labels, so `*`, `*.` and `*.com` are
    /// refused; a `*` anywhere else is refused too.
    pub fn parse(input: &str) -> Result<DomainPattern, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::EmptyDomain);
        }
        match trimmed.strip_prefix("*.") {
            Some(base) => {
                if base.contains('*') {
                    return Err(EmailError::InvalidDomain);
                }
                // Whitespace right after `*.` is internal whitespace, not
                // surrounding whitespace.
                if base.starts_with(char::is_whitespace) {
                    return Err(EmailError::InvalidDomain);
                }
                Domain::parse(base).map(DomainPattern::Subdomains)
            }
            None => {
                if trimmed.contains('*') {
                    return Err(EmailError::InvalidDomain);
                }
                Domain::parse(trimmed).map(DomainPattern::Exact)
            }
        }
    }

    /// Whether `domain` (the normalized ASCII form, as given by
    /// [`Email::domain`]) is allowed by this pattern. The comparison is on
    /// whole labels: `upcoach.com.evil.com` and `evilupcoach.com` match
    /// neither `upcoach.com` nor `*.upcoach.com`.
    pub fn matches(&self, domain: &str) -> bool {
        match self {
            DomainPattern::Exact(base) => domain.eq_ignore_ascii_case(base.as_str()),
            DomainPattern::Subdomains(base) => is_strict_subdomain(domain, base.as_str()),
        }
    }
}

/// `domain` is `<one or more non-empty labels>.<base>`.
fn is_strict_subdomain(domain: &str, base: &str) -> bool {
    let domain = domain.as_bytes();
    let base = base.as_bytes();
    // Need at least one character of prefix plus the separating dot.
    if domain.len() < base.len() + 2 {
        return false;
    }
    let split = domain.len() - base.len();
    let (prefix_with_dot, suffix) = domain.split_at(split);
    if !suffix.eq_ignore_ascii_case(base) {
        return false;
    }
    match prefix_with_dot.split_last() {
        Some((b'.', prefix)) => prefix.split(|&b| b == b'.').all(|label| !label.is_empty()),
        _ => false,
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Exact(d) => f.write_str(d.as_str()),
            DomainPattern::Subdomains(d) => write!(f, "*.{}", d.as_str()),
        }
    }
}

impl Serialize for DomainPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DomainPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DomainPattern::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The organization's Implementation Admin domain allowlist.
///
/// Patterns are kept sorted and deduplicated. An empty allowlist allows
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainAllowlist {
    patterns: Vec<DomainPattern>,
}

impl DomainAllowlist {
    /// Builds an allowlist from already-parsed patterns.
    pub fn new(mut patterns: Vec<DomainPattern>) -> Self {
        patterns.sort();
        patterns.dedup();
        DomainAllowlist { patterns }
    }

    /// Parses every entry; on failure returns the first bad entry (trimmed)
    /// with its error. Empty entries are errors, not skipped — split pasted
    /// text first.
    pub fn parse_all<'a>(
        inputs: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, (String, EmailError)> {
        let mut patterns = Vec::new();
        for input in inputs {
            match DomainPattern::parse(input) {
                Ok(pattern) => patterns.push(pattern),
                Err(err) => return Err((input.trim().to_owned(), err)),
            }
        }
        Ok(DomainAllowlist::new(patterns))
    }

    /// Whether the address's domain is allowed by some pattern.
    pub fn allows(&self, email: &Email) -> bool {
        let domain = email.domain();
        self.patterns.iter().any(|p| p.matches(domain))
    }

    /// The patterns, sorted and deduplicated.
    pub fn patterns(&self) -> &[DomainPattern] {
        &self.patterns
    }

    /// Whether there are no patterns (and so nothing is allowed).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Validates an unquoted local part and lower-cases it.
fn normalize_local_part(local: &str) -> Result<String, EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(EmailError::TooLong);
    }
    let bytes = local.as_bytes();
    let chars_ok = bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || LOCAL_SPECIALS.contains(&b));
    if !chars_ok
        || bytes.first() == Some(&b'.')
        || bytes.last() == Some(&b'.')
        || local.contains("..")
    {
        return Err(EmailError::InvalidLocalPart);
    }
    Ok(local.to_ascii_lowercase())
}

/// Normalizes a domain (the part after the `@`, or a bare domain) to its
/// lower-case ASCII form and validates it as a DNS host name.
fn normalize_domain(raw: &str) -> Result<String, EmailError> {
    if raw.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(EmailError::InvalidDomain);
    }
    // IP literals such as `[192.0.2.1]` or `[IPv6:...]`.
    if raw.contains(['[', ']']) {
        return Err(EmailError::InvalidDomain);
    }
    let without_dot = raw.strip_suffix('.').unwrap_or(raw);
    if without_dot.is_empty() {
        return Err(EmailError::EmptyDomain);
    }

    // Strict UTS-46: STD3 ASCII rules, hyphen position checks. DNS lengths
    // are verified below so that an overlong name reports `TooLong`.
    let ascii = Uts46::new()
        .to_ascii(
            without_dot.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .map_err(|_| EmailError::InvalidDomain)?;
    // UTS-46 already lower-cases; this is belt and braces.
    let ascii = ascii.to_ascii_lowercase();

    if ascii.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(EmailError::TooLong);
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|label| is_valid_label(label)) {
        return Err(EmailError::InvalidDomain);
    }
    // Refuse IP-like names such as `1.2.3.4`: no real top-level domain is
    // all digits.
    match labels.last() {
        Some(tld) if !tld.bytes().all(|b| b.is_ascii_digit()) => Ok(ascii),
        _ => Err(EmailError::InvalidDomain),
    }
}

/// A DNS host-name label: 1..=63 of `[a-z0-9-]`, not starting or ending with `-`.
fn is_valid_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL_LEN
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    fn allowlist(entries: &[&str]) -> DomainAllowlist {
        DomainAllowlist::parse_all(entries.iter().copied()).unwrap()
    }

    fn pattern(s: &str) -> DomainPattern {
        DomainPattern::parse(s).unwrap()
    }

    #[test]
    fn whole_address_is_lower_cased() {
        assert_eq!(email("A@UpCoach.COM").as_str(), "a@upcoach.com");
        assert_eq!(email("A@UpCoach.COM").domain(), "upcoach.com");
        assert_eq!(email("John.Doe@X.com").to_string(), "john.doe@x.com");
    }

    #[test]
    fn trailing_dot_on_domain_is_removed() {
        assert_eq!(email("user@upcoach.com.").as_str(), "user@upcoach.com");
        assert_eq!(email("user@upcoach.com."), email("user@upcoach.com"));
    }

    #[test]
    fn only_one_trailing_dot_is_removed() {
        assert_eq!(
            Email::parse("user@upcoach.com.."),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(Email::parse("user@."), Err(EmailError::EmptyDomain));
    }

    #[test]
    fn domain_with_allowed_domain_as_prefix_is_not_allowed() {
        let list = allowlist(&["upcoach.com"]);
        assert!(!list.allows(&email("user@upcoach.com.evil.com")));
        assert!(list.allows(&email("user@upcoach.com")));
    }

    #[test]
    fn domain_ending_with_allowed_domain_without_a_dot_is_not_allowed() {
        let list = allowlist(&["upcoach.com", "*.upcoach.com"]);
        assert!(!list.allows(&email("user@evilupcoach.com")));
        assert!(!pattern("*.upcoach.com").matches("evilupcoach.com"));
    }

    #[test]
    fn two_at_signs_are_multiple_at() {
        assert_eq!(Email::parse("a@b@c"), Err(EmailError::MultipleAt));
        assert_eq!(Email::parse("a@b.com@c.com"), Err(EmailError::MultipleAt));
    }

    #[test]
    fn missing_at_and_empty_parts_are_refused() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        assert_eq!(Email::parse("upcoach.com"), Err(EmailError::MissingAt));
        assert_eq!(
            Email::parse("@upcoach.com"),
            Err(EmailError::EmptyLocalPart)
        );
        assert_eq!(Email::parse("user@"), Err(EmailError::EmptyDomain));
    }

    #[test]
    fn quoted_local_parts_are_refused() {
        assert_eq!(
            Email::parse("\"a b\"@x.com"),
            Err(EmailError::QuotedLocalPart)
        );
        assert_eq!(
            Email::parse("\"a\"@x.com"),
            Err(EmailError::QuotedLocalPart)
        );
        assert_eq!(
            Email::parse("\"a@b\"@x.com"),
            Err(EmailError::QuotedLocalPart)
        );
        assert_eq!(Email::parse("a\"b@x.com"), Err(EmailError::QuotedLocalPart));
    }

    #[test]
    fn idn_homograph_normalizes_to_punycode_and_is_not_allowed() {
        // Cyrillic small letter o (U+043E) in place of the Latin o.
        let homograph = email("user@upc\u{043e}ach.com");
        assert!(homograph.domain().starts_with("xn--"));
        assert_ne!(homograph.domain(), "upcoach.com");
        assert!(!allowlist(&["upcoach.com"]).allows(&homograph));
        assert!(!allowlist(&["*.upcoach.com"]).allows(&homograph));
    }

    #[test]
    fn real_idn_domain_is_accepted_as_punycode() {
        let e = email("Info@Bücher.de");
        assert_eq!(e.as_str(), "info@xn--bcher-kva.de");
        assert_eq!(e.domain(), "xn--bcher-kva.de");
        assert_eq!(
            Domain::parse("bücher.de").unwrap().as_str(),
            "xn--bcher-kva.de"
        );
        assert!(allowlist(&["bücher.de"]).allows(&e));
        assert!(allowlist(&["xn--bcher-kva.de"]).allows(&e));
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(email("  a@x.com \n").as_str(), "a@x.com");
        assert_eq!(email("\ta@x.com.\r\n").as_str(), "a@x.com");
        assert_eq!(Domain::parse(" X.com ").unwrap().as_str(), "x.com");
        assert_eq!(pattern("  *.x.com ").to_string(), "*.x.com");
    }

    #[test]
    fn internal_whitespace_is_refused() {
        assert_eq!(Email::parse("a b@x.com"), Err(EmailError::InvalidLocalPart));
        assert_eq!(Email::parse("a @x.com"), Err(EmailError::InvalidLocalPart));
        assert_eq!(Email::parse("a@ x.com"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::parse("a@x .com"), Err(EmailError::InvalidDomain));
        assert_eq!(
            Email::parse("a@x.\u{3000}com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(Domain::parse("x. com"), Err(EmailError::InvalidDomain));
        assert_eq!(
            DomainPattern::parse("*. x.com"),
            Err(EmailError::InvalidDomain)
        );
    }

    #[test]
    fn empty_entries_in_lists_are_dropped() {
        assert_eq!(
            split_email_list("a@x.com,, ;\n b@y.com ;"),
            vec!["a@x.com", "b@y.com"]
        );
        assert_eq!(
            split_email_list("a@x.com\r\nb@y.com\tc@z.com;d@w.com"),
            vec!["a@x.com", "b@y.com", "c@z.com", "d@w.com"]
        );
        assert!(split_email_list(" ,;\n ").is_empty());
    }

    #[test]
    fn wildcard_allows_subdomains_at_any_depth_but_not_the_base() {
        let wildcard = allowlist(&["*.upcoach.com"]);
        assert!(wildcard.allows(&email("a@x.upcoach.com")));
        assert!(wildcard.allows(&email("a@deep.x.upcoach.com")));
        assert!(!wildcard.allows(&email("a@upcoach.com")));
        assert!(!wildcard.allows(&email("a@x.upcoach.com.evil.com")));
    }

    #[test]
    fn exact_allows_only_the_domain_itself() {
        let exact = allowlist(&["upcoach.com"]);
        assert!(exact.allows(&email("a@upcoach.com")));
        assert!(!exact.allows(&email("a@x.upcoach.com")));
    }

    #[test]
    fn wildcard_matching_refuses_malformed_prefixes() {
        let p = pattern("*.upcoach.com");
        assert!(!p.matches(".upcoach.com"));
        assert!(!p.matches("..upcoach.com"));
        assert!(!p.matches("a..upcoach.com"));
        assert!(!p.matches("upcoach.com"));
        assert!(p.matches("a.upcoach.com"));
    }

    #[test]
    fn empty_allowlist_allows_nothing() {
        let list = DomainAllowlist::default();
        assert!(list.is_empty());
        assert!(!list.allows(&email("a@upcoach.com")));
    }

    #[test]
    fn allowlist_is_sorted_and_deduplicated() {
        let list = allowlist(&["b.com", "*.a.com", "A.com", "b.com.", "a.com"]);
        let shown: Vec<String> = list.patterns().iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec!["a.com", "b.com", "*.a.com"]);
    }

    #[test]
    fn parse_all_reports_the_first_bad_entry() {
        let err = DomainAllowlist::parse_all(["a.com", " *.com ", "*"]).unwrap_err();
        assert_eq!(err, ("*.com".to_owned(), EmailError::InvalidDomain));
    }

    #[test]
    fn double_dot_and_leading_or_trailing_dot_in_local_part_are_refused() {
        assert_eq!(
            Email::parse("a..b@x.com"),
            Err(EmailError::InvalidLocalPart)
        );
        assert_eq!(Email::parse(".a@x.com"), Err(EmailError::InvalidLocalPart));
        assert_eq!(Email::parse("a.@x.com"), Err(EmailError::InvalidLocalPart));
        assert_eq!(email("a.b@x.com").as_str(), "a.b@x.com");
    }

    #[test]
    fn double_dot_and_leading_dot_in_domain_are_refused() {
        assert_eq!(Email::parse("a@x..com"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::parse("a@.x.com"), Err(EmailError::InvalidDomain));
        assert_eq!(Domain::parse(".x.com"), Err(EmailError::InvalidDomain));
    }

    #[test]
    fn overlong_local_part_is_refused() {
        let ok = format!("{}@x.com", "a".repeat(64));
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{}@x.com", "a".repeat(65));
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
    }

    #[test]
    fn overlong_address_and_domain_are_refused() {
        let label = "a".repeat(63);
        // 4 * 63 + 3 dots + ".com" = 259 > 253
        let long_domain = format!("{label}.{label}.{label}.{label}.com");
        assert_eq!(Domain::parse(&long_domain), Err(EmailError::TooLong));
        // domain of 63*3 + 2 + 4 = 195 chars, local 64: total 260 > 254
        let domain = format!("{label}.{label}.{label}.com");
        assert!(Domain::parse(&domain).is_ok());
        let address = format!("{}@{domain}", "b".repeat(64));
        assert_eq!(Email::parse(&address), Err(EmailError::TooLong));
        let overlong_label = format!("{}.com", "a".repeat(64));
        assert_eq!(
            Domain::parse(&overlong_label),
            Err(EmailError::InvalidDomain)
        );
    }

    #[test]
    fn local_part_special_characters_are_allowed_and_others_refused() {
        assert_eq!(
            email("a!#$%&'*+-/=?^_`{|}~z@x.com").as_str(),
            "a!#$%&'*+-/=?^_`{|}~z@x.com"
        );
        for bad in [
            "a(b@x.com",
            "a,b@x.com",
            "a\\b@x.com",
            "a<b@x.com",
            "a:b@x.com",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(EmailError::InvalidLocalPart),
                "{bad}"
            );
        }
    }

    #[test]
    fn non_ascii_local_part_is_refused() {
        assert_eq!(
            Email::parse("jürgen@x.com"),
            Err(EmailError::InvalidLocalPart)
        );
        assert_eq!(
            Email::parse("\u{0430}dmin@x.com"),
            Err(EmailError::InvalidLocalPart)
        );
    }

    #[test]
    fn ip_like_and_single_label_domains_are_refused() {
        assert_eq!(Email::parse("a@1.2.3.4"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::parse("a@[1.2.3.4]"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::parse("a@[IPv6:::1]"), Err(EmailError::InvalidDomain));
        assert_eq!(Email::parse("a@localhost"), Err(EmailError::InvalidDomain));
        assert!(Email::parse("a@1.2.3.com").is_ok());
    }

    #[test]
    fn bad_domain_characters_and_hyphens_are_refused() {
        for bad in [
            "a@x_y.com",
            "a@-x.com",
            "a@x-.com",
            "a@x.com-",
            "a@x!.com",
            "a@x/y.com",
            "a@*.x.com",
            "a@xn--.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::InvalidDomain), "{bad}");
        }
        assert_eq!(email("a@my-host.co.uk").domain(), "my-host.co.uk");
    }

    #[test]
    fn domain_pattern_display_and_parse_round_trip() {
        for text in ["upcoach.com", "*.partner.io", "*.xn--bcher-kva.de"] {
            let p = pattern(text);
            assert_eq!(p.to_string(), text);
            assert_eq!(pattern(&p.to_string()), p);
        }
        assert_eq!(pattern("*.Bücher.de.").to_string(), "*.xn--bcher-kva.de");
        assert_eq!(
            pattern("*.partner.io"),
            DomainPattern::Subdomains(Domain::parse("partner.io").unwrap())
        );
        assert_eq!(
            pattern("UpCoach.com"),
            DomainPattern::Exact(Domain::parse("upcoach.com").unwrap())
        );
    }

    #[test]
    fn domain_pattern_deserializes_from_its_display_string() {
        use serde::de::value::{Error as ValueError, StrDeserializer};
        use serde::de::IntoDeserializer;
        let de: StrDeserializer<'_, ValueError> = "*.Partner.io".into_deserializer();
        assert_eq!(
            DomainPattern::deserialize(de).unwrap(),
            pattern("*.partner.io")
        );
        let bad: StrDeserializer<'_, ValueError> = "*".into_deserializer();
        assert!(DomainPattern::deserialize(bad).is_err());
    }

    #[test]
    fn bare_and_misplaced_wildcards_are_refused() {
        assert_eq!(DomainPattern::parse("*."), Err(EmailError::EmptyDomain));
        assert_eq!(DomainPattern::parse("*"), Err(EmailError::InvalidDomain));
        assert_eq!(
            DomainPattern::parse("*.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            DomainPattern::parse("*.*.x.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            DomainPattern::parse("x.*.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            DomainPattern::parse("*x.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            DomainPattern::parse("**.x.com"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(DomainPattern::parse(""), Err(EmailError::EmptyDomain));
        assert_eq!(
            DomainPattern::parse("a@x.com"),
            Err(EmailError::InvalidDomain)
        );
    }

    #[test]
    fn error_messages_are_short_sentences() {
        assert_eq!(EmailError::MissingAt.to_string(), "the address has no @");
        assert_eq!(EmailError::TooLong.to_string(), "the address is too long");
    }
}
