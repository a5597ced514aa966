//! `roster demo`: a believable coaching organization, so a newcomer sees
//! the product from every seat in a minute (SPEC §18): three programs,
//! people in all seven roles, an Implementation Admin whose access ends in
//! two days, a pending invitation, and the audit entries all that wrote.
//! Everything goes through the same use cases as the API.

use chrono::{Duration, Months};
use roster_core::import::{ImportMode, ImportRow, SpaceRef};
use roster_core::invite::{EmailInput, InviteRequest};
use roster_core::org_roles::change_org_role;
use roster_core::{
    Actor, DomainAllowlist, DomainPattern, Email, IaDuration, Name, OrgId, OrgRole, Role,
    SpaceRole, Timestamp, UserId,
};

use crate::app::orgs::NewOrg;
use crate::app::{Ctx, RequestId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The organization the demo made, and one person per role.
pub struct Demo {
    pub org_id: OrgId,
    pub people: Vec<(Role, UserId)>,
}

const DOMAIN: &str = "northwind-coaching.example";
const PARTNER: &str = "implementers.example";
const PROGRAMS: [&str; 3] = [
    "Leadership Accelerator",
    "New Manager Foundations",
    "Executive Coaching Circle",
];

fn address(local: &str, domain: &str) -> String {
    format!("{local}@{domain}")
}

fn row(n: usize, local: &str, name: &str, space_roles: &[(usize, SpaceRole)]) -> ImportRow {
    ImportRow {
        row: n,
        email: address(local, DOMAIN),
        name: Some(name.to_owned()),
        space_roles: space_roles
            .iter()
            .map(|(program, role)| (SpaceRef::Name(PROGRAMS[*program].to_owned()), *role))
            .collect(),
        ..ImportRow::default()
    }
}

/// Fills a fresh database with the demo organization.
pub async fn fill(app: &AppState) -> ApiResult<Demo> {
    let platform = Ctx {
        caller: Caller::Platform,
        request_id: RequestId("demo".into()),
    };
    let org = app
        .create_org(
            &Caller::Platform,
            Some(&platform.request_id),
            NewOrg {
                name: Name::parse("name", "Northwind Coaching")?,
                owner_email: parse(&address("owner", DOMAIN))?,
                owner_name: Some(Name::parse("owner_name", "Demo Owner")?),
                seat_limit: Some(40),
            },
        )
        .await?
        .value;
    let org_id = org.id.clone();
    let owner = org
        .owner
        .map(|o| o.user_id)
        .ok_or_else(|| ApiError::internal("the demo organization has no owner"))?;
    let allowlist = DomainPattern::parse(PARTNER)
        .map_err(|e| ApiError::internal(format!("demo allowlist: {e}")))?;
    app.set_domains(&platform, &org_id, DomainAllowlist::new(vec![allowlist]))
        .await?;
    let as_owner = Ctx {
        caller: Caller::PlatformAs(owner.clone()),
        request_id: RequestId("demo".into()),
    };
    app.set_ia_setting(&as_owner, &org_id, true, false).await?;
    let mut programs = Vec::new();
    for name in PROGRAMS {
        let space = app
            .create_space(&as_owner, &org_id, Name::parse("name", name)?)
            .await?;
        programs.push(space.value.id);
    }
    use SpaceRole::*;
    let mut rows = vec![ImportRow {
        row: 1,
        email: address("admin", DOMAIN),
        name: Some("Demo Admin".into()),
        org_role: Some(OrgRole::Admin),
        ..ImportRow::default()
    }];
    rows.push(row(
        2,
        "program.admin",
        "Demo Program Admin",
        &[(0, ProgramAdmin)],
    ));
    rows.push(row(
        3,
        "facilitator",
        "Demo Facilitator",
        &[(0, Facilitator), (1, Facilitator)],
    ));
    rows.push(row(
        4,
        "participant",
        "Demo Participant",
        &[(0, Participant), (1, Participant)],
    ));
    rows.push(row(5, "sponsor", "Demo Sponsor", &[(2, Sponsor)]));
    for (n, program) in [(6, 0), (7, 0), (8, 1), (9, 1), (10, 2), (11, 2)] {
        rows.push(row(
            n,
            &format!("participant{n}"),
            &format!("Demo Participant {n}"),
            &[(program, Participant)],
        ));
    }
    rows.push(row(
        12,
        "executive.coach",
        "Demo Executive Coach",
        &[(2, Facilitator)],
    ));
    app.import(&platform, &org_id, ImportMode::Add, false, rows)
        .await?;
    let implementer = implementation_admin_ending_soon(app, &org_id, &owner).await?;
    app.invite(
        &as_owner,
        &org_id,
        &InviteRequest {
            emails: EmailInput::Text(address("new.coach", DOMAIN)),
            role: Role::Space(Facilitator),
            space_ids: vec![programs[1].clone()],
            duration: None,
            message: Some("Welcome to the New Manager Foundations team!".into()),
        },
    )
    .await?;
    let members = app
        .list_members(
            &Caller::Platform,
            &org_id,
            &Default::default(),
            &crate::app::PageRequest {
                cursor: None,
                limit: 500,
            },
        )
        .await?
        .items;
    let by_email = |local: &str| -> ApiResult<UserId> {
        let email = address(local, DOMAIN);
        members
            .iter()
            .find(|m| m.email == email)
            .map(|m| m.user_id.clone())
            .ok_or_else(|| ApiError::internal(format!("the demo has no {email}")))
    };
    let people = vec![
        (Role::Org(OrgRole::Owner), owner),
        (Role::Org(OrgRole::Admin), by_email("admin")?),
        (Role::Org(OrgRole::ImplementationAdmin), implementer),
        (Role::Space(ProgramAdmin), by_email("program.admin")?),
        (Role::Space(Facilitator), by_email("facilitator")?),
        (Role::Space(Participant), by_email("participant")?),
        (Role::Space(Sponsor), by_email("sponsor")?),
    ];
    Ok(Demo { org_id, people })
}

fn parse(email: &str) -> ApiResult<Email> {
    Email::parse(email).map_err(|e| ApiError::internal(format!("demo address {email}: {e}")))
}

/// An Implementation Admin from the partner firm (who also facilitates a
/// program), given a month by the Owner a month less two days ago (or two
/// months, where the calendar needs it): their access ends in two days.
async fn implementation_admin_ending_soon(
    app: &AppState,
    org_id: &OrgId,
    owner: &UserId,
) -> ApiResult<UserId> {
    let platform = Ctx {
        caller: Caller::Platform,
        request_id: RequestId("demo".into()),
    };
    let joined = app
        .import(
            &platform,
            org_id,
            ImportMode::Add,
            false,
            vec![ImportRow {
                row: 1,
                email: address("implementer", PARTNER),
                name: Some("Demo Implementation Admin".into()),
                space_roles: vec![(
                    SpaceRef::Name(PROGRAMS[2].to_owned()),
                    SpaceRole::Facilitator,
                )],
                ..ImportRow::default()
            }],
        )
        .await?;
    let user = UserId::from(joined.value.created.first().cloned().unwrap_or_default());
    let (duration, assigned) = ending_in_two_days(app.now());
    let actor = Actor::User(owner.clone());
    app.change_as_of(
        assigned,
        org_id,
        Some(&platform.request_id),
        &Default::default(),
        false,
        |snap, _, now| {
            let change = change_org_role(
                snap,
                &actor,
                &user,
                Some(OrgRole::ImplementationAdmin),
                Some(duration),
                now,
            )?;
            Ok((change, ()))
        },
    )
    .await?;
    Ok(user)
}

/// A duration and a time it was granted at so that it ends two days after
/// `now`. Months are calendar months, clamped to the month's last day, so
/// "1 month" cannot end on March 30 (nothing in February plus a month does);
/// "2 months" from January 30 can: one of the two always fits.
fn ending_in_two_days(now: Timestamp) -> (IaDuration, Timestamp) {
    let ends = now + Duration::days(2);
    [(IaDuration::OneMonth, 1), (IaDuration::TwoMonths, 2)]
        .into_iter()
        .find_map(|(duration, months)| {
            let assigned = ends.checked_sub_months(Months::new(months))?;
            (duration.expires_at(assigned) == Some(ends)).then_some((duration, assigned))
        })
        .unwrap_or_else(|| {
            let assigned = now.checked_sub_months(Months::new(1)).unwrap_or(now);
            (IaDuration::OneMonth, assigned + Duration::days(2))
        })
}

/// A sign-in link for each person (printed by `roster demo`).
pub async fn links(app: &AppState, demo: &Demo) -> ApiResult<Vec<(Role, String)>> {
    let platform = Ctx {
        caller: Caller::Platform,
        request_id: RequestId("demo".into()),
    };
    let mut links = Vec::new();
    for (role, user) in &demo.people {
        let link = app
            .platform_sign_in_link(&platform, &demo.org_id, user)
            .await?;
        links.push((*role, link.value.url));
    }
    Ok(links)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::ending_in_two_days;

    #[test]
    fn the_demo_implementation_admin_ends_two_days_from_any_day_of_the_year() {
        let start = Utc.with_ymd_and_hms(2027, 1, 1, 9, 30, 0).unwrap();
        for day in 0..(366 * 2) {
            let now = start + Duration::days(day);
            let (duration, assigned) = ending_in_two_days(now);
            assert!(assigned < now, "{now}");
            assert_eq!(
                duration.expires_at(assigned),
                Some(now + Duration::days(2)),
                "{now}"
            );
        }
    }
}
