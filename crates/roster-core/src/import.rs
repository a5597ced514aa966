//! Bringing an existing organization in (SPEC §17): a list of people,
//! checked row by row against the same rules as an invitation or a role
//! change, applied all or nothing. `invite` sends invitations (the normal
//! path); `add` (the platform only, for migrations) makes the members
//! directly, with no email.

use std::collections::BTreeMap;

use chrono::{Duration, SubsecRound};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::access::{authorize_org, Actor, Grant};
use crate::action::Action;
use crate::email::Email;
use crate::error::RuleError;
use crate::guards::require_owner;
use crate::ids::{BatchId, InvitationId, SpaceId};
use crate::named;
use crate::org::Account;
use crate::outcome::{Change, Outcome};
use crate::role::{OrgRole, Role, SpaceRole};
use crate::snapshot::{IaAssignment, Invitation, InvitationStatus, Member, OrgSnapshot, Timestamp};
use crate::space_roles::authorize_space_roles;
use crate::IaDuration;

/// The most rows one import takes (API.md).
pub const MAX_ROWS: usize = 50_000;

named! {
    /// How an import applies (API.md "Import").
    pub enum ImportMode("import mode") {
        Invite = "invite",
        Add = "add",
    }
}

/// A space named by id or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpaceRef {
    Id(SpaceId),
    Name(String),
    /// A CSV cell: an id of this organization's if it is one, else a name.
    IdOrName(String),
}

/// One row as read (JSON: one member; CSV: one line, the same address on
/// several lines for several space roles). Rows count from 1.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ImportRow {
    pub row: usize,
    pub email: String,
    pub name: Option<String>,
    pub org_role: Option<OrgRole>,
    pub duration: Option<IaDuration>,
    pub space_roles: Vec<(SpaceRef, SpaceRole)>,
    /// What the row could not say (a space without a role, an unknown
    /// name): the reason, found while reading it.
    pub unreadable: Option<String>,
}

/// A row that failed, and why (`code` as elsewhere in the API).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RejectedRow {
    pub row: usize,
    pub email: String,
    pub code: &'static str,
    pub reason: String,
}

/// What an import did (or, dry, would do).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ImportResult {
    /// `add`: the people who became members.
    pub created: Vec<Email>,
    /// `invite`: the invitations sent.
    pub invited: Vec<InvitationId>,
    /// Already members: left as they are.
    pub unchanged: Vec<Email>,
}

/// One person of the import, from all their rows.
struct Person {
    email: Email,
    rows: Vec<usize>,
    name: Option<String>,
    org_role: Option<OrgRole>,
    duration: Option<IaDuration>,
    /// By space: one role each.
    space_roles: BTreeMap<SpaceId, SpaceRole>,
    /// Whether any row names a space role, found or not (a space that is
    /// not found is that row's failure, not a missing role).
    names_space_role: bool,
}

/// Collects the failing rows; the import fails as a whole when any does.
#[derive(Default)]
struct Refusals(Vec<RejectedRow>);

impl Refusals {
    fn add(&mut self, rows: &[usize], email: &str, code: &'static str, reason: impl Into<String>) {
        let reason = reason.into();
        for row in rows {
            self.0.push(RejectedRow {
                row: *row,
                email: email.to_owned(),
                code,
                reason: reason.clone(),
            });
        }
    }
}

/// Which code names a refused import: the first of these any row has.
const PRECEDENCE: [&str; 6] = [
    "validation_failed",
    "forbidden",
    "not_found",
    "implementation_admin_disabled",
    "domain_not_allowed",
    "seat_limit_reached",
];

fn refused(mut rejected: Vec<RejectedRow>) -> RuleError {
    rejected.sort_by_key(|r| r.row);
    let code = PRECEDENCE
        .into_iter()
        .find(|code| rejected.iter().any(|r| r.code == *code))
        .unwrap_or("validation_failed");
    RuleError::Rows { code, rejected }
}

fn resolve_space(snapshot: &OrgSnapshot, space: &SpaceRef) -> Result<SpaceId, String> {
    match space {
        SpaceRef::Id(id) => snapshot
            .space(id)
            .map(|s| s.id.clone())
            .ok_or_else(|| format!("no space with id {id}")),
        SpaceRef::IdOrName(either) => match snapshot.space(&SpaceId::from(either.as_str())) {
            Some(space) => Ok(space.id.clone()),
            None => resolve_space(snapshot, &SpaceRef::Name(either.clone())),
        },
        SpaceRef::Name(name) => {
            let mut found = snapshot.spaces().filter(|s| s.name == *name);
            match (found.next(), found.next()) {
                (Some(space), None) => Ok(space.id.clone()),
                (Some(_), Some(_)) => Err(format!("several spaces are named {name:?}: use its id")),
                (None, _) => Err(format!("no space named {name:?}")),
            }
        }
    }
}

/// Reads the rows into people: every row's own problems, and rows of one
/// address that disagree.
fn people(snapshot: &OrgSnapshot, rows: &[ImportRow], refusals: &mut Refusals) -> Vec<Person> {
    let mut by_email: FxHashMap<Email, usize> = FxHashMap::default();
    let mut people: Vec<Person> = Vec::new();
    for row in rows {
        let at = [row.row];
        let email = match Email::parse(&row.email) {
            Ok(email) => email,
            Err(e) => {
                refusals.add(&at, &row.email, "validation_failed", e.to_string());
                continue;
            }
        };
        if let Some(why) = &row.unreadable {
            refusals.add(&at, &row.email, "validation_failed", why.clone());
            continue;
        }
        let index = *by_email.entry(email.clone()).or_insert_with(|| {
            people.push(Person {
                email: email.clone(),
                rows: Vec::new(),
                name: None,
                org_role: None,
                duration: None,
                space_roles: BTreeMap::new(),
                names_space_role: false,
            });
            people.len() - 1
        });
        let person = &mut people[index];
        person.rows.push(row.row);
        person.name = person.name.take().or_else(|| row.name.clone());
        for (wanted, current, field) in [
            (
                row.org_role.map(|r| r.as_str()),
                person.org_role.map(|r| r.as_str()),
                "org_role",
            ),
            (
                row.duration.map(|d| d.as_str()),
                person.duration.map(|d| d.as_str()),
                "duration",
            ),
        ] {
            if let (Some(wanted), Some(current)) = (wanted, current) {
                if wanted != current {
                    refusals.add(
                        &at,
                        &row.email,
                        "validation_failed",
                        format!("{field} differs from an earlier row of this address"),
                    );
                }
            }
        }
        person.org_role = person.org_role.or(row.org_role);
        person.duration = person.duration.or(row.duration);
        person.names_space_role |= !row.space_roles.is_empty();
        for (space, role) in &row.space_roles {
            match resolve_space(snapshot, space) {
                Err(why) => refusals.add(&at, &row.email, "not_found", why),
                Ok(id) => match person.space_roles.get(&id) {
                    Some(held) if held != role => refusals.add(
                        &at,
                        &row.email,
                        "validation_failed",
                        format!("a second role in the same space ({} and {})", held, role),
                    ),
                    _ => {
                        person.space_roles.insert(id, *role);
                    }
                },
            }
        }
    }
    for person in &people {
        let email = person.email.as_str();
        let ia = person.org_role == Some(OrgRole::ImplementationAdmin);
        if ia != person.duration.is_some() {
            let why = if ia {
                "a duration is required for implementation_admin"
            } else {
                "a duration is only for implementation_admin"
            };
            refusals.add(&person.rows, email, "validation_failed", why);
        }
        if person.org_role.is_none() && !person.names_space_role {
            refusals.add(
                &person.rows,
                email,
                "validation_failed",
                "a row needs an org_role or a space role",
            );
        }
    }
    people
}

/// May the actor grant what this person's rows ask for? (`invite` mode: the
/// caller's invitation rights.)
fn may_grant(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    person: &Person,
    now: Timestamp,
) -> Result<(), RuleError> {
    if let Some(role) = person.org_role {
        authorize_org(snapshot, actor, Action::MembersInvite, now)?;
        if role == OrgRole::Owner {
            require_owner(snapshot, actor, now, "only an Owner may invite an Owner")?;
        }
    }
    for space in person.space_roles.keys() {
        authorize_space_roles(snapshot, actor, space, now)?;
    }
    Ok(())
}

/// The person as a member would be after the import (for the seat count).
fn as_member(snapshot: &OrgSnapshot, person: &Person) -> Member {
    let mut member = Member::new(
        crate::ids::UserId::from(""),
        person.email.clone(),
        String::new(),
    );
    member.org_role = person.org_role;
    for (space, role) in &person.space_roles {
        if let Some(index) = snapshot.space_index(space.as_str()) {
            member.set_space_role(index, Some(*role));
        }
    }
    member
}

/// Fresh ids and the invitations' lifetime, made at the edge.
pub struct InviteTerms<'a> {
    pub batch: BatchId,
    pub invitation: &'a mut dyn FnMut() -> InvitationId,
    pub ttl: Duration,
}

/// Checks every row and plans the import. `accounts` are the people's
/// accounts found or created under the lock (`add` mode).
pub fn import(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    mode: ImportMode,
    rows: &[ImportRow],
    accounts: &FxHashMap<Email, Account>,
    terms: InviteTerms<'_>,
    now: Timestamp,
) -> Result<(Change, ImportResult), RuleError> {
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(RuleError::Validation {
            field: "members",
            message: format!("an import has 1 to {MAX_ROWS} rows"),
        });
    }
    let grant = match mode {
        ImportMode::Add => crate::access::authorize_platform(snapshot, actor).map_err(|_| {
            RuleError::Forbidden("only the platform adds members directly: use mode=invite".into())
        })?,
        ImportMode::Invite => authorize_org(snapshot, actor, Action::MembersInvite, now)
            .or_else(|_| invite_rights_in_a_space(snapshot, actor, now))?,
    };
    let mut refusals = Refusals::default();
    let people = people(snapshot, rows, &mut refusals);
    let mut result = ImportResult::default();
    let mut joining: Vec<&Person> = Vec::new();
    let reserving = snapshot.reserving_emails(now);
    let mut needing_seats: Vec<&Person> = Vec::new();
    for person in &people {
        let email = person.email.as_str();
        if snapshot
            .member_by_email(&person.email)
            .is_some_and(|m| !m.ia_expired(now))
        {
            result.unchanged.push(person.email.clone());
            continue;
        }
        if mode == ImportMode::Invite {
            if let Err(e) = may_grant(snapshot, actor, person, now) {
                refusals.add(&person.rows, email, "forbidden", e.to_string());
                continue;
            }
        }
        if person.org_role == Some(OrgRole::ImplementationAdmin) {
            if !snapshot.settings.allow_implementation_admin {
                refusals.add(
                    &person.rows,
                    email,
                    "implementation_admin_disabled",
                    "the Implementation Admin role is turned off for this organization",
                );
            } else if !snapshot.settings.ia_domains.allows(&person.email) {
                refusals.add(
                    &person.rows,
                    email,
                    "domain_not_allowed",
                    "the domain is not on the Implementation Admin allowlist",
                );
            }
        }
        if !reserving.contains(&person.email)
            && snapshot.uses_seat(&as_member(snapshot, person), now)
        {
            needing_seats.push(person);
        }
        joining.push(person);
    }
    let needed = u32::try_from(needing_seats.len()).unwrap_or(u32::MAX);
    if !snapshot.seats_fit(|| needed, now) {
        for person in needing_seats {
            refusals.add(
                &person.rows,
                person.email.as_str(),
                "seat_limit_reached",
                "no seat is available for everyone this import adds",
            );
        }
    }
    if !refusals.0.is_empty() {
        return Err(refused(refusals.0));
    }
    let mut change = Change::new(grant);
    match mode {
        ImportMode::Add => add(snapshot, &mut change, &joining, accounts, now, &mut result)?,
        ImportMode::Invite => invite(&mut change, &joining, actor, terms, now, &mut result),
    }
    let seen: FxHashSet<&Email> = people.iter().map(|p| &p.email).collect();
    change.push(Outcome::MembersImported {
        mode,
        rows: rows.len(),
        people: seen.len(),
        created: result.created.len(),
        invited: result.invited.len(),
        unchanged: result.unchanged.len(),
    });
    Ok((change, result))
}

/// Someone without `members.invite` may still import people into the spaces
/// they run (a Program Admin); each row is then checked on its own.
fn invite_rights_in_a_space(
    snapshot: &OrgSnapshot,
    actor: &Actor,
    now: Timestamp,
) -> Result<Grant, RuleError> {
    snapshot
        .spaces()
        .find_map(|space| authorize_space_roles(snapshot, actor, &space.id, now).ok())
        .ok_or_else(|| RuleError::Forbidden("you may not invite anyone here".into()))
}

fn add(
    snapshot: &OrgSnapshot,
    change: &mut Change,
    joining: &[&Person],
    accounts: &FxHashMap<Email, Account>,
    now: Timestamp,
    result: &mut ImportResult,
) -> Result<(), RuleError> {
    for person in joining {
        let account = accounts
            .get(&person.email)
            .ok_or(RuleError::NotFound("account"))?;
        // Someone who was an Implementation Admin here and whose time ran
        // out leaves first, as the expiry job would.
        if let Some(stale) = snapshot.member(&account.user_id) {
            crate::implementation_admin::end(change, snapshot, stale, crate::EndReason::Expired);
        }
        let name = person.name.clone().unwrap_or_else(|| account.name.clone());
        change.push(Outcome::MemberAdded {
            member: Member::new(account.user_id.clone(), person.email.clone(), name),
        });
        if let Some(role) = person.org_role {
            let assignment = person
                .duration
                .filter(|_| role == OrgRole::ImplementationAdmin)
                .map(|d| IaAssignment::new(d, now, None));
            change.push(Outcome::RoleChanged {
                user_id: account.user_id.clone(),
                from: None,
                to: Some(role),
                assignment,
                kept_space_roles: Vec::new(),
            });
        }
        for (space, role) in &person.space_roles {
            change.push(Outcome::SpaceRoleSet {
                user_id: account.user_id.clone(),
                space_id: space.clone(),
                from: None,
                to: *role,
            });
        }
        result.created.push(person.email.clone());
    }
    Ok(())
}

fn invite(
    change: &mut Change,
    joining: &[&Person],
    actor: &Actor,
    terms: InviteTerms<'_>,
    now: Timestamp,
    result: &mut ImportResult,
) {
    let expires_at = (now + terms.ttl).trunc_subsecs(0);
    for person in joining {
        // One invitation per role: the org role, and each space role with
        // every space it is for.
        let mut by_role: BTreeMap<SpaceRole, Vec<SpaceId>> = BTreeMap::new();
        for (space, role) in &person.space_roles {
            by_role.entry(*role).or_default().push(space.clone());
        }
        let roles = person
            .org_role
            .map(|r| (Role::Org(r), Vec::new()))
            .into_iter()
            .chain(
                by_role
                    .into_iter()
                    .map(|(r, spaces)| (Role::Space(r), spaces)),
            );
        for (role, space_ids) in roles {
            let invitation = Invitation {
                id: (terms.invitation)(),
                batch_id: terms.batch.clone(),
                email: person.email.clone(),
                role,
                space_ids,
                duration: person
                    .duration
                    .filter(|_| role == Role::Org(OrgRole::ImplementationAdmin)),
                message: None,
                status: InvitationStatus::Pending,
                expires_at,
                invited_by: actor.user_id().cloned(),
                send_count: 1,
                created_at: now,
            };
            result.invited.push(invitation.id.clone());
            change.push(Outcome::InvitationCreated { invitation });
        }
    }
}
