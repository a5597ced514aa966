//! Many rows in one statement: an import of ten thousand people is a few
//! dozen statements, not fifty thousand round trips. Only for runs of
//! effects whose order does not matter once grouped (see [`batchable`]).

use rustc_hash::FxHashSet;
use sqlx::{Any, Transaction};

use roster_core::{Effect, UserId};

use crate::time::to_ms;
use crate::{Backend, StoreError};

/// Rows of `columns` values per statement. PostgreSQL takes thousands of
/// parameters cheaply; SQLite's driver finds each parameter by name in a
/// list as long as the statement's, so its statements stay short.
pub(crate) fn rows_per_statement(backend: Backend, columns: usize) -> usize {
    let parameters = match backend {
        Backend::Sqlite => 240,
        Backend::Postgres => 8_000,
    };
    (parameters / columns).max(1)
}

/// `($1, $2, …), ($n+1, …), …` for `rows` rows of `columns` values.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A run of effects that may be written as: every new membership, then
/// every org role, then every space role — because in the run each
/// membership is added before anything else happens to that person, and
/// only once.
pub(crate) fn batchable(run: &[Effect]) -> bool {
    let mut touched: FxHashSet<&UserId> = FxHashSet::default();
    run.iter().all(|effect| match effect {
        Effect::AddMember(m) => touched.insert(&m.user_id),
        Effect::SetOrgRole { user_id, .. } => {
            touched.insert(user_id);
            true
        }
        Effect::SetSpaceRole {
            user_id,
            role: Some(_),
            ..
        } => {
            touched.insert(user_id);
            true
        }
        _ => false,
    })
}

/// Whether an effect may join a batched run.
pub(crate) fn joins_run(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::AddMember(_)
            | Effect::SetOrgRole { .. }
            | Effect::SetSpaceRole { role: Some(_), .. }
    )
}

pub(crate) async fn add_members(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org: &str,
    run: &[Effect],
    now: i64,
) -> Result<(), StoreError> {
    let members: Vec<_> = run
        .iter()
        .filter_map(|e| match e {
            Effect::AddMember(m) => Some(m),
            _ => None,
        })
        .collect();
    for chunk in members.chunks(rows_per_statement(backend, 9)) {
        let sql = format!(
            "INSERT INTO memberships (org_id, user_id, status, org_role, ia_assigned_at, ia_expires_at, ia_duration, ia_invited_by, created_at) VALUES {}",
            placeholders(chunk.len(), 9)
        );
        let mut insert = sqlx::query(&sql);
        for m in chunk {
            let ia = m.ia.as_ref();
            insert = insert
                .bind(org)
                .bind(m.user_id.as_str())
                .bind(m.status.as_str())
                .bind(m.org_role.map(|r| r.as_str()))
                .bind(ia.map(|ia| to_ms(ia.assigned_at)))
                .bind(ia.and_then(|ia| ia.expires_at.map(to_ms)))
                .bind(ia.map(|ia| ia.duration.as_str()))
                .bind(ia.and_then(|ia| ia.invited_by.as_ref().map(|i| i.user_id.as_str())))
                .bind(now);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn set_space_roles(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    org: &str,
    run: &[Effect],
) -> Result<(), StoreError> {
    // The last role set for a person in a space is the one that stays.
    let mut seen = FxHashSet::default();
    let mut roles: Vec<_> = run
        .iter()
        .rev()
        .filter_map(|e| match e {
            Effect::SetSpaceRole {
                user_id,
                space_id,
                role: Some(role),
            } => seen
                .insert((user_id, space_id))
                .then_some((user_id, space_id, role)),
            _ => None,
        })
        .collect();
    roles.reverse();
    for chunk in roles.chunks(rows_per_statement(backend, 4)) {
        let sql = format!(
            "INSERT INTO space_roles (org_id, space_id, user_id, role) VALUES {}
             ON CONFLICT (space_id, user_id) DO UPDATE SET role = excluded.role",
            placeholders(chunk.len(), 4)
        );
        let mut insert = sqlx::query(&sql);
        for (user, space, role) in chunk {
            insert = insert
                .bind(org)
                .bind(space.as_str())
                .bind(user.as_str())
                .bind(role.as_str());
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}
