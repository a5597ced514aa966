//! `POST /v1/orgs/{org}/members/import` (API.md "Import"): JSON or CSV.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use roster_core::import::ImportMode;
use roster_core::OrgId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ok, Answer, Problems};
use crate::app::import::{rows_from_csv, rows_from_json, MAX_IMPORT_BODY};
use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{blank_is_none, too_large, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::ImportView;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `invite` (the default) or `add` (platform key only).
    #[serde(default, deserialize_with = "blank_is_none")]
    #[param(value_type = Option<ImportMode>, inline)]
    mode: Option<ImportMode>,
    /// `true`: answer what would happen, change nothing.
    #[serde(default, deserialize_with = "blank_is_none")]
    dry_run: Option<bool>,
}

/// One member to import (JSON).
#[derive(Deserialize, ToSchema)]
pub struct ImportMember {
    pub email: String,
    pub name: Option<String>,
    pub org_role: Option<roster_core::OrgRole>,
    pub duration: Option<roster_core::IaDuration>,
    #[serde(default)]
    pub space_roles: Vec<ImportSpaceRole>,
}

/// A space role of an imported member: the space by id or by name.
#[derive(Deserialize, ToSchema)]
pub struct ImportSpaceRole {
    pub space_id: Option<String>,
    pub space_name: Option<String>,
    pub role: roster_core::SpaceRole,
}

#[derive(Deserialize, ToSchema)]
pub struct ImportBody {
    /// Up to 50,000.
    pub members: Vec<ImportMember>,
}

/// Bring people in, all or nothing: every failing row is named. CSV has
/// the header `email,name,org_role,duration,space,space_role`, one space
/// role per row (the same address on several rows for several).
#[utoipa::path(post, path = "/v1/orgs/{org}/members/import", tag = "members",
    params(("org" = OrgId, Path), ImportQuery),
    request_body(content(
        (ImportBody = "application/json"),
        (String = "text/csv"),
    )),
    responses((status = 200, body = ImportView), Problems))]
pub async fn import(
    State(app): State<AppState>,
    ctx: Ctx,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    request: Request,
) -> ApiResult<Answer<ImportView>> {
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let body = axum::body::to_bytes(request.into_body(), MAX_IMPORT_BODY)
        .await
        .map_err(|_| too_large())?;
    let rows = match kind.as_str() {
        "application/json" => rows_from_json(&body)?,
        "text/csv" => rows_from_csv(&body)?,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the import as application/json or text/csv",
            ))
        }
    };
    let mode = query.mode.unwrap_or(ImportMode::Invite);
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(ok(app.import(&ctx, &org, mode, dry_run, rows).await?))
}
