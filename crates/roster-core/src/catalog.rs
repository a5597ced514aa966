//! The names the audit log, the event feed and the API share (API.md
//! "Audit", "Events", "Tokens"), each defined once.

use crate::named;

named! {
    /// What an audit entry (and its event) records. API.md lists these
    /// names; `type` of an event is one of them.
    pub enum AuditAction("audit action") {
        OrgCreated = "org.created",
        OrgUpdated = "org.updated",
        OrgDeleted = "org.deleted",
        SettingChanged = "setting.changed",
        AllowlistChanged = "allowlist.changed",
        InvitationCreated = "invitation.created",
        InvitationResent = "invitation.resent",
        InvitationRevoked = "invitation.revoked",
        InvitationExpired = "invitation.expired",
        InvitationAccepted = "invitation.accepted",
        MemberRoleChanged = "member.role_changed",
        MemberDeactivated = "member.deactivated",
        MemberReactivated = "member.reactivated",
        MemberRemoved = "member.removed",
        MemberLeftSpace = "member.left_space",
        MembersImported = "members.imported",
        SpaceCreated = "space.created",
        SpaceUpdated = "space.updated",
        SpaceDeleted = "space.deleted",
        SpaceRoleSet = "space_role.set",
        SpaceRoleRemoved = "space_role.removed",
        ImplementationAdminAssigned = "implementation_admin.assigned",
        ImplementationAdminRemoved = "implementation_admin.removed",
        TokenCreated = "token.created",
        TokenRevoked = "token.revoked",
        ForeverReviewRecorded = "forever_review.recorded",
        SignInLinkCreated = "sign_in_link.created",
        SessionStarted = "session.started",
        SessionEnded = "session.ended",
        WebhookCreated = "webhook.created",
        WebhookUpdated = "webhook.updated",
        WebhookDeleted = "webhook.deleted",
        WebhookSecretRotated = "webhook.secret_rotated",
    }
}

named! {
    /// Why a change happened (API.md "Audit": `trigger`).
    pub enum Trigger("trigger") {
        /// Someone asked.
        Request = "request",
        /// Time ran out.
        Expiry = "expiry",
        /// The Implementation Admin setting was turned off.
        SettingDisabled = "setting_disabled",
    }
}

named! {
    /// Who an audit entry names as actor.
    pub enum ActorKind("actor kind") {
        User = "user",
        Platform = "platform",
        /// Background work nobody asked for in person (invitation expiry).
        System = "system",
        /// Background work on a person's behalf: an Implementation Admin's
        /// expiry names the original inviter (SPEC §6).
        SystemOnBehalfOf = "system_on_behalf_of",
    }
}

named! {
    /// What a token is for (SPEC §8). Admin UI sessions are stored beside
    /// tokens but are never issued through the token API.
    pub enum TokenKind("token kind") {
        Api = "api",
        Mcp = "mcp",
        Oauth = "oauth",
        Session = "session",
    }
}

impl TokenKind {
    /// The kinds people create through `POST …/tokens`.
    pub const ISSUED: [TokenKind; 3] = [TokenKind::Api, TokenKind::Mcp, TokenKind::Oauth];
}

named! {
    /// Why a token stopped working.
    pub enum RevokeReason("revocation reason") {
        Revoked = "revoked",
        MemberDeactivated = "member_deactivated",
        MemberRemoved = "member_removed",
        ImplementationAdminRemoved = "implementation_admin_removed",
        ImplementationAdminExpired = "implementation_admin_expired",
        ImplementationAdminDisabled = "implementation_admin_disabled",
        OrgDeleted = "org_deleted",
        SignedOut = "signed_out",
        /// A session past its end.
        Expired = "expired",
        /// A session whose person lost access (deactivated, removed, expired).
        AccessEnded = "access_ended",
    }
}

named! {
    /// The actions `POST …/members/bulk` takes (SPEC §7).
    pub enum BulkAction("bulk action") {
        Deactivate = "deactivate",
        Reactivate = "reactivate",
        Remove = "remove",
    }
}

named! {
    /// What an AuthZEN question is about.
    pub enum ResourceType("resource type") {
        Organization = "organization",
        Space = "space",
        User = "user",
        Item = "item",
    }
}

named! {
    /// Who asked for a sign-in link (API.md: `details.requested_by`).
    pub enum LinkRequester("requester") {
        /// The person, from the sign-in page.
        SelfService = "self",
        /// The host platform, with its key.
        Platform = "platform",
    }
}

named! {
    /// How an admin UI session ended (API.md: `session.ended`).
    pub enum SessionEnd("session end") {
        SignOut = "sign_out",
        Expiry = "expiry",
        LostAccess = "loss_of_access",
    }
}
