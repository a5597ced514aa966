//! The seven roles of SPEC §3: three at organization level, four at space level.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An organization-level role. A membership holds at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Admin,
    ImplementationAdmin,
}

/// A space-level (program) role. A user holds at most one per space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpaceRole {
    ProgramAdmin,
    Facilitator,
    Participant,
    Sponsor,
}

/// Any of the seven roles, as named in invitations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Org(OrgRole),
    Space(SpaceRole),
}

/// Where a role applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Organization,
    Space,
}

/// The error for a role name that is not one of the seven.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`")]
pub struct UnknownRole(pub String);

impl OrgRole {
    pub const ALL: [OrgRole; 3] = [OrgRole::Owner, OrgRole::Admin, OrgRole::ImplementationAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Admin => "admin",
            OrgRole::ImplementationAdmin => "implementation_admin",
        }
    }

    /// Human label, as the admin area shows it.
    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Owner => "Owner",
            OrgRole::Admin => "Admin",
            OrgRole::ImplementationAdmin => "Implementation Admin",
        }
    }
}

impl SpaceRole {
    pub const ALL: [SpaceRole; 4] = [
        SpaceRole::ProgramAdmin,
        SpaceRole::Facilitator,
        SpaceRole::Participant,
        SpaceRole::Sponsor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SpaceRole::ProgramAdmin => "program_admin",
            SpaceRole::Facilitator => "facilitator",
            SpaceRole::Participant => "participant",
            SpaceRole::Sponsor => "sponsor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SpaceRole::ProgramAdmin => "Program Admin",
            SpaceRole::Facilitator => "Facilitator",
            SpaceRole::Participant => "Participant",
            SpaceRole::Sponsor => "Sponsor",
        }
    }

    /// Roles that see member activity and reports of the space's participants (SPEC §4 ¹).
    pub fn oversees_participants(self) -> bool {
        matches!(
            self,
            SpaceRole::ProgramAdmin | SpaceRole::Facilitator | SpaceRole::Sponsor
        )
    }
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Org(OrgRole::Owner),
        Role::Org(OrgRole::Admin),
        Role::Org(OrgRole::ImplementationAdmin),
        Role::Space(SpaceRole::ProgramAdmin),
        Role::Space(SpaceRole::Facilitator),
        Role::Space(SpaceRole::Participant),
        Role::Space(SpaceRole::Sponsor),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Org(r) => r.as_str(),
            Role::Space(r) => r.as_str(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Org(r) => r.label(),
            Role::Space(r) => r.label(),
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Role::Org(_) => Scope::Organization,
            Role::Space(_) => Scope::Space,
        }
    }
}

impl FromStr for OrgRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl FromStr for SpaceRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpaceRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(OrgRole, SpaceRole, Role);

/// Serializes as the stable name, parses through [`FromStr`] so an unknown
/// name is refused with a message listing nothing it should not.
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
serde_as_str!(Role);

/// Which roles use a seat (SPEC §3, §15). The default follows seed `003_…`;
/// the platform operator may change it per organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeatPolicy {
    bits: u8,
}

impl SeatPolicy {
    fn bit(role: Role) -> u8 {
        match role {
            Role::Org(OrgRole::Owner) => 1,
            Role::Org(OrgRole::Admin) => 1 << 1,
            Role::Org(OrgRole::ImplementationAdmin) => 1 << 2,
            Role::Space(SpaceRole::ProgramAdmin) => 1 << 3,
            Role::Space(SpaceRole::Facilitator) => 1 << 4,
            Role::Space(SpaceRole::Participant) => 1 << 5,
            Role::Space(SpaceRole::Sponsor) => 1 << 6,
        }
    }

    pub fn from_roles(roles: impl IntoIterator<Item = Role>) -> Self {
        SeatPolicy {
            bits: roles.into_iter().fold(0, |acc, r| acc | Self::bit(r)),
        }
    }

    pub fn uses_seat(self, role: Role) -> bool {
        self.bits & Self::bit(role) != 0
    }

    pub fn seat_roles(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.uses_seat(*r))
    }
}

impl Default for SeatPolicy {
    fn default() -> Self {
        SeatPolicy::from_roles([
            Role::Org(OrgRole::Owner),
            Role::Org(OrgRole::Admin),
            Role::Space(SpaceRole::ProgramAdmin),
            Role::Space(SpaceRole::Facilitator),
            Role::Space(SpaceRole::Sponsor),
        ])
    }
}
