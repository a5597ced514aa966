//! Why a management rule refused: typed, with the stable `code` of API.md.

use crate::role::OrgRole;

/// One address of an invitation batch that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub email: String,
    pub code: &'static str,
    pub reason: String,
}

impl Rejected {
    pub fn new(email: &str, code: &'static str) -> Self {
        let reason = match code {
            "domain_not_allowed" => "the domain is not on the Implementation Admin allowlist",
            "already_member" => "already a member: change their role instead",
            "forbidden" => "you may not change this person's program roles",
            _ => "rejected",
        };
        Rejected {
            email: email.to_owned(),
            code,
            reason: reason.to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Forbidden(String),
    /// Some addresses of a batch name people the actor may not manage.
    #[error("you may not manage {} of these people", rejected.len())]
    ForbiddenAddresses { rejected: Vec<Rejected> },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the last active Owner cannot be demoted, deactivated or removed")]
    LastOwner,
    #[error("no seat is available: the organization's limit is {limit}")]
    SeatLimitReached { limit: u32 },
    #[error("the Implementation Admin role is turned off for this organization")]
    ImplementationAdminDisabled,
    #[error("the email domain is not allowed for Implementation Admins; allowed: {}", allowed.join(", "))]
    DomainNotAllowed {
        allowed: Vec<String>,
        rejected: Vec<Rejected>,
    },
    #[error("this removes {affected} people's access: confirm to proceed")]
    ConfirmationRequired { affected: usize },
    #[error("access comes from the {} organization role: change that role instead", org_role.as_str())]
    InheritedAccess { org_role: OrgRole },
    #[error("already a member of the organization: change their role instead")]
    AlreadyMember { rejected: Vec<Rejected> },
    #[error("{field}: {message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    /// Some addresses of a batch could not be parsed.
    #[error("{} address(es) are not valid", rejected.len())]
    InvalidEmails { rejected: Vec<Rejected> },
    /// A business-rule conflict with its own code.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Rows of an import that failed (nothing was applied); `code` is the
    /// one that names the whole refusal.
    #[error("{} row(s) of the import failed; nothing was applied", rejected.len())]
    Rows {
        code: &'static str,
        rejected: Vec<crate::import::RejectedRow>,
    },
}

impl RuleError {
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::Forbidden(_) | RuleError::ForbiddenAddresses { .. } => "forbidden",
            RuleError::NotFound(_) => "not_found",
            RuleError::LastOwner => "last_owner",
            RuleError::SeatLimitReached { .. } => "seat_limit_reached",
            RuleError::ImplementationAdminDisabled => "implementation_admin_disabled",
            RuleError::DomainNotAllowed { .. } => "domain_not_allowed",
            RuleError::ConfirmationRequired { .. } => "confirmation_required",
            RuleError::InheritedAccess { .. } => "inherited_access",
            RuleError::AlreadyMember { .. } => "already_member",
            RuleError::Validation { .. } | RuleError::InvalidEmails { .. } => "validation_failed",
            RuleError::Conflict { code, .. } | RuleError::Rows { code, .. } => code,
        }
    }

    /// The addresses of a batch that failed, when the error is about some.
    pub fn rejected(&self) -> &[Rejected] {
        match self {
            RuleError::DomainNotAllowed { rejected, .. }
            | RuleError::ForbiddenAddresses { rejected }
            | RuleError::AlreadyMember { rejected }
            | RuleError::InvalidEmails { rejected } => rejected,
            _ => &[],
        }
    }
}
