//! Bringing an organization in (API.md "Import"): rows read from JSON or
//! CSV, checked and applied all or nothing by the core's import rule.

use roster_core::import::{self, ImportMode, ImportRow, InviteTerms, SpaceRef};
use roster_core::{BatchId, Email, IaDuration, OrgId, OrgRole, SpaceId, SpaceRole, UserId};
use roster_store::{AccountRequest, Lookups, Written};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::invitations::default_name;
use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::secrets::new_id;
use crate::state::AppState;
use crate::views::ImportView;

/// The largest import body (API.md: 16 MiB, instead of 1 MiB).
pub const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

/// The CSV header (API.md), in this order.
pub const CSV_HEADER: [&str; 6] = [
    "email",
    "name",
    "org_role",
    "duration",
    "space",
    "space_role",
];

#[derive(Deserialize)]
struct JsonImport {
    members: Vec<JsonMember>,
}

#[derive(Deserialize)]
struct JsonMember {
    #[serde(default)]
    email: String,
    name: Option<String>,
    org_role: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    space_roles: Vec<JsonSpaceRole>,
}

#[derive(Deserialize)]
struct JsonSpaceRole {
    space_id: Option<String>,
    space_name: Option<String>,
    #[serde(default)]
    role: String,
}

/// A cell's value, if it has one; a bad value makes the row unreadable
/// (named with its row, as every failing row is).
fn parsed<T: std::str::FromStr>(
    field: &str,
    value: Option<&str>,
    unreadable: &mut Option<String>,
) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    match value.parse() {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            unreadable.get_or_insert_with(|| format!("{field}: {e}"));
            None
        }
    }
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Rows from `{"members": [...]}`; row `n` is the `n`-th member.
pub fn rows_from_json(body: &[u8]) -> ApiResult<Vec<ImportRow>> {
    let import: JsonImport = crate::json::parse_json(body)?;
    Ok(import
        .members
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let mut unreadable = None;
            let org_role = parsed_role(m.org_role.as_deref(), &mut unreadable);
            let duration = parsed::<IaDuration>("duration", m.duration.as_deref(), &mut unreadable);
            let space_roles = m
                .space_roles
                .into_iter()
                .filter_map(|sr| {
                    let space = match (text(sr.space_id.as_deref()), text(sr.space_name.as_deref()))
                    {
                        (Some(id), None) => SpaceRef::Id(SpaceId::from(id)),
                        (None, Some(name)) => SpaceRef::Name(name),
                        _ => {
                            unreadable.get_or_insert_with(|| {
                                "space_roles: give space_id or space_name".into()
                            });
                            return None;
                        }
                    };
                    let role =
                        parsed::<SpaceRole>("space_roles.role", Some(&sr.role), &mut unreadable)
                            .or_else(|| {
                                unreadable
                                    .get_or_insert_with(|| "space_roles.role is required".into());
                                None
                            })?;
                    Some((space, role))
                })
                .collect();
            ImportRow {
                row: i + 1,
                email: m.email.trim().to_owned(),
                name: text(m.name.as_deref()),
                org_role,
                duration,
                space_roles,
                unreadable,
            }
        })
        .collect())
}

fn parsed_role(value: Option<&str>, unreadable: &mut Option<String>) -> Option<OrgRole> {
    parsed::<OrgRole>("org_role", value, unreadable)
}

/// Rows from CSV with the header `email,name,org_role,duration,space,space_role`
/// (one space role per row; the same address on several rows for several).
/// Row `n` is the `n`-th line after the header.
pub fn rows_from_csv(body: &[u8]) -> ApiResult<Vec<ImportRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header = reader
        .headers()
        .map_err(|e| ApiError::invalid("body", format!("the CSV header: {e}")))?
        .clone();
    let columns: Vec<&str> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .collect();
    if columns != CSV_HEADER {
        return Err(ApiError::invalid(
            "body",
            format!("the CSV header must be {}", CSV_HEADER.join(",")),
        ));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        if row > import::MAX_ROWS {
            return Err(too_many_rows());
        }
        let record =
            record.map_err(|e| ApiError::invalid("body", format!("CSV row {row}: {e}")))?;
        let cell = |n: usize| record.get(n);
        let mut unreadable = (record.len() > CSV_HEADER.len())
            .then(|| format!("{} cells: the header has 6", record.len()));
        let org_role = parsed_role(cell(2), &mut unreadable);
        let duration = parsed::<IaDuration>("duration", cell(3), &mut unreadable);
        let space_role = parsed::<SpaceRole>("space_role", cell(5), &mut unreadable);
        let space_roles = match (text(cell(4)), space_role) {
            (Some(space), Some(role)) => vec![(SpaceRef::IdOrName(space), role)],
            (None, None) => Vec::new(),
            (Some(_), None) => {
                unreadable.get_or_insert_with(|| "space needs a space_role".into());
                Vec::new()
            }
            (None, Some(_)) => {
                unreadable.get_or_insert_with(|| "space_role needs a space".into());
                Vec::new()
            }
        };
        rows.push(ImportRow {
            row,
            email: cell(0).unwrap_or_default().to_owned(),
            name: text(cell(1)),
            org_role,
            duration,
            space_roles,
            unreadable,
        });
    }
    Ok(rows)
}

fn too_many_rows() -> ApiError {
    ApiError::invalid(
        "members",
        format!("an import has at most {} rows", import::MAX_ROWS),
    )
}

impl AppState {
    /// Checks every row and applies them all, or none (`dry_run`: only says
    /// what it would do).
    pub async fn import(
        &self,
        ctx: &Ctx,
        org: &OrgId,
        mode: ImportMode,
        dry_run: bool,
        rows: Vec<ImportRow>,
    ) -> ApiResult<Written<ImportView>> {
        if rows.len() > import::MAX_ROWS {
            return Err(too_many_rows());
        }
        let actor = ctx.actor(org)?;
        // `add` makes accounts: found or created under the lock, with the
        // import's names for new ones.
        let mut accounts = Vec::new();
        if mode == ImportMode::Add {
            let mut names: FxHashMap<Email, String> = FxHashMap::default();
            for row in &rows {
                if let Ok(email) = Email::parse(&row.email) {
                    let name = row.name.clone().unwrap_or_else(|| default_name(&email));
                    names.entry(email).or_insert(name);
                }
            }
            accounts = names
                .into_iter()
                .map(|(email, name)| AccountRequest {
                    email,
                    fresh_id: new_id(),
                    name,
                })
                .collect();
        }
        let lookups = Lookups {
            accounts,
            token: None,
        };
        let ttl = self.config.invitation_ttl;
        let batch: BatchId = new_id();
        self.run_change(
            org,
            Some(&ctx.request_id),
            &lookups,
            dry_run,
            |snap, found, now| {
                let terms = InviteTerms {
                    batch,
                    invitation: &mut new_id,
                    ttl,
                };
                let (change, result) =
                    import::import(snap, &actor, mode, &rows, &found.accounts, terms, now)?;
                let id_of = |email: &Email| -> String {
                    match found.account(email) {
                        Some(account) if !(dry_run && account.created) => {
                            let id: &UserId = &account.user_id;
                            id.to_string()
                        }
                        _ => email.to_string(),
                    }
                };
                let view = ImportView {
                    dry_run,
                    created: result.created.iter().map(id_of).collect(),
                    invited: if dry_run {
                        let mut emails: Vec<String> = Vec::new();
                        for o in change.outcomes() {
                            if let roster_core::Outcome::InvitationCreated { invitation } = o {
                                emails.push(invitation.email.to_string());
                            }
                        }
                        emails
                    } else {
                        result.invited.iter().map(|id| id.to_string()).collect()
                    },
                    unchanged: result.unchanged.iter().map(|e| e.to_string()).collect(),
                };
                Ok((change, view))
            },
        )
        .await
    }
}
