//! Identifiers: opaque strings (API.md), one type per kind of thing so an
//! organization id cannot be passed where a user id is meant. Fresh ids
//! look like `<prefix>_<32 hex>`; the core never makes one (it has no
//! randomness), the edges do, with [`IdKind::PREFIX`].

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use arrayvec::ArrayString;

/// How long an id's text may be and still be kept inside its value: a
/// fresh id (`usr_` and 32 hex digits) fits, and so does a UUID behind a
/// four-character prefix.
const INLINE: usize = 40;

/// A string kept inside the value when it is at most 40 bytes: every id's
/// text, and the short words a request carries (`"user"`, an action's
/// name), so reading them costs no allocation. A record holding an id
/// answers "is this the id?" from the memory it already read (a decision
/// confirms two ids).
#[derive(Clone)]
pub struct ShortText(Text);

#[derive(Clone)]
enum Text {
    Inline(ArrayString<INLINE>),
    Heap(Box<str>),
}

impl ShortText {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Text::Inline(text) => text.as_str(),
            Text::Heap(text) => text,
        }
    }
}

impl Default for ShortText {
    fn default() -> Self {
        ShortText(Text::Inline(ArrayString::new()))
    }
}

impl PartialEq<str> for ShortText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> Self {
        ShortText(match ArrayString::from(text) {
            Ok(inline) => Text::Inline(inline),
            Err(_) => Text::Heap(text.into()),
        })
    }
}

impl From<String> for ShortText {
    fn from(text: String) -> Self {
        ShortText(match ArrayString::from(&text) {
            Ok(inline) => Text::Inline(inline),
            Err(_) => Text::Heap(text.into_boxed_str()),
        })
    }
}

// Compared, ordered and hashed as the text itself, so that an id and its
// `&str` (through `Borrow<str>`) find the same map entries.
impl PartialEq for ShortText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ShortText {}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for ShortText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for ShortText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ShortText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ShortTextVisitor)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ShortText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ShortText {}

struct ShortTextVisitor;

impl serde::de::Visitor<'_> for ShortTextVisitor {
    type Value = ShortText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ShortText, E> {
        Ok(ShortText::from(text))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<ShortText, E> {
        Ok(ShortText::from(text))
    }
}

/// What every id type shares.
pub trait IdKind: Sized {
    /// The prefix of the ids Roster makes for this kind (`usr`, `org`, …).
    const PREFIX: &'static str;
    fn new(id: impl Into<String>) -> Self;
    fn as_str(&self) -> &str;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $prefix:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(ShortText);

        impl IdKind for $name {
            const PREFIX: &'static str = $prefix;
            fn new(id: impl Into<String>) -> Self {
                $name(ShortText::from(id.into()))
            }
            fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl $name {
            /// An id from a trusted source (storage, a path, a fresh id).
            pub fn new(id: impl Into<String>) -> Self {
                $name(ShortText::from(id.into()))
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.0.as_str()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(ShortText::from(id))
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(id: &str) -> Result<Self, Self::Err> {
                Ok($name(ShortText::from(id)))
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(ShortText::from(id))
            }
        }

        impl From<ShortText> for $name {
            fn from(id: ShortText) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0.as_str() == *other
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <ShortText as utoipa::PartialSchema>::schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    )*};
}

ids! {
    /// An organization (a tenant).
    OrgId = "org",
    /// A person's account, global across organizations.
    UserId = "usr",
    /// A program inside an organization.
    SpaceId = "spc",
    /// One invitation of a batch.
    InvitationId = "inv",
    /// The batch an invitation was sent in.
    BatchId = "bat",
    /// A token Roster issued (also admin UI sessions).
    TokenId = "tok",
    /// A webhook endpoint.
    WebhookId = "whk",
    /// One delivery of an event to a webhook endpoint.
    DeliveryId = "dlv",
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    use super::*;

    /// Ids on both sides of the inline limit, a multi-byte character
    /// across it included, behave exactly as their text does.
    #[test]
    fn ids_kept_inline_or_not_compare_order_and_hash_as_their_text() {
        let texts: Vec<String> = [0, 1, 35, 36, 39, 40, 41, 200]
            .iter()
            .map(|n| "u".repeat(*n))
            .chain([format!("{}é", "u".repeat(39)), "usr_ÿ".into()])
            .collect();
        let ids: Vec<UserId> = texts.iter().map(|t| UserId::from(t.as_str())).collect();
        let set: HashSet<UserId> = ids.iter().cloned().collect();
        for (text, id) in texts.iter().zip(&ids) {
            assert_eq!(id.as_str(), text);
            assert_eq!(&UserId::from(text.clone()), id);
            assert!(set.contains(text.as_str()), "{text:?} found by its text");
            assert_eq!(format!("{id:?}"), format!("UserId({text:?})"));
            for (other_text, other) in texts.iter().zip(&ids) {
                assert_eq!(
                    id.cmp(other),
                    text.cmp(other_text),
                    "{text:?} {other_text:?}"
                );
            }
        }
    }

    #[test]
    fn an_id_reads_the_same_from_a_borrowed_or_an_owned_string() {
        for text in ["usr_0123", &"x".repeat(64)] {
            let borrowed: Result<UserId, serde::de::value::Error> =
                UserId::deserialize(text.into_deserializer());
            let owned: Result<UserId, serde::de::value::Error> =
                UserId::deserialize(text.to_owned().into_deserializer());
            assert_eq!(borrowed.ok().as_ref().map(UserId::as_str), Some(text));
            assert_eq!(owned.ok().as_ref().map(UserId::as_str), Some(text));
        }
    }
}
