//! Random organizations, random actors, random sequences of management
//! operations: after every step the invariants of SPEC §3–§7 still hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use proptest::prelude::*;
use roster_core::invite::{
    accept_invitation, expire_invitations, plan_invitations, EmailInput, InviteRequest, Invitee,
};
use roster_core::manage::{
    change_org_role, deactivate, expire_implementation_admin, expired_implementation_admins,
    leave_space, reactivate, remove_implementation_admin, remove_member, remove_space_role,
    set_implementation_admin_enabled, set_space_role,
};
use roster_core::*;

const SPACES: [&str; 4] = ["s0", "s1", "s2", "s3"];

// ---------------------------------------------------------------- generators

#[derive(Clone, Debug)]
struct MemberSpec {
    org_role: Option<OrgRole>,
    active: bool,
    partner: bool,
    ia_duration: IaDuration,
    space_roles: [Option<SpaceRole>; 4],
}

#[derive(Clone, Debug)]
struct OrgSpec {
    spaces: usize,
    seat_limit: Option<u32>,
    allow_ia: bool,
    allowlist: Vec<&'static str>,
    members: Vec<MemberSpec>,
}

#[derive(Clone, Debug)]
enum Op {
    ChangeOrgRole {
        actor: usize,
        target: usize,
        role: Option<OrgRole>,
        duration: Option<IaDuration>,
    },
    Deactivate {
        actor: usize,
        target: usize,
    },
    Reactivate {
        actor: usize,
        target: usize,
    },
    Remove {
        actor: usize,
        target: usize,
    },
    RemoveIa {
        actor: usize,
        target: usize,
    },
    SetSpaceRole {
        actor: usize,
        target: usize,
        space: usize,
        role: SpaceRole,
    },
    RemoveSpaceRole {
        actor: usize,
        target: usize,
        space: usize,
    },
    Invite {
        actor: usize,
        emails: Vec<usize>,
        role: Role,
        spaces: Vec<usize>,
        duration: Option<IaDuration>,
    },
    Accept {
        pick: usize,
    },
    Toggle {
        actor: usize,
        enabled: bool,
        confirm: bool,
    },
    Leave {
        user: usize,
        space: usize,
    },
    Advance {
        days: i64,
    },
    ExpiryJob,
}

fn org_role() -> impl Strategy<Value = Option<OrgRole>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some(OrgRole::Owner)),
        2 => Just(Some(OrgRole::Admin)),
        1 => Just(Some(OrgRole::ImplementationAdmin)),
    ]
}

fn space_role() -> impl Strategy<Value = SpaceRole> {
    prop::sample::select(SpaceRole::ALL.to_vec())
}

fn duration() -> impl Strategy<Value = IaDuration> {
    prop::sample::select(IaDuration::ALL.to_vec())
}

fn member_spec() -> impl Strategy<Value = MemberSpec> {
    (
        org_role(),
        prop::bool::weighted(0.85),
        any::<bool>(),
        duration(),
        prop::array::uniform4(prop::option::weighted(0.4, space_role())),
    )
        .prop_map(
            |(org_role, active, partner, ia_duration, space_roles)| MemberSpec {
                org_role,
                active,
                partner,
                ia_duration,
                space_roles,
            },
        )
}

fn org_spec() -> impl Strategy<Value = OrgSpec> {
    (
        2usize..=4,
        prop::option::weighted(0.7, 0u32..12),
        prop::bool::weighted(0.7),
        prop::sample::select(vec![
            vec!["example.com"],
            vec!["*.partner.io"],
            vec!["example.com", "*.partner.io"],
        ]),
        prop::collection::vec(member_spec(), 1..8),
    )
        .prop_map(
            |(spaces, seat_limit, allow_ia, allowlist, members)| OrgSpec {
                spaces,
                seat_limit,
                allow_ia,
                allowlist,
                members,
            },
        )
}

/// A role with its duration; one time in ten the duration is deliberately
/// wrong (missing for implementation_admin, present for the others).
fn role_and_duration<R: Clone + std::fmt::Debug + 'static>(
    roles: impl Strategy<Value = R>,
    is_ia: fn(&R) -> bool,
) -> impl Strategy<Value = (R, Option<IaDuration>)> {
    (roles, duration(), prop::bool::weighted(0.1)).prop_map(move |(role, d, wrong)| {
        let dur = if is_ia(&role) != wrong { Some(d) } else { None };
        (role, dur)
    })
}

fn invite_role() -> impl Strategy<Value = Role> {
    prop_oneof![
        1 => Just(Role::Org(OrgRole::Owner)),
        2 => Just(Role::Org(OrgRole::Admin)),
        2 => Just(Role::Org(OrgRole::ImplementationAdmin)),
        5 => space_role().prop_map(Role::Space),
    ]
}

const ACTOR: std::ops::Range<usize> = 0..64;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (ACTOR, ACTOR, role_and_duration(org_role(), |r| *r == Some(OrgRole::ImplementationAdmin)))
            .prop_map(|(actor, target, (role, duration))| Op::ChangeOrgRole { actor, target, role, duration }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Deactivate { actor, target }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Reactivate { actor, target }),
        2 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::Remove { actor, target }),
        1 => (ACTOR, ACTOR).prop_map(|(actor, target)| Op::RemoveIa { actor, target }),
        4 => (ACTOR, ACTOR, 0usize..4, space_role())
            .prop_map(|(actor, target, space, role)| Op::SetSpaceRole { actor, target, space, role }),
        2 => (ACTOR, ACTOR, 0usize..4)
            .prop_map(|(actor, target, space)| Op::RemoveSpaceRole { actor, target, space }),
        4 => (
            ACTOR,
            prop::collection::vec(0usize..EMAIL_POOL, 1..4),
            role_and_duration(invite_role(), |r| *r == Role::Org(OrgRole::ImplementationAdmin)),
            prop::collection::vec(0usize..4, 1..3),
        )
            .prop_map(|(actor, emails, (role, duration), spaces)| Op::Invite { actor, emails, role, spaces, duration }),
        4 => (0usize..64).prop_map(|pick| Op::Accept { pick }),
        1 => (ACTOR, any::<bool>(), any::<bool>())
            .prop_map(|(actor, enabled, confirm)| Op::Toggle { actor, enabled, confirm }),
        1 => (ACTOR, 0usize..4).prop_map(|(user, space)| Op::Leave { user, space }),
        1 => (0i64..45).prop_map(|days| Op::Advance { days }),
        1 => Just(Op::ExpiryJob),
    ]
}

// ---------------------------------------------------------------- the world

const EMAIL_POOL: usize = 16;

/// Candidate addresses for invitations: new people on allowed and
/// disallowed domains, existing members, one typo.
fn pool_email(i: usize) -> String {
    match i {
        0..=3 => format!("new{i}@example.com"),
        4..=6 => format!("new{i}@eu.partner.io"),
        7 => "new7@partner.io".into(),
        8 => "new8@elsewhere.org".into(),
        9 => "not an email@@".into(),
        _ => {
            let m = i - 10;
            if m & 1 == 0 {
                format!("m{m}@example.com")
            } else {
                format!("m{m}@eu.partner.io")
            }
        }
    }
}

struct World {
    snap: OrgSnapshot,
    now: Timestamp,
    spaces: usize,
    /// Every user id ever seen, plus a stranger: actors and targets.
    users: Vec<String>,
    /// Invitation ids, with whether their planner held `owner.assign`.
    planned_by_owner: BTreeMap<String, bool>,
    next_id: u64,
}

fn build(spec: &OrgSpec) -> World {
    let settings = OrgSettings {
        allow_implementation_admin: spec.allow_ia,
        seat_limit: spec.seat_limit,
        ia_domains: DomainAllowlist::parse_all(spec.allowlist.iter().copied()).unwrap(),
        ..OrgSettings::default()
    };
    let mut snap = OrgSnapshot::new("org".into(), "Org".into(), settings);
    for space in &SPACES[..spec.spaces] {
        snap.add_space(Space {
            id: (*space).into(),
            name: (*space).into(),
        });
    }
    let now = common::now();
    let mut users = vec!["stranger".to_string()];
    for (i, m) in spec.members.iter().enumerate() {
        let id = format!("m{i}");
        let domain = if m.partner || i & 1 == 1 {
            "eu.partner.io"
        } else {
            "example.com"
        };
        let mut member = Member::new(
            id.clone(),
            Email::parse(&format!("m{i}@{domain}")).unwrap(),
            id.clone(),
        );
        // The first member is always an active Owner.
        member.org_role = if i == 0 {
            Some(OrgRole::Owner)
        } else {
            m.org_role
        };
        if !(i == 0 || m.active) {
            member.status = MemberStatus::Deactivated;
        }
        if member.org_role == Some(OrgRole::ImplementationAdmin) {
            member.ia = Some(IaAssignment::new(
                m.ia_duration,
                now - Duration::days(10),
                Some("m0".into()),
            ));
        }
        snap.add_member(member);
        for (s, role) in m.space_roles.iter().enumerate().take(spec.spaces) {
            if let Some(role) = role {
                snap.load_space_role(&id, SPACES[s], *role);
            }
        }
        users.push(id);
    }
    World {
        snap,
        now,
        spaces: spec.spaces,
        users,
        planned_by_owner: BTreeMap::new(),
        next_id: 0,
    }
}

fn allowed(
    snap: &OrgSnapshot,
    actor: &str,
    action: Action,
    resource: Resource<'_>,
    now: Timestamp,
) -> bool {
    decide(snap, actor, action, resource, now).allowed
}

fn manages_space(snap: &OrgSnapshot, actor: &str, space: &str, now: Timestamp) -> bool {
    allowed(
        snap,
        actor,
        Action::MembersChangeRole,
        Resource::Organization,
        now,
    ) || allowed(
        snap,
        actor,
        Action::MembersManage,
        Resource::Space(space),
        now,
    )
}

fn active_owners(snap: &OrgSnapshot, now: Timestamp) -> BTreeSet<String> {
    snap.members()
        .filter(|m| m.is_active() && m.effective_org_role(now) == Some(OrgRole::Owner))
        .map(|m| m.user_id.clone())
        .collect()
}

fn occupied(snap: &OrgSnapshot, now: Timestamp) -> (Option<u32>, u32) {
    let u = snap.seat_usage(now);
    (u.limit, u.used + u.reserved)
}

/// What one step did, for the checks.
struct Step {
    actor: Option<String>,
    effects: Vec<Effect>,
    /// For an accepted invitation: the invitation.
    accepted: Option<Invitation>,
}

impl World {
    fn user(&self, i: usize) -> String {
        self.users[i % self.users.len()].clone()
    }

    /// Half the time a member matching `pred` (when there is one), else anyone.
    fn user_where(&self, i: usize, pred: impl Fn(&Member) -> bool) -> String {
        let mut matching: Vec<&str> = self
            .snap
            .members()
            .filter(|m| pred(m))
            .map(|m| m.user_id.as_str())
            .collect();
        matching.sort_unstable();
        if i & 1 == 0 && !matching.is_empty() {
            matching[(i / 2) % matching.len()].to_owned()
        } else {
            self.user(i / 2)
        }
    }

    /// Targets: half the time a member, else anyone (strangers, the removed).
    fn target(&self, i: usize) -> String {
        self.user_where(i, |_| true)
    }

    /// Actors: half the time someone with an org role or a Program Admin.
    fn actor(&self, i: usize) -> String {
        let now = self.now;
        self.user_where(i, |m| {
            m.is_active()
                && (m.effective_org_role(now).is_some()
                    || self
                        .snap
                        .space_roles_of(m)
                        .any(|(_, r)| r == SpaceRole::ProgramAdmin))
        })
    }

    fn space(&self, i: usize) -> &'static str {
        SPACES[i % self.spaces]
    }

    /// Runs one operation; `Ok(None)` when it was refused (a refusal is
    /// always fine), `Ok(Some(step))` when it succeeded.
    fn run(&mut self, op: &Op) -> Option<Step> {
        let snap = &self.snap;
        let now = self.now;
        let ok = |actor: &str, r: Result<Vec<Effect>, RuleError>| {
            r.ok().map(|effects| Step {
                actor: Some(actor.to_owned()),
                effects,
                accepted: None,
            })
        };
        match op {
            Op::ChangeOrgRole {
                actor,
                target,
                role,
                duration,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                let step = ok(
                    &a,
                    change_org_role(snap, Actor::User(&a), &t, *role, *duration, now),
                );
                if let Some(step) = &step {
                    if !step.effects.is_empty() {
                        let before = snap.member(&t).unwrap();
                        assert!(
                            !(*role == Some(OrgRole::Owner)
                                && before.org_role == Some(OrgRole::ImplementationAdmin)),
                            "an Implementation Admin was made Owner"
                        );
                    }
                }
                step
            }
            Op::Deactivate { actor, target } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                ok(&a, deactivate(snap, Actor::User(&a), &t, now))
            }
            Op::Reactivate { actor, target } => {
                let (a, t) = (
                    self.actor(*actor),
                    self.user_where(*target, |m| !m.is_active()),
                );
                ok(&a, reactivate(snap, Actor::User(&a), &t, now))
            }
            Op::Remove { actor, target } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                ok(&a, remove_member(snap, Actor::User(&a), &t, now))
            }
            Op::RemoveIa { actor, target } => {
                let (a, t) = (
                    self.actor(*actor),
                    self.user_where(*target, |m| {
                        m.org_role == Some(OrgRole::ImplementationAdmin)
                    }),
                );
                ok(
                    &a,
                    remove_implementation_admin(snap, Actor::User(&a), &t, now),
                )
            }
            Op::SetSpaceRole {
                actor,
                target,
                space,
                role,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                ok(
                    &a,
                    set_space_role(snap, Actor::User(&a), self.space(*space), &t, *role, now),
                )
            }
            Op::RemoveSpaceRole {
                actor,
                target,
                space,
            } => {
                let (a, t) = (self.actor(*actor), self.target(*target));
                ok(
                    &a,
                    remove_space_role(snap, Actor::User(&a), self.space(*space), &t, now)
                        .map(|r| r.effects),
                )
            }
            Op::Invite {
                actor,
                emails,
                role,
                spaces,
                duration,
            } => {
                let a = self.actor(*actor);
                let space_ids: Vec<String> = match role {
                    Role::Org(_) => Vec::new(),
                    Role::Space(_) => {
                        let mut v: Vec<String> =
                            spaces.iter().map(|s| self.space(*s).to_owned()).collect();
                        v.dedup();
                        v
                    }
                };
                let request = InviteRequest {
                    emails: EmailInput::List(emails.iter().map(|i| pool_email(*i)).collect()),
                    role: *role,
                    space_ids: space_ids.clone(),
                    duration: *duration,
                    message: None,
                };
                let mut counter = self.next_id;
                let mut new_id = || {
                    counter += 1;
                    format!("inv{counter}")
                };
                let plan = plan_invitations(
                    snap,
                    Actor::User(&a),
                    &request,
                    now,
                    Duration::days(14),
                    &mut new_id,
                );
                self.next_id = counter;
                let plan = plan.ok()?;
                // Authorization at planning time.
                match role {
                    Role::Org(r) => {
                        assert!(allowed(
                            snap,
                            &a,
                            Action::MembersInvite,
                            Resource::Organization,
                            now
                        ));
                        if *r == OrgRole::Owner {
                            assert!(
                                allowed(snap, &a, Action::OwnerAssign, Resource::Organization, now),
                                "{a} invited an Owner without owner.assign"
                            );
                        }
                        if *r == OrgRole::ImplementationAdmin {
                            assert!(snap.settings.allow_implementation_admin);
                            for inv in &plan.invitations {
                                assert!(snap.settings.ia_domains.allows(&inv.email));
                            }
                        }
                    }
                    Role::Space(_) => {
                        for s in &space_ids {
                            assert!(manages_space(snap, &a, s, now), "{a} invited into {s}");
                        }
                    }
                }
                let owner = allowed(snap, &a, Action::OwnerAssign, Resource::Organization, now);
                for inv in &plan.invitations {
                    self.planned_by_owner.insert(inv.id.clone(), owner);
                }
                Some(Step {
                    actor: Some(a),
                    effects: plan.effects,
                    accepted: None,
                })
            }
            Op::Accept { pick } => {
                let mut open: Vec<&Invitation> = snap.pending_invitations().collect();
                if open.is_empty() {
                    return None;
                }
                open.sort_by(|a, b| a.id.cmp(&b.id));
                let inv = open[pick % open.len()].clone();
                let user_id = snap
                    .member_by_email(&inv.email)
                    .map(|m| m.user_id.clone())
                    .unwrap_or_else(|| format!("u-{}", inv.email));
                let invitee = Invitee {
                    user_id: user_id.clone(),
                    name: user_id.clone(),
                };
                let effects = accept_invitation(snap, &inv.id, &invitee, now).ok()?;
                if !self.users.contains(&user_id) {
                    self.users.push(user_id.clone());
                }
                Some(Step {
                    actor: Some(user_id),
                    effects,
                    accepted: Some(inv),
                })
            }
            Op::Toggle {
                actor,
                enabled,
                confirm,
            } => {
                let a = self.actor(*actor);
                let outcome = set_implementation_admin_enabled(
                    snap,
                    Actor::User(&a),
                    *enabled,
                    *confirm,
                    now,
                )
                .ok()?;
                Some(Step {
                    actor: Some(a),
                    effects: outcome.effects,
                    accepted: None,
                })
            }
            Op::Leave { user, space } => {
                let space_id = self.space(*space);
                let u = self.user_where(*user, |m| {
                    self.snap.space_role(m, space_id) == Some(SpaceRole::Participant)
                });
                ok(&u, leave_space(snap, &u, self.space(*space), true, now))
            }
            Op::Advance { days } => {
                self.now += Duration::days(*days);
                Some(Step {
                    actor: None,
                    effects: Vec::new(),
                    accepted: None,
                })
            }
            Op::ExpiryJob => {
                let mut effects = Vec::new();
                for m in expired_implementation_admins(snap, now) {
                    effects.extend(expire_implementation_admin(snap, &m.user_id));
                }
                effects.extend(
                    expire_invitations(snap, now)
                        .into_iter()
                        .map(Effect::PutInvitation),
                );
                Some(Step {
                    actor: None,
                    effects,
                    accepted: None,
                })
            }
        }
    }
}

/// The per-effect authorization: whoever made an effect held the permission
/// it needs (acceptance is checked by [`check_accept`]).
fn check_effects(prev: &OrgSnapshot, at: Timestamp, step: &Step, op: &Op) {
    let Some(actor) = step.actor.as_deref() else {
        return; // the system's own jobs
    };
    let has = |action: Action| allowed(prev, actor, action, Resource::Organization, at);
    for e in &step.effects {
        match e {
            Effect::SetOrgRole { role, ia, user_id } => {
                assert!(
                    has(Action::MembersChangeRole),
                    "{actor} set an org role: {op:?}"
                );
                if *role == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} made an Owner: {op:?}");
                }
                if *role == Some(OrgRole::ImplementationAdmin) {
                    assert!(prev.settings.allow_implementation_admin);
                    assert!(prev
                        .settings
                        .ia_domains
                        .allows(&prev.member(user_id).unwrap().email));
                    assert!(ia.is_some());
                }
                let target = prev.member(user_id).unwrap();
                if target.effective_org_role(at) == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} changed an Owner: {op:?}");
                }
            }
            Effect::SetStatus { user_id, status } => {
                assert!(
                    has(Action::MembersDeactivate),
                    "{actor} set a status: {op:?}"
                );
                if prev.member(user_id).unwrap().org_role == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} set an Owner {status:?}");
                }
            }
            Effect::RemoveMember { user_id } => {
                let by_toggle = matches!(op, Op::Toggle { .. });
                assert!(
                    has(if by_toggle {
                        Action::SettingsManage
                    } else {
                        Action::MembersRemove
                    }),
                    "{actor} removed {user_id}: {op:?}"
                );
                if prev.member(user_id).unwrap().org_role == Some(OrgRole::Owner) {
                    assert!(has(Action::OwnerAssign), "{actor} removed an Owner");
                }
            }
            Effect::SetSpaceRole {
                space_id,
                role,
                user_id,
            } => {
                if matches!(op, Op::Leave { .. }) {
                    assert_eq!(user_id, actor);
                    assert_eq!(*role, None);
                    assert_eq!(
                        prev.space_role(prev.member(actor).unwrap(), space_id),
                        Some(SpaceRole::Participant)
                    );
                } else {
                    assert!(
                        manages_space(prev, actor, space_id, at),
                        "{actor} set a role in {space_id}: {op:?}"
                    );
                }
            }
            Effect::SetSettings(_) => {
                assert!(has(Action::SettingsManage), "{actor} changed settings");
            }
            Effect::AddMember(_) => panic!("only acceptance adds members: {op:?}"),
            Effect::RevokeTokens { .. } | Effect::PutInvitation(_) => {}
            other => panic!("unexpected effect {other:?} from {op:?}"),
        }
    }
}

trait InvitationExt {
    fn role_org(&self) -> Option<OrgRole>;
}

impl InvitationExt for Invitation {
    fn role_org(&self) -> Option<OrgRole> {
        match self.role {
            Role::Org(r) => Some(r),
            Role::Space(_) => None,
        }
    }
}

fn check_state(snap: &OrgSnapshot, now: Timestamp) {
    assert!(
        !active_owners(snap, now).is_empty(),
        "no active Owner is left"
    );
    for m in snap.members() {
        assert_eq!(
            m.ia.is_some(),
            m.org_role == Some(OrgRole::ImplementationAdmin),
            "ia terms without the role or the reverse: {m:?}"
        );
        assert!(
            snap.member_by_email(&m.email).map(|x| &x.user_id) == Some(&m.user_id),
            "email index out of step for {}",
            m.user_id
        );
    }
}

fn check_step(world: &World, prev: &OrgSnapshot, prev_now: Timestamp, op: &Op, step: &Step) {
    let snap = &world.snap;
    let now = world.now;
    check_state(snap, now);

    // Seats: never pushed over the limit by a step.
    let (limit, before) = occupied(prev, prev_now);
    let (_, after) = occupied(snap, now);
    if let Some(limit) = limit {
        if before <= limit {
            assert!(
                after <= limit,
                "seats {before} -> {after} over the limit {limit} after {op:?}"
            );
        }
    }

    // Only Owners (or an Owner's invitation) produce Owners.
    let new_owners: Vec<String> = active_owners(snap, now)
        .difference(&active_owners(prev, prev_now))
        .cloned()
        .collect();
    if !new_owners.is_empty() {
        let actor = step
            .actor
            .as_deref()
            .expect("owners appear only by someone's act");
        match &step.accepted {
            Some(inv) => {
                assert_eq!(inv.role, Role::Org(OrgRole::Owner), "{op:?}");
                assert_eq!(
                    world.planned_by_owner.get(&inv.id),
                    Some(&true),
                    "an Owner invitation planned without owner.assign"
                );
            }
            None => assert!(
                allowed(
                    prev,
                    actor,
                    Action::OwnerAssign,
                    Resource::Organization,
                    prev_now
                ),
                "{actor} (not an Owner) produced the Owners {new_owners:?} by {op:?}"
            ),
        }
    }
    if step.accepted.is_none() {
        check_effects(prev, prev_now, step, op);
    } else {
        check_accept(world, prev, prev_now, step);
    }
}

fn check_accept(world: &World, prev: &OrgSnapshot, at: Timestamp, step: &Step) {
    let inv = step.accepted.as_ref().unwrap();
    for e in &step.effects {
        match e {
            Effect::AddMember(m) => {
                assert!(prev.member(&m.user_id).is_none());
                assert_eq!(m.email, inv.email);
                assert_eq!(m.org_role, inv.role_org(), "accepted role");
                if m.org_role == Some(OrgRole::Owner) {
                    assert_eq!(world.planned_by_owner.get(&inv.id), Some(&true));
                }
                if m.org_role == Some(OrgRole::ImplementationAdmin) {
                    assert!(prev.settings.allow_implementation_admin);
                    assert!(prev.settings.ia_domains.allows(&m.email));
                    let ia = m.ia.as_ref().unwrap();
                    assert_eq!(ia.assigned_at, at);
                    assert_eq!(ia.expires_at, inv.duration.unwrap().expires_at(at));
                    assert_eq!(ia.invited_by, inv.invited_by);
                }
            }
            Effect::SetSpaceRole { space_id, role, .. } => {
                assert!(inv.space_ids.contains(space_id));
                assert_eq!(Role::Space(role.unwrap()), inv.role);
            }
            Effect::PutInvitation(done) => {
                assert_eq!(done.id, inv.id);
                assert_eq!(done.status, InvitationStatus::Accepted);
            }
            other => panic!("unexpected effect of acceptance: {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn management_never_breaks_the_invariants(
        spec in org_spec(),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        let mut world = build(&spec);
        check_state(&world.snap, world.now);
        for op in &ops {
            let prev = world.snap.clone();
            let prev_now = world.now;
            let Some(step) = world.run(op) else { continue };
            for e in &step.effects {
                world.snap.apply(e);
            }
            check_step(&world, &prev, prev_now, op, &step);
        }
    }
}
