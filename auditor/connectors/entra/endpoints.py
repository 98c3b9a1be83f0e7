"""What the Entra collector asks Graph for, and what it means when an answer is refused."""

from __future__ import annotations

from auditor.connectors.kit.endpoints import Endpoint

__all__ = ["Endpoint"]  # paths are relative to the Graph root (ARM root for DIAGNOSTIC_SETTINGS)

USER_FIELDS = (
    "id,userPrincipalName,mail,displayName,department,jobTitle,employeeType,userType,accountEnabled,createdDateTime"
)


USERS = Endpoint(
    "users",
    f"/v1.0/users?$select={USER_FIELDS},signInActivity&$expand=manager($select=id)&$top=999",
    "User.Read.All and AuditLog.Read.All (signInActivity needs Entra ID P1)",
    "no users: accounts cannot be linked to people or classed by department, title or type",
)
USERS_NO_ACTIVITY = Endpoint(
    "users",
    f"/v1.0/users?$select={USER_FIELDS}&$expand=manager($select=id)&$top=999",
    "User.Read.All",
    "no users: accounts cannot be linked to people or classed by department, title or type",
)
USERS_BASIC = Endpoint(
    "users",
    f"/v1.0/users?$select={USER_FIELDS}&$top=999",
    "User.Read.All",
    "no users: accounts cannot be linked to people or classed by department, title or type",
)
USERS_LIFECYCLE = Endpoint(
    "users_lifecycle",
    "/v1.0/users?$select=id,employeeLeaveDateTime&$top=999",
    "User.Read.All and User-LifeCycleInfo.Read.All",
    "leave dates unknown: downloads in the days before a person leaves are not raised",
)
ROLE_ASSIGNMENTS = Endpoint(
    "role_assignments",
    "/v1.0/roleManagement/directory/roleAssignments?$expand=roleDefinition",
    "RoleManagement.Read.Directory",
    "active directory roles unknown: privileged identities cannot be recognised from Entra",
)
ROLE_ELIGIBILITY = Endpoint(
    "role_eligibility",
    "/v1.0/roleManagement/directory/roleEligibilitySchedules?$expand=roleDefinition",
    "RoleEligibilitySchedule.Read.Directory and Entra ID P2 (PIM)",
    "PIM-eligible roles unknown: identities that can activate admin roles look unprivileged",
)
SIGNINS = Endpoint(
    "signins",
    "/v1.0/auditLogs/signIns?$filter=createdDateTime ge {since}&$top=1000",
    "AuditLog.Read.All and Entra ID P1 or P2",
    "no interactive sign-ins: new countries, impossible travel and sign-in risk cannot be joined to downloads",
)
SIGNINS_NON_INTERACTIVE = Endpoint(
    "signins_non_interactive",
    "/beta/auditLogs/signIns?$filter=createdDateTime ge {since} and "
    "signInEventTypes/any(t: t eq 'nonInteractiveUser')&$top=1000",
    "AuditLog.Read.All, Entra ID P1 or P2, and the beta endpoint",
    "no non-interactive sign-ins: token refreshes from new places go unseen",
)
DELETED_USERS = Endpoint(
    "deleted_users",
    "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName,mail,deletedDateTime&$top=999",
    "User.Read.All",
    "deleted users unknown: activity after an Entra account was deleted is not raised (Entra keeps deleted users "
    "only 30 days: a longer pause between collections loses them)",
)
DIRECTORY_AUDITS = Endpoint(
    "directory_audits",
    "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq '{activity}' and activityDateTime ge {since}"
    "&$top=999",
    "AuditLog.Read.All and Directory.Read.All",
    "user deletions, disablements and group removals unknown: activity after someone was disabled or removed is "
    "raised only from accountEnabled (undated) and the departures file",
)
# Directory-audit activities that say a person left, and the departure kind each one records.
AUDIT_ACTIVITIES = {
    "Disable account": "disabled",
    "Delete user": "deleted",
    "Remove member from group": "group_removal",
}
GRANTS = Endpoint(
    "oauth2_grants",
    "/v1.0/oauth2PermissionGrants?$top=999",
    "Directory.Read.All (or DelegatedPermissionGrant.Read.All)",
    "delegated consents unknown: tenant-wide (AllPrincipals) grants cannot be reviewed",
)
SERVICE_PRINCIPALS = Endpoint(
    "service_principals",
    "/v1.0/servicePrincipals?$select=id,appId,displayName,servicePrincipalType,appOwnerOrganizationId,"
    "accountEnabled&$top=999",
    "Application.Read.All",
    "service principals unknown: apps and their assignments cannot be reviewed",
)
RISKY_USERS = Endpoint(
    "risky_users",
    "/v1.0/identityProtection/riskyUsers?$top=500",
    "IdentityRiskyUser.Read.All and Entra ID P2",
    "no IdP user risk: 'risk medium or high' cannot raise a finding",
)
RISK_DETECTIONS = Endpoint(
    "risk_detections",
    "/v1.0/identityProtection/riskDetections?$top=500",
    "IdentityRiskEvent.Read.All and Entra ID P2",
    "no risk detections (new country, unfamiliar features, impossible travel) from the IdP",
)
DIAGNOSTIC_SETTINGS = Endpoint(
    "diagnostic_settings",
    "/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01-preview",
    "Azure Resource Manager: Reader on microsoft.aadiam (Security Reader or Global Reader)",
    "sign-in export unknown",
)

OPTIONAL = (
    USERS_LIFECYCLE,
    ROLE_ASSIGNMENTS,
    ROLE_ELIGIBILITY,
    GRANTS,
    SERVICE_PRINCIPALS,
    RISKY_USERS,
    RISK_DETECTIONS,
)
