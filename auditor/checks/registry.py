"""The explicit registry of checks (no discovery): metadata is validated here, once, when first loaded."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from auditor.checks import access, apps, credentials, logs
from auditor.checks.model import Check, CheckMeta
from auditor.errors import AuditorError

CHECKS: tuple[type[Check], ...] = (
    access.NonDeveloperRestricted,
    access.OrgOwnersMax,
    access.RepoAdminsMax,
    access.OutsideCollaborators,
    access.OrgBasePermission,
    access.StaleAccess,
    access.OrphanedAccounts,
    access.GuestContractorWrite,
    access.TwoFactorRequired,
    credentials.ClassicPatBroadScope,
    credentials.TokenNoExpiry,
    credentials.TokenUnused,
    credentials.GitLabTokenNonDeveloper,
    credentials.DeployKeyWrite,
    apps.OrgWideWriteApps,
    apps.EntraTenantWideConsent,
    apps.OAuthRestrictionsDisabled,
    logs.LogRetention,
    logs.GitHubStreaming,
    logs.GitLabGitStreaming,
    logs.EntraSigninExport,
    logs.LogTimeSpan,
)


class CheckDefinitionError(AuditorError):
    """A check's metadata is invalid or its id is registered twice."""


@dataclass(frozen=True)
class LoadedCheck:
    """A registered check with its validated metadata."""

    meta: CheckMeta
    impl: type[Check]


def validate(checks: tuple[type[Check], ...]) -> dict[str, LoadedCheck]:
    """Validate every check's metadata and id uniqueness; in registry order."""
    loaded: dict[str, LoadedCheck] = {}
    for impl in checks:
        meta = impl.meta  # a CheckMeta: validated by pydantic when the check's module was imported
        if not isinstance(meta, CheckMeta):
            raise CheckDefinitionError("metadata must be a CheckMeta", impl.__name__)
        if meta.id in loaded:
            raise CheckDefinitionError(f"check id {meta.id!r} registered twice", impl.__name__)
        if not impl.sql.strip():
            raise CheckDefinitionError(f"check {meta.id!r} has no query", impl.__name__)
        loaded[meta.id] = LoadedCheck(meta, impl)
    return loaded


@functools.cache
def registry() -> dict[str, LoadedCheck]:
    """Every check, validated once per process."""
    return validate(CHECKS)
