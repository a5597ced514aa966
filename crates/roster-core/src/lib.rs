//! Roster's core: the role model, the decision engine and the management
//! rules of SPEC §2–§7. Pure: no I/O, no async, no clock (time is an
//! argument).

pub mod action;
pub mod capabilities;
pub mod decide;
pub mod duration;
pub mod email;
pub mod error;
pub mod invite;
pub mod manage;
pub mod policy;
pub mod role;
pub mod seats;
mod slots;
pub mod snapshot;

pub use action::{Action, ActionSet};
pub use decide::{decide, Decision, Resource, Rule};
pub use duration::IaDuration;
pub use email::{Domain, DomainAllowlist, DomainPattern, Email, EmailError};
pub use error::{Rejected, RuleError};
pub use manage::Actor;
pub use role::{OrgRole, Role, SeatPolicy, SpaceRole};
pub use seats::SeatUsage;
pub use snapshot::{
    Effect, IaAssignment, Invitation, InvitationStatus, Member, MemberStatus, OrgSettings,
    OrgSnapshot, Space, Timestamp,
};
