//! Roster's core: the role model, the decision engine and the management
//! rules of SPEC §2–§7. Pure: no I/O, no async, no clock (time is an
//! argument), no randomness (ids are made at the edges).
//!
//! Every management rule answers a [`Change`]: the [`Grant`] that allowed
//! it and the [`Outcome`]s that describe it. Storage accepts nothing else.

pub mod access;
pub mod action;
pub mod capabilities;
pub mod catalog;
pub mod decide;
pub mod duration;
pub mod email;
pub mod error;
mod guards;
pub mod ids;
pub mod implementation_admin;
pub mod import;
pub mod invite;
pub mod names;
pub mod org;
pub mod org_roles;
pub mod outcome;
pub mod page;
pub mod policy;
pub mod role;
pub mod seats;
mod slots;
pub mod snapshot;
pub mod space_roles;
pub mod spaces;
pub mod status;
pub mod text;
pub mod tokens;
pub mod webhooks;

pub use access::{Actor, Grant, Principal};
pub use action::{Action, ActionSet};
pub use catalog::{
    ActorKind, AuditAction, BulkAction, LinkRequester, ResourceType, RevokeReason, SessionEnd,
    TokenKind, Trigger,
};
pub use decide::{decide, Decision, Resource, Rule};
pub use duration::IaDuration;
pub use email::{Domain, DomainAllowlist, DomainPattern, Email, EmailError};
pub use error::{Rejected, RuleError};
pub use guards::{allowed_domains, guard_implementation_admin};
pub use ids::{
    BatchId, DeliveryId, IdKind, InvitationId, OrgId, ShortText, SpaceId, TokenId, UserId,
    WebhookId,
};
pub use names::UnknownName;
pub use org::Account;
pub use outcome::{Change, EndReason, LeaveReason, Outcome};
pub use role::{OrgRole, Role, SeatPolicy, SpaceRole};
pub use seats::SeatUsage;
pub use snapshot::{
    Effect, IaAssignment, Invitation, InvitationStatus, Inviter, LaterRoles, Member, MemberStatus,
    NewToken, OrgSettings, OrgSnapshot, SignInLink, Space, Timestamp,
};
pub use text::Name;
pub use webhooks::{EventType, Secret, Webhook};
