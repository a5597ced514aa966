//! Catalogs of stable names: enums whose variants travel as snake_case
//! strings in the API, the audit log and the event feed. Each is defined
//! once here (or next to the rule that owns it) with [`named!`], which
//! gives it `ALL`, `as_str`, parsing, `Display` and serde as its name.

/// The error for a name that is not in a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    /// The names that would have been accepted.
    pub choices: Vec<&'static str>,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} `{}`", self.what, self.name)?;
        // Short catalogs say what would do; the action catalog is in /openapi.json.
        if let Some((last, rest)) = self
            .choices
            .split_last()
            .filter(|_| self.choices.len() <= 8)
        {
            write!(f, ": use ")?;
            if !rest.is_empty() {
                write!(f, "{} or ", rest.join(", "))?;
            }
            write!(f, "{last}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

/// Declares a catalog enum: `named! { /// doc \n pub enum Trigger("trigger") { Request = "request", … } }`.
/// The string in parentheses names the catalog in parse errors.
#[macro_export]
macro_rules! named {
    ($(#[$meta:meta])* $vis:vis enum $name:ident($what:literal) { $($(#[$vmeta:meta])* $variant:ident = $str:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $str),* }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::names::UnknownName {
                        what: $what,
                        name: s.to_owned(),
                        choices: $name::ALL.iter().map(|v| v.as_str()).collect(),
                    })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::serde_as_str!($name);
        $crate::string_schema!($name);
    };
}

/// Serializes as the stable name, parses through [`std::str::FromStr`] so
/// an unknown name is refused with a message naming the catalog.
#[macro_export]
macro_rules! serde_as_str {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// With the `openapi` feature, a catalog is a string schema whose `enum`
/// lists every name of `ALL`: the OpenAPI document is generated from the
/// same list the code parses with.
#[cfg(feature = "openapi")]
#[macro_export]
macro_rules! string_schema {
    ($($t:ty),*) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(<$t>::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    )*};
}

#[cfg(not(feature = "openapi"))]
#[macro_export]
macro_rules! string_schema {
    ($($t:ty),*) => {};
}
