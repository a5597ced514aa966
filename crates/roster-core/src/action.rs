//! The action catalog of SPEC §4, with stable `area.verb` names.

crate::named! {
    /// Every action Roster decides. `members.view` and `reports.view` exist at
    /// both levels: the resource asked about picks the table.
    #[repr(u8)]
    pub enum Action("action") {
    BillingView = "billing.view",
    BillingManage = "billing.manage",
    StripeConnect = "stripe.connect",
    FinancialsView = "financials.view",
    OrgDelete = "org.delete",
    OwnerAssign = "owner.assign",
    MembersView = "members.view",
    MembersInvite = "members.invite",
    MembersChangeRole = "members.change_role",
    MembersDeactivate = "members.deactivate",
    MembersRemove = "members.remove",
    SeatsView = "seats.view",
    SpacesCreate = "spaces.create",
    SpacesManage = "spaces.manage",
    SpacesDelete = "spaces.delete",
    ReportsView = "reports.view",
    OffersManage = "offers.manage",
    IntegrationsManage = "integrations.manage",
    McpManage = "mcp.manage",
    BrandManage = "brand.manage",
    SettingsManage = "settings.manage",
    AuditView = "audit.view",
    TokensManage = "tokens.manage",
    SpaceView = "space.view",
    ContentView = "content.view",
    MemberActivityView = "member_activity.view",
    SubmissionsView = "submissions.view",
    ActivityCreate = "activity.create",
    ActivityEdit = "activity.edit",
    ActivityDelete = "activity.delete",
    ActivitySettingsEdit = "activity_settings.edit",
    StructureManage = "structure.manage",
    MembersManage = "members.manage",
    PackagesManage = "packages.manage",
    EventsManage = "events.manage",
    SchedulesManage = "schedules.manage",
    BookingsManage = "bookings.manage",
    FeedModerate = "feed.moderate",
    ChannelsManage = "channels.manage",
    LibraryAdd = "library.add",
    ItemRemove = "item.remove",
    SchedulesManageOwn = "schedules.manage_own",
    FeedPost = "feed.post",
    FeedRespond = "feed.respond",
    EventRsvp = "event.rsvp",
    ActivityComplete = "activity.complete",
    SpaceLeave = "space.leave",
    NotificationsReceive = "notifications.receive",
    }
}

/// A set of actions as a bitset: the permission tables are made of these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionSet(u64);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);

    pub const fn of(actions: &[Action]) -> ActionSet {
        let mut bits = 0u64;
        let mut i = 0;
        while i < actions.len() {
            bits |= 1 << actions[i] as u8;
            i += 1;
        }
        ActionSet(bits)
    }

    pub const fn contains(self, action: Action) -> bool {
        self.0 & (1 << action as u8) != 0
    }

    pub const fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }
}
