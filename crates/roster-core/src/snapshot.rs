//! An organization's state as the rules see it: built once from storage,
//! updated in place by [`Effect`]s, read without allocation by decisions.

use chrono::{DateTime, SubsecRound, Utc};

use crate::catalog::{RevokeReason, TokenKind};
use crate::duration::IaDuration;
use crate::email::{DomainAllowlist, Email};
use crate::ids::{BatchId, InvitationId, OrgId, SpaceId, TokenId, UserId};
use crate::role::{OrgRole, Role, SeatPolicy, SpaceRole};
use crate::slots::{Lookup, Map, Slots};

pub type Timestamp = DateTime<Utc>;

crate::named! {
    /// A membership's status (SPEC §2).
    pub enum MemberStatus("member status") {
        Active = "active",
        Deactivated = "deactivated",
    }
}

/// Who gave someone the Implementation Admin role: kept with the
/// assignment, address included, so the emails at its end need no lookup
/// outside the organization's lock (accounts outlive memberships).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inviter {
    pub user_id: UserId,
    pub email: Email,
}

/// The `implementation_admin` org role's terms (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaAssignment {
    pub assigned_at: Timestamp,
    /// `None` is Forever.
    pub expires_at: Option<Timestamp>,
    pub duration: IaDuration,
    /// The original inviter; `None` when the platform operator assigned it.
    pub invited_by: Option<Inviter>,
}

impl IaAssignment {
    /// Starts at `now` in whole seconds, so the end the API shows (to the
    /// second) is the exact instant access ends.
    pub fn new(duration: IaDuration, now: Timestamp, invited_by: Option<Inviter>) -> Self {
        let now = now.trunc_subsecs(0);
        IaAssignment {
            assigned_at: now,
            expires_at: duration.expires_at(now),
            duration,
            invited_by,
        }
    }

    /// Expiry is honoured at the exact instant, before any job runs (SPEC §4 rule 2).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A membership, laid out in declaration order: what a decision reads (the
/// id it confirms, then its roles and status) comes first, next to the
/// slot's mark (see `slots`), so that a decision reads the fewest cache
/// lines of the record; email and name last.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Member {
    pub user_id: UserId,
    /// Sorted by space index: at most one role per space.
    space_roles: Vec<(u32, SpaceRole)>,
    /// Present exactly when `org_role` is `implementation_admin` (boxed: few
    /// members hold one, and every member's record stays small).
    pub ia: Option<Box<IaAssignment>>,
    pub status: MemberStatus,
    pub org_role: Option<OrgRole>,
    pub email: Email,
    pub name: String,
}

impl Member {
    pub fn new(user_id: UserId, email: Email, name: String) -> Self {
        Member {
            user_id,
            email,
            name,
            status: MemberStatus::Active,
            org_role: None,
            ia: None,
            space_roles: Vec::new(),
        }
    }

    /// Members in user id order: the ids' first 16 bytes as numbers, then
    /// the whole ids on a tie. An id of up to 40 bytes is in the record, so
    /// ordering a million members reads no other memory, and most
    /// comparisons are one of two numbers rather than a call to `memcmp`.
    pub fn cmp_by_id(&self, other: &Member) -> std::cmp::Ordering {
        cmp_ids(self.user_id.as_str(), other.user_id.as_str())
    }

    /// Whether this member's user id comes after `id` (a page's cursor).
    pub fn id_after(&self, id: &str) -> bool {
        let mine = self.user_id.as_str();
        match id_head(mine).cmp(&id_head(id)) {
            std::cmp::Ordering::Equal => mine > id,
            order => order == std::cmp::Ordering::Greater,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// The org role in force at `now`: an expired Implementation Admin holds none.
    pub fn effective_org_role(&self, now: Timestamp) -> Option<OrgRole> {
        match (self.org_role, &self.ia) {
            (Some(OrgRole::ImplementationAdmin), Some(ia)) if ia.is_expired(now) => None,
            (role, _) => role,
        }
    }

    pub fn ia_expired(&self, now: Timestamp) -> bool {
        self.ia.as_ref().is_some_and(|ia| ia.is_expired(now))
    }

    fn space_role_at(&self, space: u32) -> Option<SpaceRole> {
        self.space_roles
            .binary_search_by_key(&space, |(s, _)| *s)
            .ok()
            .map(|i| self.space_roles[i].1)
    }

    pub(crate) fn set_space_role(&mut self, space: u32, role: Option<SpaceRole>) {
        match (
            self.space_roles.binary_search_by_key(&space, |(s, _)| *s),
            role,
        ) {
            (Ok(i), Some(role)) => self.space_roles[i].1 = role,
            (Ok(i), None) => {
                self.space_roles.remove(i);
            }
            (Err(i), Some(role)) => self.space_roles.insert(i, (space, role)),
            (Err(_), None) => {}
        }
    }
}

/// Two ids in their text's order, most often by their first 16 bytes as
/// numbers rather than by a call to `memcmp`.
fn cmp_ids(a: &str, b: &str) -> std::cmp::Ordering {
    id_head(a).cmp(&id_head(b)).then_with(|| a.cmp(b))
}

/// `items` in the order of the ids `id` reads from them. Items already in
/// that order cost one comparison each; others are sorted by their ids'
/// first 16 bytes as numbers, kept beside them, so that most comparisons
/// read no id.
pub(crate) fn in_id_order<'a, T>(items: Vec<T>, id: impl Fn(&T) -> &'a str) -> Vec<T> {
    if items.is_sorted_by(|a, b| cmp_ids(id(a), id(b)).is_le()) {
        return items;
    }
    let mut keyed: Vec<(u128, T)> = items
        .into_iter()
        .map(|item| (id_head(id(&item)), item))
        .collect();
    keyed.sort_unstable_by(|(a_head, a), (b_head, b)| {
        a_head.cmp(b_head).then_with(|| id(a).cmp(id(b)))
    });
    keyed.into_iter().map(|(_, item)| item).collect()
}

/// A string's first 16 bytes as a number, zero-padded: in the same order as
/// the strings themselves wherever the numbers differ (a tie says nothing).
fn id_head(id: &str) -> u128 {
    let bytes = id.as_bytes();
    match bytes.first_chunk::<16>() {
        Some(first) => u128::from_be_bytes(*first),
        None => {
            let mut head = [0u8; 16];
            head[..bytes.len()].copy_from_slice(bytes);
            u128::from_be_bytes(head)
        }
    }
}

/// A program. The id a lookup confirms comes first, beside the slot's mark.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Space {
    pub id: SpaceId,
    pub name: String,
}

crate::named! {
    /// An invitation's status (SPEC §2).
    pub enum InvitationStatus("invitation status") {
        Pending = "pending",
        Accepted = "accepted",
        Revoked = "revoked",
        Expired = "expired",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub batch_id: BatchId,
    pub email: Email,
    pub role: Role,
    pub space_ids: Vec<SpaceId>,
    pub duration: Option<IaDuration>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: Timestamp,
    pub invited_by: Option<UserId>,
    pub send_count: u32,
    pub created_at: Timestamp,
}

impl Invitation {
    /// Pending and not yet past its expiry: the only invitations that reserve
    /// a seat or can be accepted.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.status == InvitationStatus::Pending && self.expires_at > now
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSettings {
    pub allow_implementation_admin: bool,
    /// `None` is unlimited.
    pub seat_limit: Option<u32>,
    pub seat_policy: SeatPolicy,
    pub ia_domains: DomainAllowlist,
}

// Spelled out: SPEC §2 makes `allow_implementation_admin` off by default.
#[allow(clippy::derivable_impls)]
impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            allow_implementation_admin: false,
            seat_limit: None,
            seat_policy: SeatPolicy::default(),
            ia_domains: DomainAllowlist::default(),
        }
    }
}

/// A token to store: only the hash of its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub name: String,
    pub secret_hash: String,
    pub expires_at: Option<Timestamp>,
}

/// A single-use admin UI sign-in link: only the hash of its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInLink {
    pub token_hash: String,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    /// Sent by email (these count toward the per-address limit).
    pub emailed: bool,
}

/// Every change to stored state, as the store persists it and
/// [`OrgSnapshot::apply`] replays it. Rules never hand these out directly:
/// they describe what happened as [`crate::Outcome`]s, and each outcome
/// knows its effects, so nothing changes without being described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    SetName(String),
    SetSettings(OrgSettings),
    /// Adds a membership (the account exists already).
    AddMember(Member),
    /// The name on the person's account.
    SetUserName {
        user_id: UserId,
        name: String,
    },
    SetStatus {
        user_id: UserId,
        status: MemberStatus,
    },
    SetOrgRole {
        user_id: UserId,
        role: Option<OrgRole>,
        ia: Option<IaAssignment>,
    },
    /// Deletes the membership and every space role; the account stays.
    RemoveMember {
        user_id: UserId,
    },
    SetSpaceRole {
        user_id: UserId,
        space_id: SpaceId,
        role: Option<SpaceRole>,
    },
    /// Revokes every token the user holds in this organization.
    RevokeTokens {
        user_id: UserId,
        reason: RevokeReason,
    },
    AddSpace(Space),
    RenameSpace {
        space_id: SpaceId,
        name: String,
    },
    /// Deletes the space and every role in it.
    RemoveSpace {
        space_id: SpaceId,
    },
    PutInvitation(Invitation),
    CreateToken(NewToken),
    RevokeToken {
        token_id: TokenId,
        reason: RevokeReason,
    },
    /// A review of a Forever Implementation Admin assignment.
    RecordReview {
        user_id: UserId,
    },
    CreateSignInLink(SignInLink),
    /// Uses up a sign-in link; fails the write if it was used already.
    UseSignInLink {
        token_hash: String,
    },
    /// Marks the organization deleted and revokes every token in it.
    DeleteOrg,
    /// Creates or replaces a webhook endpoint.
    PutWebhook(crate::webhooks::Webhook),
    DeleteWebhook {
        id: crate::ids::WebhookId,
    },
    /// A new signing secret; the previous one signs too until the time given.
    RotateWebhookSecret {
        id: crate::ids::WebhookId,
        secret: crate::webhooks::Secret,
        previous: (crate::webhooks::Secret, Timestamp),
    },
}

/// The organization as the rules see it. Members and programs sit in
/// numbered slots, found by id through [`Lookup`]s, so a decision is two
/// hash probes and a binary search, with no allocation; storage is shared
/// between copies so that a write's copy is cheap.
#[derive(Clone, Debug)]
pub struct OrgSnapshot {
    pub org_id: OrgId,
    pub name: String,
    pub revision: i64,
    pub settings: OrgSettings,
    user_index: Lookup<Box<str>>,
    email_index: Lookup<Email>,
    members: Slots<Member>,
    space_index: Lookup<Box<str>>,
    spaces: Slots<Space>,
    invitations: Map<InvitationId, Invitation>,
}

impl OrgSnapshot {
    pub fn new(org_id: OrgId, name: String, settings: OrgSettings) -> Self {
        OrgSnapshot {
            org_id,
            name,
            revision: 0,
            settings,
            user_index: Lookup::default(),
            email_index: Lookup::default(),
            members: Slots::default(),
            space_index: Lookup::default(),
            spaces: Slots::default(),
            invitations: Map::default(),
        }
    }

    pub fn member(&self, user_id: &UserId) -> Option<&Member> {
        self.member_by_id(user_id.as_str())
    }

    /// A member by a raw id (the decision path's subject, not yet typed).
    pub fn member_by_id(&self, user_id: &str) -> Option<&Member> {
        self.user_index.value(user_id, &self.members, member_id)
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    pub fn member_count(&self) -> usize {
        self.members.live()
    }

    pub fn member_by_email(&self, email: &Email) -> Option<&Member> {
        self.email_index.value(email, &self.members, member_email)
    }

    fn user_slot(&self, user_id: &str) -> Option<u32> {
        self.user_index.get(user_id, &self.members, member_id)
    }

    pub(crate) fn space_index(&self, space_id: &str) -> Option<u32> {
        self.space_index.get(space_id, &self.spaces, space_id_of)
    }

    pub fn space(&self, space_id: &SpaceId) -> Option<&Space> {
        self.space_index
            .value(space_id.as_str(), &self.spaces, space_id_of)
    }

    pub fn spaces(&self) -> impl Iterator<Item = &Space> {
        self.spaces.iter()
    }

    /// Every space with its place in the snapshot (for [`Member`]'s roles).
    pub(crate) fn spaces_indexed(&self) -> impl Iterator<Item = (u32, &Space)> {
        self.spaces.iter_indexed()
    }

    /// About how many bytes this snapshot holds, from its counts alone (so
    /// a cache can weigh every write's copy without walking it): each
    /// member, program and invitation at its struct's size plus its ids,
    /// strings and index entries at typical lengths.
    pub fn approximate_bytes(&self) -> usize {
        // Its slot's mark and index entries, an address and a name of some
        // 20 bytes each, and a few space roles (ids of up to 40 bytes are
        // in the record itself): 249 bytes per member measured in all at
        // 100k members by the `decisions` bench.
        const MEMBER_EXTRA: usize = 112;
        const SPACE_EXTRA: usize = 128;
        const INVITATION_EXTRA: usize = 128;
        std::mem::size_of::<Self>()
            + self.name.len()
            + self.member_count() * (std::mem::size_of::<Member>() + MEMBER_EXTRA)
            + self.space_count() * (std::mem::size_of::<Space>() + SPACE_EXTRA)
            + self.invitations.len()
                * (std::mem::size_of::<(InvitationId, Invitation)>() + INVITATION_EXTRA)
    }

    pub fn space_count(&self) -> usize {
        self.spaces.live()
    }

    /// The member's explicit role in a space.
    pub fn space_role(&self, member: &Member, space_id: &SpaceId) -> Option<SpaceRole> {
        member.space_role_at(self.space_index(space_id.as_str())?)
    }

    pub(crate) fn space_role_at(&self, member: &Member, space: u32) -> Option<SpaceRole> {
        member.space_role_at(space)
    }

    /// The member's explicit space roles, by space id.
    pub fn space_roles_of<'a>(
        &'a self,
        member: &'a Member,
    ) -> impl Iterator<Item = (&'a SpaceId, SpaceRole)> + 'a {
        member.space_roles.iter().filter_map(|(idx, role)| {
            let space = self.spaces.get(*idx)?;
            Some((&space.id, *role))
        })
    }

    pub(crate) fn space_role_indexes<'a>(
        &self,
        member: &'a Member,
    ) -> impl Iterator<Item = (u32, SpaceRole)> + 'a {
        member.space_roles.iter().copied()
    }

    /// Everyone with an explicit role in the space.
    pub fn space_members(&self, space_id: &SpaceId) -> Vec<(&Member, SpaceRole)> {
        let Some(idx) = self.space_index(space_id.as_str()) else {
            return Vec::new();
        };
        self.members()
            .filter_map(|m| m.space_role_at(idx).map(|r| (m, r)))
            .collect()
    }

    pub fn invitation(&self, id: &InvitationId) -> Option<&Invitation> {
        self.invitations.get(id)
    }

    /// Pending invitations (possibly past their expiry; see [`Invitation::is_open`]).
    pub fn pending_invitations(&self) -> impl Iterator<Item = &Invitation> {
        self.invitations.values()
    }

    /// Replays one change. Effects that name something absent change nothing:
    /// the rules never produce them, and replaying must not fail.
    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::SetName(name) => self.name = name.clone(),
            Effect::SetSettings(settings) => self.settings = settings.clone(),
            Effect::AddMember(member) => self.add_member(member.clone()),
            Effect::SetUserName { user_id, name } => {
                if let Some(m) = self.member_mut(user_id) {
                    m.name = name.clone();
                }
            }
            Effect::SetStatus { user_id, status } => {
                if let Some(m) = self.member_mut(user_id) {
                    m.status = *status;
                }
            }
            Effect::SetOrgRole { user_id, role, ia } => {
                if let Some(m) = self.member_mut(user_id) {
                    m.org_role = *role;
                    m.ia = ia.clone().map(Box::new);
                }
            }
            Effect::RemoveMember { user_id } => {
                if let Some(m) = self
                    .user_slot(user_id.as_str())
                    .and_then(|i| self.members.take(i))
                {
                    let members = &self.members;
                    self.user_index
                        .dropped(m.user_id.as_str(), members, member_id);
                    self.email_index.dropped(&m.email, members, member_email);
                }
            }
            Effect::SetSpaceRole {
                user_id,
                space_id,
                role,
            } => {
                if let Some(space) = self.space_index(space_id.as_str()) {
                    if let Some(m) = self.member_mut(user_id) {
                        m.set_space_role(space, *role);
                    }
                }
            }
            Effect::AddSpace(space) => self.add_space(space.clone()),
            Effect::RenameSpace { space_id, name } => {
                if let Some(idx) = self.space_index(space_id.as_str()) {
                    if let Some(space) = self.spaces.get_mut(idx) {
                        space.name = name.clone();
                    }
                }
            }
            Effect::RemoveSpace { space_id } => {
                if let Some(idx) = self.space_index(space_id.as_str()) {
                    self.spaces.take(idx);
                    self.space_index
                        .dropped(space_id.as_str(), &self.spaces, space_id_of);
                    self.members.update_where(
                        |m| m.space_role_at(idx).is_some(),
                        |m| m.set_space_role(idx, None),
                    );
                }
            }
            Effect::PutInvitation(inv) => {
                if inv.status == InvitationStatus::Pending {
                    self.invitations.insert(inv.id.clone(), inv.clone());
                } else {
                    self.invitations.remove(&inv.id);
                }
            }
            // Rows outside the decision snapshot.
            Effect::RevokeTokens { .. }
            | Effect::CreateToken(_)
            | Effect::RevokeToken { .. }
            | Effect::RecordReview { .. }
            | Effect::CreateSignInLink(_)
            | Effect::UseSignInLink { .. }
            | Effect::DeleteOrg
            | Effect::PutWebhook(_)
            | Effect::DeleteWebhook { .. }
            | Effect::RotateWebhookSecret { .. } => {}
        }
    }

    fn member_mut(&mut self, user_id: &UserId) -> Option<&mut Member> {
        let idx = self.user_slot(user_id.as_str())?;
        self.members.get_mut(idx)
    }

    /// Adds (or replaces) a member; used by loaders and by [`Effect::AddMember`].
    pub fn add_member(&mut self, member: Member) {
        let email = member.email.clone();
        if let Some(idx) = self.user_slot(member.user_id.as_str()) {
            let Some(existing) = self.members.get_mut(idx) else {
                return;
            };
            let old = std::mem::replace(existing, member);
            if old.email != email {
                let members = &self.members;
                self.email_index.dropped(&old.email, members, member_email);
                self.email_index.insert(email, idx, members, member_email);
            }
            return;
        }
        let user_id = member.user_id.as_str().into();
        let idx = self.members.push(member);
        let members = &self.members;
        self.user_index.insert(user_id, idx, members, member_id);
        self.email_index.insert(email, idx, members, member_email);
    }

    /// Adds the members a loader read, in user id order whatever order
    /// they arrived in, so that their records lie in that order and the
    /// walks that answer in it (seat holders, pages) meet them in it.
    pub fn add_loaded_members(&mut self, members: Vec<Member>) {
        let order = in_id_order((0..members.len()).collect(), |&i| {
            members.get(i).map_or("", |m| m.user_id.as_str())
        });
        let mut members: Vec<Option<Member>> = members.into_iter().map(Some).collect();
        for i in order {
            if let Some(member) = members.get_mut(i).and_then(Option::take) {
                self.add_member(member);
            }
        }
    }

    pub fn add_space(&mut self, space: Space) {
        if self.space_index(space.id.as_str()).is_some() {
            return;
        }
        let id = space.id.as_str().into();
        let idx = self.spaces.push(space);
        self.space_index.insert(id, idx, &self.spaces, space_id_of);
    }

    /// Sets one explicit space role at once, by the ids as text (no id is
    /// made for each of millions). Tests and benchmarks build snapshots
    /// this way; the loaders hold the roles until every member is in
    /// ([`OrgSnapshot::hold_space_roles`]).
    pub fn load_space_role(
        &mut self,
        user_id: impl AsRef<str>,
        space_id: impl AsRef<str>,
        role: SpaceRole,
    ) {
        if let Some(space) = self.space_index(space_id.as_ref()) {
            if let Some(idx) = self.user_slot(user_id.as_ref()) {
                if let Some(m) = self.members.get_mut(idx) {
                    m.set_space_role(space, Some(role));
                }
            }
        }
    }

    /// Keeps space roles of a member already in, to be set once every
    /// member is in ([`OrgSnapshot::set_later_roles`]): the members'
    /// strings then lie together in memory, and their role lists after
    /// them, so a walk over every address (`q=`) reads far fewer cache
    /// lines than when each member's role list sits between its strings
    /// and the next member's.
    pub fn hold_space_roles<'a>(
        &self,
        later: &mut LaterRoles,
        user_id: &str,
        roles: impl IntoIterator<Item = (&'a str, SpaceRole)>,
    ) {
        let Some(member) = self.user_slot(user_id) else {
            return;
        };
        for (space_id, role) in roles {
            if let Some(space) = self.space_index(space_id) {
                later.0.push((member, space, role));
            }
        }
    }

    /// Sets the roles kept by [`OrgSnapshot::hold_space_roles`], in any
    /// order. Each member's list is made once at its size, and the lists
    /// lie in the members' order.
    pub fn set_later_roles(&mut self, mut later: LaterRoles) {
        if !later.0.is_sorted_by_key(|&(member, ..)| member) {
            // Stable: of two roles held for one space, the later one stays.
            later.0.sort_by_key(|&(member, ..)| member);
        }
        for held in later.0.chunk_by(|a, b| a.0 == b.0) {
            let member = held
                .first()
                .and_then(|&(slot, ..)| self.members.get_mut(slot));
            if let Some(m) = member {
                m.space_roles.reserve_exact(held.len());
                for &(_, space, role) in held {
                    m.set_space_role(space, Some(role));
                }
            }
        }
    }

    /// Indexes every member and program for the fastest lookups; loaders
    /// call it once they have added everything.
    pub fn loaded(&mut self) {
        self.user_index.settle(&self.members, member_id);
        self.email_index.settle(&self.members, member_email);
        self.space_index.settle(&self.spaces, space_id_of);
    }

    pub fn load_invitation(&mut self, invitation: Invitation) {
        self.apply(&Effect::PutInvitation(invitation));
    }
}

/// Space roles read during a load, set after every member
/// ([`OrgSnapshot::hold_space_roles`]): member slot, space, role.
#[derive(Default)]
pub struct LaterRoles(Vec<(u32, u32, SpaceRole)>);

fn member_id(member: &Member) -> &str {
    member.user_id.as_str()
}

fn member_email(member: &Member) -> &Email {
    &member.email
}

fn space_id_of(space: &Space) -> &str {
    space.id.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_compare_by_id_as_their_ids_do() {
        let ids = [
            "",
            "a",
            "a\u{0}",
            "usr_",
            "usr_0",
            "usr_00000000000",
            "usr_000000000000",
            "usr_0000000000000",
            "usr_000000000000f",
            "usr_0000000000000000000000000000001",
            "usr_0000000000000000000000000000002",
            "usr_019ab3c4d5e6f7a8b9c0d1e2f3a4b5c6",
            "usr_019ab3c4d5e6f7a8b9c0d1e2f3a4b5c7",
            "usr_019ab3c4d5e7",
            "usr_ffffffffffffffffffffffffffffffff",
            "usr_é",
            "zzz",
        ];
        let member = |id: &str| {
            Member::new(
                UserId::from(id),
                Email::parse("member@example.com").unwrap_or_else(|e| panic!("{e}")),
                String::new(),
            )
        };
        for a in ids {
            for b in ids {
                assert_eq!(member(a).cmp_by_id(&member(b)), a.cmp(b), "{a:?} / {b:?}");
                assert_eq!(member(a).id_after(b), a > b, "{a:?} after {b:?}");
            }
        }
    }

    #[test]
    fn members_loaded_out_of_order_lie_in_id_order_and_keep_their_roles() {
        let ids = ["m9", "m10", "usr_b", "m1", "usr_é", "usr_a", "m100", "a"];
        let mut snap = OrgSnapshot::new("org".into(), "Org".into(), OrgSettings::default());
        for space in ["s1", "s2", "s3"] {
            snap.add_space(Space {
                id: space.into(),
                name: space.into(),
            });
        }
        let members = ids.iter().enumerate().map(|(i, id)| {
            let address = format!("member{i}@example.com");
            let email = Email::parse(&address).unwrap_or_else(|e| panic!("{e}"));
            Member::new(UserId::from(*id), email, id.to_string())
        });
        snap.add_loaded_members(members.collect());
        // Roles as PostgreSQL may list them: neither by member nor by space.
        let mut later = LaterRoles::default();
        for (space, role) in [
            ("s3", SpaceRole::Sponsor),
            ("s1", SpaceRole::Participant),
            ("s2", SpaceRole::Facilitator),
        ] {
            for id in ids.iter().rev() {
                snap.hold_space_roles(&mut later, id, [(space, role)]);
            }
        }
        snap.set_later_roles(later);
        snap.loaded();

        let mut sorted = ids;
        sorted.sort_unstable();
        let walked: Vec<&str> = snap.members().map(|m| m.user_id.as_str()).collect();
        assert_eq!(walked, sorted);
        for (i, id) in ids.iter().enumerate() {
            let found = snap.member_by_id(id).map(|m| m.user_id.as_str());
            assert_eq!(found, Some(*id));
            let address = Email::parse(&format!("member{i}@example.com"));
            let by_email = address.ok().and_then(|e| snap.member_by_email(&e));
            assert_eq!(by_email.map(|m| m.user_id.as_str()), Some(*id));
            let member = snap.member_by_id(id).unwrap_or_else(|| panic!("{id}"));
            let roles: Vec<(String, SpaceRole)> = snap
                .space_roles_of(member)
                .map(|(space, role)| (space.to_string(), role))
                .collect();
            let expected = [
                ("s1", SpaceRole::Participant),
                ("s2", SpaceRole::Facilitator),
                ("s3", SpaceRole::Sponsor),
            ];
            assert_eq!(roles, expected.map(|(s, r)| (s.to_string(), r)), "{id}");
        }
    }
}
