//! JSON bodies read with the field a problem names: the path to the bad
//! value, or the missing field, or `body` when it does not parse.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Most bodies are fine: parse them without tracking the path (which
    // keeps every key as a `String`), and parse again with it only to say
    // where a body went wrong.
    serde_json::from_slice(bytes).or_else(|_| parse_naming_the_field(bytes))
}

fn parse_naming_the_field<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let message = e.inner().to_string();
        let field = field_of(&e.path().to_string(), &message);
        ApiError::invalid(&field, format!("{field}: {message}"))
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", format!("body: {e}")))?;
    Ok(value)
}

/// The field a problem names: the path to the bad value, or the missing
/// field's name, or `body` for JSON that does not parse at all.
fn field_of(path: &str, message: &str) -> String {
    let at_top = path.is_empty() || path == "." || path == "?";
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (at_top, missing) {
        (true, Some(name)) => name.to_owned(),
        (true, None) => "body".to_owned(),
        (false, Some(name)) => format!("{path}.{name}"),
        (false, None) => path.to_owned(),
    }
}
