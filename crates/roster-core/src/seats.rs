//! Seat accounting (SPEC §3): one person, one seat; pending invitations
//! reserve one; nothing may take used + reserved above the limit.

use rustc_hash::FxHashSet;

use crate::email::Email;
use crate::ids::UserId;
use crate::role::Role;
use crate::snapshot::{Member, OrgSnapshot, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatUsage {
    pub limit: Option<u32>,
    pub used: u32,
    pub reserved: u32,
    /// The user ids holding a seat, sorted.
    pub holders: Vec<UserId>,
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

    pub fn seat_usage(&self, now: Timestamp) -> SeatUsage {
        let mut holders: Vec<UserId> = self
            .members()
            .filter(|m| self.uses_seat(m, now))
            .map(|m| m.user_id.clone())
            .collect();
        holders.sort_unstable();
        let reserved = self.reserving_emails(now).len() as u32;
        SeatUsage {
            limit: self.settings.seat_limit,
            used: holders.len() as u32,
            reserved,
            holders,
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
