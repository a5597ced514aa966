//! The seven roles of SPEC §3: three at organization level, four at space level.

use std::fmt;
use std::str::FromStr;

use crate::names::UnknownName;

crate::named! {
    /// An organization-level role. A membership holds at most one.
    pub enum OrgRole("role") {
        Owner = "owner",
        Admin = "admin",
        ImplementationAdmin = "implementation_admin",
    }
}

crate::named! {
    /// A space-level (program) role. A user holds at most one per space.
    pub enum SpaceRole("role") {
        ProgramAdmin = "program_admin",
        Facilitator = "facilitator",
        Participant = "participant",
        Sponsor = "sponsor",
    }
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

impl OrgRole {
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

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "role",
                name: s.to_owned(),
                choices: Role::ALL.iter().map(|r| r.as_str()).collect(),
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::serde_as_str!(Role);
crate::string_schema!(Role);

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
