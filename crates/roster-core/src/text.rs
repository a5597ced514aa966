//! Free text a client sends (names, messages, descriptions), checked once
//! at the edge so the rules only ever see values that fit.

use crate::error::RuleError;

/// A name: trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    /// `field` is named in the refusal.
    pub fn parse(field: &'static str, input: &str) -> Result<Name, RuleError> {
        let trimmed = input.trim();
        let invalid = |message: String| RuleError::Validation { field, message };
        if trimmed.is_empty() {
            return Err(invalid(format!("{field} must not be empty")));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(invalid(format!(
                "{field} is limited to {} characters",
                Self::MAX_CHARS
            )));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid(format!(
                "{field} must not contain control characters"
            )));
        }
        Ok(Name(trimmed.to_owned()))
    }

    /// An optional name: absent or blank is `None`.
    pub fn parse_optional(
        field: &'static str,
        input: Option<&str>,
    ) -> Result<Option<Name>, RuleError> {
        input
            .filter(|n| !n.trim().is_empty())
            .map(|n| Name::parse(field, n))
            .transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A longer text (an invitation's message, a webhook's description):
/// at most `max` characters; line breaks and tabs allowed, no other
/// control characters.
pub fn parse_text(field: &'static str, input: &str, max: usize) -> Result<String, RuleError> {
    if input.chars().count() > max {
        return Err(RuleError::Validation {
            field,
            message: format!("the {field} is limited to {max} characters"),
        });
    }
    if input
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RuleError::Validation {
            field,
            message: format!("the {field} must not contain control characters"),
        });
    }
    Ok(input.to_owned())
}
