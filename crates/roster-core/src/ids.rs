//! Identifiers: opaque strings (API.md), one type per kind of thing so an
//! organization id cannot be passed where a user id is meant. Fresh ids
//! look like `<prefix>_<32 hex>`; the core never makes one (it has no
//! randomness), the edges do, with [`IdKind::PREFIX`].

use std::borrow::Borrow;
use std::fmt;

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
        pub struct $name(String);

        impl IdKind for $name {
            const PREFIX: &'static str = $prefix;
            fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }
            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            /// An id from a trusted source (storage, a path, a fresh id).
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(id: &str) -> Result<Self, Self::Err> {
                Ok($name(id.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .into()
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
