//! The permission tables of SPEC §4, as data. Each constant is one row group
//! of the tables; each column is the union of the rows it ticks.

use crate::action::{Action::*, ActionSet};

// Organization actions (the Admin Area), decided by the org role alone.

/// `billing.view`, `billing.manage`, `stripe.connect`, `financials.view`,
/// `org.delete`, `owner.assign`: Owner only.
pub const OWNER_ONLY: ActionSet = ActionSet::of(&[
    BillingView,
    BillingManage,
    StripeConnect,
    FinancialsView,
    OrgDelete,
    OwnerAssign,
]);

/// Everything else in the Admin Area: Owner, Admin and Implementation Admin.
pub const ADMIN_AREA: ActionSet = ActionSet::of(&[
    MembersView,
    MembersInvite,
    MembersChangeRole,
    MembersDeactivate,
    MembersRemove,
    SeatsView,
    SpacesCreate,
    SpacesManage,
    SpacesDelete,
    ReportsView,
    OffersManage,
    IntegrationsManage,
    McpManage,
    BrandManage,
    SettingsManage,
    AuditView,
    TokensManage,
]);

pub const ORG_ACTIONS: ActionSet = OWNER_ONLY.union(ADMIN_AREA);

// Space actions (inside one program).

/// `space.view`, `content.view`, `members.view`: every column.
pub const SPACE_READ: ActionSet = ActionSet::of(&[SpaceView, ContentView, MembersView]);
/// `member_activity.view`, `submissions.view`, `reports.view`.
pub const SPACE_OVERSIGHT: ActionSet =
    ActionSet::of(&[MemberActivityView, SubmissionsView, ReportsView]);
/// Building the program: Program Admin and org admin tier.
pub const SPACE_BUILD: ActionSet = ActionSet::of(&[
    ActivityCreate,
    ActivityEdit,
    ActivityDelete,
    ActivitySettingsEdit,
    StructureManage,
    MembersManage,
    PackagesManage,
]);
/// Running the program day to day: Program Admin, Facilitator, org admin tier.
pub const SPACE_RUN: ActionSet = ActionSet::of(&[
    EventsManage,
    SchedulesManage,
    BookingsManage,
    FeedModerate,
    ChannelsManage,
    LibraryAdd,
]);
pub const ITEM_REMOVE: ActionSet = ActionSet::of(&[ItemRemove]);
pub const OWN_SCHEDULES: ActionSet = ActionSet::of(&[SchedulesManageOwn]);
/// `feed.post`, `feed.respond`, `event.rsvp`.
pub const SPACE_ENGAGE: ActionSet = ActionSet::of(&[FeedPost, FeedRespond, EventRsvp]);
/// `activity.complete`, `space.leave`: participants only.
pub const SPACE_LEARN: ActionSet = ActionSet::of(&[ActivityComplete, SpaceLeave]);
pub const NOTIFICATIONS: ActionSet = ActionSet::of(&[NotificationsReceive]);

pub const PROGRAM_ADMIN_COLUMN: ActionSet = SPACE_READ
    .union(SPACE_OVERSIGHT)
    .union(SPACE_BUILD)
    .union(SPACE_RUN)
    .union(ITEM_REMOVE)
    .union(OWN_SCHEDULES)
    .union(SPACE_ENGAGE)
    .union(NOTIFICATIONS);

/// The facilitator's oversight cells are "participants only" (¹) and
/// `item.remove` is "own items only" (²): see [`crate::decide`].
pub const FACILITATOR_COLUMN: ActionSet = SPACE_READ
    .union(SPACE_OVERSIGHT)
    .union(SPACE_RUN)
    .union(ITEM_REMOVE)
    .union(OWN_SCHEDULES)
    .union(SPACE_ENGAGE)
    .union(NOTIFICATIONS);

pub const PARTICIPANT_COLUMN: ActionSet = SPACE_READ
    .union(SPACE_ENGAGE)
    .union(SPACE_LEARN)
    .union(NOTIFICATIONS);

pub const SPONSOR_COLUMN: ActionSet = SPACE_READ.union(SPACE_OVERSIGHT);

/// "org admin tier, no space role".
pub const ORG_ADMIN_TIER_COLUMN: ActionSet = SPACE_READ
    .union(SPACE_OVERSIGHT)
    .union(SPACE_BUILD)
    .union(SPACE_RUN)
    .union(ITEM_REMOVE)
    .union(SPACE_ENGAGE);

pub const SPACE_ACTIONS: ActionSet = PROGRAM_ADMIN_COLUMN
    .union(FACILITATOR_COLUMN)
    .union(PARTICIPANT_COLUMN)
    .union(SPONSOR_COLUMN)
    .union(ORG_ADMIN_TIER_COLUMN);

use crate::role::{OrgRole, SpaceRole};

pub fn org_column(role: OrgRole) -> ActionSet {
    match role {
        OrgRole::Owner => ORG_ACTIONS,
        OrgRole::Admin | OrgRole::ImplementationAdmin => ADMIN_AREA,
    }
}

pub fn space_column(role: SpaceRole) -> ActionSet {
    match role {
        SpaceRole::ProgramAdmin => PROGRAM_ADMIN_COLUMN,
        SpaceRole::Facilitator => FACILITATOR_COLUMN,
        SpaceRole::Participant => PARTICIPANT_COLUMN,
        SpaceRole::Sponsor => SPONSOR_COLUMN,
    }
}
