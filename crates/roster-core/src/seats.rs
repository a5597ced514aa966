//! Seat accounting (SPEC §3): one person, one seat; pending invitations
//! reserve one; nothing may take used + reserved above the limit.

use rustc_hash::FxHashSet;

use crate::email::Email;
use crate::ids::UserId;
use crate::role::Role;
use crate::snapshot::{in_id_order, Member, OrgSnapshot, Timestamp};

/// Seats used and reserved against the limit. The holders themselves are
/// [`OrgSnapshot::seat_holders`]: a write that only asks whether a seat is
/// free counts them, and lists and sorts nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeatUsage {
    pub limit: Option<u32>,
    pub used: u32,
    pub reserved: u32,
}

impl SeatUsage {
    /// Seats left; `None` when unlimited. Never negative: an organization
    /// whose limit was lowered below its usage has zero available.
    pub fn available(&self) -> Option<u32> {
        self.limit
            .map(|limit| limit.saturating_sub(self.used.saturating_add(self.reserved)))
    }

    /// Whether `extra` more seats fit under the limit.
    pub fn fits(&self, extra: u32) -> bool {
        extra == 0 || self.available().is_none_or(|available| extra <= available)
    }
}

impl OrgSnapshot {
    /// Does this member use a seat at `now`? Active, and holding at least one
    /// seat-using role anywhere. An expired Implementation Admin holds nothing.
    pub fn uses_seat(&self, member: &Member, now: Timestamp) -> bool {
        if !member.is_active() || member.ia_expired(now) {
            return false;
        }
        let policy = self.settings.seat_policy;
        member
            .effective_org_role(now)
            .is_some_and(|r| policy.uses_seat(Role::Org(r)))
            || self
                .space_role_indexes(member)
                .any(|(_, r)| policy.uses_seat(Role::Space(r)))
    }

    /// Whether `extra` more seats fit under the limit at `now`. Without a
    /// limit neither the seats nor `extra` are counted: at a million
    /// members a count is a walk over all of them, which a write need not
    /// make.
    pub fn seats_fit(&self, extra: impl FnOnce() -> u32, now: Timestamp) -> bool {
        self.settings.seat_limit.is_none() || self.seat_usage(now).fits(extra())
    }

    pub fn seat_usage(&self, now: Timestamp) -> SeatUsage {
        let used = self.members().filter(|m| self.uses_seat(m, now)).count();
        self.usage_of(used, now)
    }

    /// The user ids holding a seat at `now`, sorted, and the usage they
    /// add up to (one walk over the members for both).
    pub fn seat_holders(&self, now: Timestamp) -> (SeatUsage, Vec<&UserId>) {
        let holders: Vec<&Member> = self.members().filter(|m| self.uses_seat(m, now)).collect();
        let holders: Vec<&UserId> = in_id_order(holders, |&m| m.user_id.as_str())
            .into_iter()
            .map(|m| &m.user_id)
            .collect();
        (self.usage_of(holders.len(), now), holders)
    }

    fn usage_of(&self, used: usize, now: Timestamp) -> SeatUsage {
        SeatUsage {
            limit: self.settings.seat_limit,
            used: u32::try_from(used).unwrap_or(u32::MAX),
            reserved: u32::try_from(self.reserving_emails(now).len()).unwrap_or(u32::MAX),
        }
    }

    /// Emails whose open invitation reserves a seat: a seat-using role, for
    /// someone who does not already hold a seat. One per person.
    pub(crate) fn reserving_emails(&self, now: Timestamp) -> FxHashSet<&Email> {
        let policy = self.settings.seat_policy;
        self.pending_invitations()
            .filter(|inv| inv.is_open(now) && policy.uses_seat(inv.role))
            .filter(|inv| {
                !self
                    .member_by_email(&inv.email)
                    .is_some_and(|m| self.uses_seat(m, now))
            })
            .map(|inv| &inv.email)
            .collect()
    }
}
