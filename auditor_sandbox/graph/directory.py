"""The Entra directory the sandbox Graph server serves, derived deterministically from a sandbox dir.

Sources, all files `auditor sandbox generate` writes:
- `entra/users.json` (the users, as Graph returned them) - the only source of people;
- `entra/signins.ndjson` - sign-ins, each user's `signInActivity`, and who uses the GitHub and
  GitLab enterprise apps (membership of the "GitHub Users" / "GitLab Users" assignment groups);
- `ground_truth.json` - the window and the incident actors (risk data, the consented OAuth app).

Directory audits and deleted users (how people left) are derived in `audits`.

Account classes come from the user attributes the generator sets (guest, contractor, admin titles,
engineering departments), so nothing depends on rebuilding the model with the same sizes. Ids of
derived objects are UUIDs hashed from the tenant id and the object's name: same files, same ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor_sandbox import catalog
from auditor_sandbox.graph.signins import SignInStore, load_signins

# population.build_people gives these titles to the "privileged" account class only.
PRIVILEGED_TITLES = frozenset({"IT Administrator", "Head of Platform"})
ENGINEERING_DEPARTMENTS = frozenset(catalog.DEV_TITLES)
# Built-in Entra roles: display name -> template id (the role definition id of a built-in role).
ROLES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
}
APP_GROUPS = {"GitHub Users": "GitHub Enterprise Cloud", "GitLab Users": "GitLab"}


@dataclass
class Directory:
    """Everything the server answers from, as plain Graph-shaped dicts (small: one per object)."""

    tenant_id: str
    start: datetime
    users: list[dict[str, Any]]
    signins: SignInStore
    managers: dict[str, str] = field(default_factory=dict)  # user id -> manager's user id
    groups: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> user ids
    role_definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)
    role_eligibility: list[dict[str, Any]] = field(default_factory=list)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    app_role_assigned_to: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    risky_users: list[dict[str, Any]] = field(default_factory=list)
    risk_detections: list[dict[str, Any]] = field(default_factory=list)
    directory_audits: list[dict[str, Any]] = field(default_factory=list)  # newest first
    deleted_users: list[dict[str, Any]] = field(default_factory=list)
    incidents: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # scenario -> (user id, start)
    _by_key: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Built once here, not lazily: request threads read it concurrently.
        for u in self.users:
            self._by_key[str(u["id"]).lower()] = u
            self._by_key[str(u["userPrincipalName"]).lower()] = u

    def user(self, key: str) -> dict[str, Any] | None:
        """A user by object id or userPrincipalName (case-insensitive, as Graph resolves /users/{key})."""
        return self._by_key.get(key.lower())

    def object_id(self, *name: str) -> str:
        """A stable UUID for a derived object (group, service principal, ...)."""
        digest = hashlib.sha256("|".join((self.tenant_id, *name)).encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def opaque_id(self, *name: str) -> str:
        """A stable opaque id like Graph's role-assignment and grant ids (base64url, no padding)."""
        digest = hashlib.sha256("|".join((self.tenant_id, *name)).encode()).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def stamp(self, days_before_start: float) -> str:
        return (self.start - timedelta(days=days_before_start)).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_class(user: dict[str, Any]) -> str:
    """The sandbox's account class read back from the attributes the generator gives each class."""
    if user.get("userType") == "Guest":
        return "external"
    if user.get("employeeType") == "Contractor":
        return "contractor"
    if user.get("jobTitle") in PRIVILEGED_TITLES:
        return "privileged"
    return "developer" if user.get("department") in ENGINEERING_DEPARTMENTS else "non_developer"


def load_directory(sandbox_dir: Path) -> Directory:
    """Read a generated sandbox directory and derive the whole directory state from it."""
    from auditor_sandbox.graph.apps import add_apps
    from auditor_sandbox.graph.audits import add_audits
    from auditor_sandbox.graph.risk import OFFLINE, add_risk

    users = _read_users(sandbox_dir / "entra" / "users.json")
    truth = _read_json(sandbox_dir / "ground_truth.json") if (sandbox_dir / "ground_truth.json").is_file() else {}
    by_upn = {str(u["userPrincipalName"]).lower(): str(u["id"]) for u in users}
    incidents: dict[str, tuple[str, datetime]] = {}
    for row in truth.get("scenarios", []):
        user_id = by_upn.get(str(row.get("identity") or "").lower())
        if row.get("label") == "incident" and user_id is not None:
            incidents[str(row["name"])] = (user_id, _parse_time(str(row["start"])))
    watch = frozenset(user_id for name, (user_id, _) in incidents.items() if name in OFFLINE)
    signins = load_signins(sandbox_dir / "entra" / "signins.ndjson", watch)
    seed = str(truth.get("seed", "0"))
    tenant_id = signins.tenant_id or str(uuid.UUID(bytes=hashlib.sha256(f"acme:{seed}".encode()).digest()[:16]))
    start = _parse_time(str(truth["start"])) if "start" in truth else datetime(2026, 7, 3, tzinfo=UTC)
    d = Directory(tenant_id, start, users, signins, incidents=incidents)
    d.managers = _managers(users)
    _add_groups(d)
    _add_roles(d)
    add_apps(d)
    add_risk(d)
    add_audits(d, _parse_time(str(truth["end"])) if "end" in truth else start + timedelta(days=90))
    return d


def sign_in_activity(d: Directory, user_id: str) -> dict[str, Any]:
    """Graph's `signInActivity` for one user (all null when the logs hold no sign-in of theirs)."""
    from auditor_sandbox.graph.odata import iso_seconds

    seen = d.signins.activity.get(user_id)
    out: dict[str, Any] = {}
    for prop, stamp in (
        ("lastSignIn", seen.last_interactive if seen else None),
        ("lastNonInteractiveSignIn", seen.last_non_interactive if seen else None),
        ("lastSuccessfulSignIn", seen.last_success if seen else None),
    ):
        out[f"{prop}DateTime"] = iso_seconds(stamp[0]) if stamp else None
        out[f"{prop}RequestId"] = stamp[1] if stamp else None
    return out


def _managers(users: list[dict[str, Any]]) -> dict[str, str]:
    """Each member's manager: their department's head (first 'Head of'/'Manager' title, else first member)."""
    by_dept: dict[str, list[dict[str, Any]]] = {}
    for u in users:
        if u.get("userType") != "Guest" and u.get("department"):
            by_dept.setdefault(str(u["department"]), []).append(u)
    out: dict[str, str] = {}
    for people in by_dept.values():
        titled = [u for u in people if any(w in str(u.get("jobTitle") or "") for w in ("Head of", "Manager"))]
        head = (titled or people)[0]
        for u in people:
            if u is not head:
                out[str(u["id"])] = str(head["id"])
    return out


def _add_groups(d: Directory) -> None:
    ids = [str(u["id"]) for u in d.users]
    klass = {str(u["id"]): account_class(u) for u in d.users}
    dept = {str(u["id"]): u.get("department") for u in d.users}
    wanted: list[tuple[str, str, Iterable[str]]] = [
        ("Engineering", "Everyone in an engineering department.", (i for i in ids if dept[i] in ENGINEERING_DEPARTMENTS
                                                                     and klass[i] != "external")),
        ("Contractors", "External contractors with developer access.", (i for i in ids if klass[i] == "contractor")),
    ]  # fmt: skip
    for name, app in APP_GROUPS.items():
        users = (i for i in ids if app in (d.signins.activity[i].apps if i in d.signins.activity else ()))
        wanted.append((name, f"Assigned to the {app} enterprise application (SAML SSO).", users))
    for offset, (name, description, member_ids) in enumerate(wanted):
        group_id = d.object_id("group", name)
        d.groups.append(
            {
                "id": group_id,
                "displayName": name,
                "description": description,
                "mailNickname": name.lower().replace(" ", "-"),
                "mailEnabled": False,
                "securityEnabled": True,
                "groupTypes": [],
                "isAssignableToRole": False,
                "visibility": None,
                "createdDateTime": d.stamp(900 - 40 * offset),
            }
        )
        d.members[group_id] = list(member_ids)


def _add_roles(d: Directory) -> None:
    for name, template in ROLES.items():
        d.role_definitions[template] = {
            "id": template,
            "displayName": name,
            "templateId": template,
            "isBuiltIn": True,
            "isEnabled": True,
            "description": f"Built-in role {name}.",
        }
    privileged = [u for u in d.users if account_class(u) == "privileged"]
    for n, u in enumerate(privileged):
        role = ROLES["Global Administrator" if n % 2 == 0 else "Privileged Role Administrator"]
        d.role_assignments.append(_assignment(d, "assignment", str(u["id"]), role))
    # PIM: a few people who can activate an admin role but hold none now.
    eligible: list[tuple[str, str]] = []
    for dept, role, count in (("Security", "Security Administrator", 2), ("Platform", "Application Administrator", 1),
                              ("HR", "User Administrator", 1), ("IT", "Global Reader", 1)):  # fmt: skip
        people = [u for u in d.users if u.get("department") == dept and account_class(u) != "privileged"]
        eligible += [(str(u["id"]), ROLES[role]) for u in people[:count]]
    for principal, role in eligible:
        row = _assignment(d, "eligibility", principal, role)
        row.update(
            memberType="Direct",
            status="Provisioned",
            createdUsing=row["id"],
            createdDateTime=d.stamp(120),
            modifiedDateTime=None,
            appScopeId=None,
            scheduleInfo={
                "startDateTime": d.stamp(120),
                "recurrence": None,
                "expiration": {"type": "noExpiration", "endDateTime": None, "duration": None},
            },
        )
        d.role_eligibility.append(row)


def _assignment(d: Directory, kind: str, principal: str, role: str) -> dict[str, Any]:
    return {
        "id": d.opaque_id(kind, principal, role),
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
    }


def _read_users(path: Path) -> list[dict[str, Any]]:
    doc = _read_json(path)
    value = doc.get("value")
    if not isinstance(value, list) or not all(isinstance(u, dict) and "id" in u for u in value):
        raise InputError("expected a Graph /users page: an object with a 'value' list of users", where=str(path))
    for n, u in enumerate(value):
        if "userPrincipalName" not in u:
            raise InputError(f"user #{n} has no userPrincipalName", where=str(path))
    return value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the sandbox file: {exc.strerror}", where=str(path)) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", where=str(path)) from None
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", where=str(path))
    return doc


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
