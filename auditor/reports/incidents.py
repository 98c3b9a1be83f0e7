"""Incident response packs for high and critical AN0732 findings: what happened, with what, and what to do.

One pack per open high/critical AN0732 finding: the evidence timeline (sign-ins, token events, downloads
around the finding), the credentials and apps involved, containment steps naming the exact platform
action for this case, and the evidence preserved (event uids and the SHA-256 of the raw files). It
recommends; nothing here calls a platform. Everything is read with a few set-based queries for all packs
at once, so a workspace with thousands of incidents costs the same number of round trips as one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding, iso_utc

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

INCIDENT_SEVERITIES = ("critical", "high")
TIMELINE_PER_KIND = 150  # events per incident and per kind (downloads vs everything else)
AFTER_HOURS = 1  # the timeline runs until an hour after the last download
CONTEXT_CATEGORIES = ("signin", "credential", "download", "membership", "other")
BROAD_SCOPES = ("repo", "admin:org", "delete_repo", "write:org", "api", "write_repository", "sudo", "write", "admin")


@dataclass(frozen=True)
class TimelineEvent:
    ts: str
    platform: str
    category: str
    action: str
    actor: str | None
    repo: str | None
    ip: str | None
    country: str | None
    city: str | None
    user_agent: str | None
    credential_type: str | None
    credential_id: str | None
    app: str | None
    outcome: str | None
    risk_level: str | None
    event_uid: str
    evidence: str  # sha256:line of the raw record


@dataclass(frozen=True)
class CredentialInvolved:
    platform: str
    kind: str  # from the inventory when collected, else the type the log reports
    credential_id: str | None
    name: str | None
    scopes: tuple[str, ...]
    expires_at: str | None
    events: int  # events in the timeline made with it (0: held by the account, not seen in use)
    first_used: str | None
    last_used: str | None
    in_inventory: bool


@dataclass(frozen=True)
class AppInvolved:
    platform: str
    app_id: str
    name: str | None
    kind: str | None
    reach: str | None
    events: int


@dataclass(frozen=True)
class ContainmentStep:
    platform: str
    action: str  # what to do, in words
    target: str  # whom or what it applies to
    how: str  # the exact API call or console path
    why: str


@dataclass(frozen=True)
class RawFile:
    sha256: str
    source: str | None
    stored_path: str | None
    bytes: int | None


@dataclass(frozen=True)
class IncidentPack:
    finding_id: str
    severity: str
    score: int
    platform: str | None
    actor: str | None
    identity: str | None
    account_class: str | None
    repos: tuple[str, ...]
    first_seen: str
    last_seen: str
    reasons: tuple[str, ...]
    timeline: tuple[TimelineEvent, ...]
    timeline_total: int  # events in the window; the timeline keeps the first TIMELINE_PER_KIND per kind
    credentials: tuple[CredentialInvolved, ...]
    apps: tuple[AppInvolved, ...]
    containment: tuple[ContainmentStep, ...]
    event_uids: tuple[str, ...]  # every event the finding cites plus those in the timeline
    raw_files: tuple[RawFile, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recommendation_only"] = True
        return data


def is_incident(finding: Finding) -> bool:
    """Open (not suppressed, not a false positive) AN0732 finding at high or critical."""
    return (
        finding.analytic.startswith("AN0732")
        and finding.severity in INCIDENT_SEVERITIES
        and not finding.suppressed
        and finding.status != "false_positive"
    )


def incident_findings(ws: Workspace) -> list[Finding]:
    """The findings `is_incident` selects, most severe first, read without the other findings."""
    from auditor.findings import COLUMNS

    rows = ws.con.execute(
        f"SELECT {COLUMNS} FROM findings WHERE NOT suppressed AND analytic LIKE 'AN0732%' "
        "AND list_contains(?, severity) AND coalesce(status, 'new') <> 'false_positive' "
        "ORDER BY list_position(['critical','high','medium','low','info'], severity), score DESC, first_seen, id",
        [list(INCIDENT_SEVERITIES)],
    ).fetchall()
    return [
        Finding(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], list(r[7] or []), r[8], r[9], list(r[10] or []),
                list(r[11] or []), bool(r[12]), r[13], r[14])
        for r in rows
    ]  # fmt: skip


def _ts(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def _rows(ws: Workspace, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return ws.con.execute(sql, params).fetchall()


_TIMELINE_SQL = f"""
WITH f AS (
    SELECT id, actor, identity,
           first_seen - to_hours(CAST(? AS BIGINT)) AS t0, last_seen + to_hours({AFTER_HOURS}) AS t1
    FROM findings WHERE list_contains(?, id)
),
hits AS (
    SELECT f.id AS finding_id, e.event_uid, e.ts, e.platform, e.category, e.action, e.actor, e.repo, e.ip,
           e.country, e.city, e.user_agent, e.credential_type, e.credential_id, e.app_id, e.app_name, e.outcome,
           e.risk_level, e.evidence_sha256, e.line_no
    FROM f JOIN events e ON e.actor = f.actor AND e.ts BETWEEN f.t0 AND f.t1
    UNION
    SELECT f.id, e.event_uid, e.ts, e.platform, e.category, e.action, e.actor, e.repo, e.ip,
           e.country, e.city, e.user_agent, e.credential_type, e.credential_id, e.app_id, e.app_name, e.outcome,
           e.risk_level, e.evidence_sha256, e.line_no
    FROM f JOIN events e ON e.identity = f.identity AND e.ts BETWEEN f.t0 AND f.t1
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY finding_id, category = 'download' ORDER BY ts, event_uid) AS rn,
           count(*) OVER (PARTITION BY finding_id) AS total
    FROM hits WHERE list_contains(?, category)
)
SELECT finding_id, ts, platform, category, action, actor, repo, ip, country, city, user_agent, credential_type,
       credential_id, app_id, app_name, outcome, risk_level, event_uid, evidence_sha256, line_no, total
FROM ranked WHERE rn <= ? ORDER BY finding_id, ts, event_uid
"""

# Every credential or app an incident's events name, with counts over the whole window (not only the
# events kept in the timeline), so a token used for 5,000 downloads is not reported as used 150 times.
_USAGE_SQL = """
WITH f AS (
    SELECT id, actor, first_seen - to_hours(CAST(? AS BIGINT)) AS t0, last_seen + to_hours(1) AS t1
    FROM findings WHERE list_contains(?, id)
)
SELECT f.id, e.platform, e.credential_type, e.credential_id, e.app_id, any_value(e.app_name), count(*),
       min(e.ts), max(e.ts)
FROM f JOIN events e ON e.actor = f.actor AND e.ts BETWEEN f.t0 AND f.t1
WHERE e.category <> 'signin' AND (e.credential_id IS NOT NULL OR e.credential_type IS NOT NULL OR e.app_id IS NOT NULL)
GROUP BY ALL ORDER BY 1, 7 DESC, 3, 4, 5
"""

_CITED_SQL = """
SELECT f.id, e.event_uid, e.evidence_sha256
FROM (SELECT id, unnest(evidence) AS ref FROM findings WHERE list_contains(?, id)) f
JOIN events e ON e.evidence_sha256 = split_part(f.ref, ':', 1)
             AND e.line_no = TRY_CAST(split_part(f.ref, ':', 2) AS BIGINT)
"""


def _timelines(
    ws: Workspace, ids: list[str], lookback_hours: int
) -> tuple[dict[str, list[TimelineEvent]], dict[str, int]]:
    timelines: dict[str, list[TimelineEvent]] = defaultdict(list)
    totals: dict[str, int] = {}
    for row in _rows(ws, _TIMELINE_SQL, [lookback_hours, ids, list(CONTEXT_CATEGORIES), TIMELINE_PER_KIND]):
        fid = row[0]
        app = row[14] or row[13]
        timelines[fid].append(
            TimelineEvent(
                ts=iso_utc(row[1]), platform=row[2], category=row[3], action=row[4], actor=row[5], repo=row[6],
                ip=row[7], country=row[8], city=row[9], user_agent=row[10], credential_type=row[11],
                credential_id=row[12], app=app, outcome=row[15], risk_level=row[16], event_uid=row[17],
                evidence=f"{row[18]}:{row[19]}",
            )
        )  # fmt: skip
        totals[fid] = int(row[20])
    return timelines, totals


def _inventory_credentials(ws: Workspace) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(platform, credential_id) -> latest inventory row (kind, name, scopes, expires_at, owner)."""
    at = "coalesce(s.created_at, TIMESTAMP '1970-01-01')"
    rows = ws.con.execute(
        f"SELECT c.platform, c.credential_id, arg_max(c.kind, {at}), arg_max(c.name, {at}), arg_max(c.scopes, {at}), "
        f"arg_max(c.expires_at, {at}), arg_max(c.owner, {at}) "
        "FROM credentials c LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1, 2"
    ).fetchall()
    return {(r[0], str(r[1])): r[2:] for r in rows}


def _credentials_for(
    actor: str | None,
    usage: list[tuple[Any, ...]],
    inventory: dict[tuple[str, str], tuple[Any, ...]],
) -> list[CredentialInvolved]:
    merged: dict[tuple[str, str], list[Any]] = {}
    for _, platform, ctype, cid, _app, _name, count, first, last in usage:
        if cid is None and ctype is None:
            continue
        key = (platform, str(cid) if cid is not None else f"type:{ctype}")
        entry = merged.setdefault(key, [platform, ctype, cid, 0, first, last])
        entry[1] = entry[1] or ctype  # a token event may name the id without the type
        entry[3] += int(count)
        entry[4], entry[5] = min(entry[4], first), max(entry[5], last)
    seen: set[tuple[str, str]] = set()
    out: list[CredentialInvolved] = []
    for platform, ctype, cid, count, first, last in merged.values():
        inv = inventory.get((platform, str(cid))) if cid is not None else None
        if cid is not None:
            seen.add((platform, str(cid)))
        out.append(
            CredentialInvolved(
                platform=platform, kind=(inv[0] if inv else ctype) or "unknown", credential_id=cid,
                name=inv[1] if inv else None, scopes=tuple(inv[2] or ()) if inv else (),
                expires_at=_ts(inv[3]) if inv else None, events=count, first_used=_ts(first),
                last_used=_ts(last), in_inventory=inv is not None,
            )
        )  # fmt: skip
    for (platform, cid), inv in sorted(inventory.items()):
        if actor is not None and inv[4] == actor and (platform, cid) not in seen:
            out.append(
                CredentialInvolved(
                    platform=platform, kind=inv[0], credential_id=cid, name=inv[1], scopes=tuple(inv[2] or ()),
                    expires_at=_ts(inv[3]), events=0, first_used=None, last_used=None, in_inventory=True,
                )
            )  # fmt: skip
    return out


def _apps_for(usage: list[tuple[Any, ...]], inventory: dict[tuple[str, str], tuple[Any, ...]]) -> list[AppInvolved]:
    counts: dict[tuple[str, str], list[Any]] = {}
    for _, platform, _ctype, _cid, app_id, app_name, count, _first, _last in usage:
        if app_id is None:
            continue
        entry = counts.setdefault((platform, str(app_id)), [app_name, 0])
        entry[1] += int(count)
    out = []
    for (platform, app_id), (app_name, count) in counts.items():
        inv = inventory.get((platform, app_id))
        out.append(
            AppInvolved(
                platform=platform, app_id=app_id, name=(inv[0] if inv else None) or app_name,
                kind=inv[1] if inv else None, reach=inv[2] if inv else None, events=count,
            )
        )  # fmt: skip
    return out


def _context(ws: Workspace, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per finding: the actor's org (most common in its events), platform user id, identity object id, class."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for fid, org, actor_id in _rows(
        ws,
        "SELECT f.id, mode(e.org), mode(e.actor_id) FROM findings f JOIN events e "
        "ON e.actor = f.actor AND e.platform = f.platform AND e.ts BETWEEN f.first_seen AND f.last_seen "
        "WHERE list_contains(?, f.id) GROUP BY 1",
        [ids],
    ):
        out[fid].update(org=org, actor_id=actor_id)
    for fid, identity_id, account_class in _rows(
        ws,
        "SELECT f.id, coalesce(l.identity_id, i.identity_id), a.account_class FROM findings f "
        "LEFT JOIN account_links l ON l.platform = f.platform AND l.login = f.actor "
        "LEFT JOIN identities i ON i.upn = f.identity "
        "LEFT JOIN accounts a ON a.platform = f.platform AND a.login = f.actor "
        "WHERE list_contains(?, f.id)",
        [ids],
    ):
        out[fid].update(identity_id=identity_id, account_class=account_class)
    return out


def _grants(ws: Workspace, ids: list[str]) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Per finding: (repo, role, via[]) from the latest grants snapshot of its platform, for its repos."""
    out: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    for fid, repo, role, via in _rows(
        ws,
        "WITH latest AS (SELECT g.platform, arg_max(g.snapshot_id, coalesce(s.created_at, TIMESTAMP '1970-01-01')) "
        "AS snapshot_id FROM grants g LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1) "
        "SELECT f.id, g.repo, g.role, g.via FROM findings f JOIN latest l ON l.platform = f.platform "
        "JOIN grants g ON g.snapshot_id = l.snapshot_id AND g.platform = f.platform AND g.account = f.actor "
        "AND list_contains(f.repos, g.repo) WHERE list_contains(?, f.id) ORDER BY 1, 2",
        [ids],
    ):
        out[fid].append((repo, role, tuple(via or ())))
    return out


def _raw_files(ws: Workspace, shas: list[str]) -> dict[str, RawFile]:
    rows = _rows(ws, "SELECT sha256, source, stored_path, bytes FROM evidence WHERE list_contains(?, sha256)", [shas])
    found = {r[0]: RawFile(r[0], r[1], r[2], int(r[3])) for r in rows}
    return {sha: found.get(sha, RawFile(sha, None, None, None)) for sha in shas}


def build_incident_packs(ws: Workspace, findings: list[Finding], lookback_hours: int = 72) -> list[IncidentPack]:
    """Packs for every incident among `findings` (see `is_incident`), in the order given."""
    from auditor.reports.containment import containment_steps

    incidents = [f for f in findings if is_incident(f)]
    if not incidents:
        return []
    ids = [f.id for f in incidents]
    timelines, totals = _timelines(ws, ids, lookback_hours)
    usage: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in _rows(ws, _USAGE_SQL, [lookback_hours, ids]):
        usage[row[0]].append(row)
    cited: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for fid, uid, sha in _rows(ws, _CITED_SQL, [ids]):
        cited[fid].append((uid, sha))
    cred_inventory = _inventory_credentials(ws)
    app_inventory = {
        (r[0], str(r[1])): r[2:]
        for r in ws.con.execute(
            "SELECT platform, app_id, any_value(name), any_value(kind), any_value(reach) FROM apps GROUP BY 1, 2"
        ).fetchall()
    }
    context = _context(ws, ids)
    grants = _grants(ws, ids)
    all_shas = sorted(
        {sha for refs in cited.values() for _, sha in refs}
        | {e.evidence.split(":")[0] for t in timelines.values() for e in t}
    )
    raw = _raw_files(ws, all_shas)
    packs = []
    for f in incidents:
        timeline = timelines.get(f.id, [])
        creds = _credentials_for(f.actor, usage.get(f.id, []), cred_inventory)
        apps = _apps_for(usage.get(f.id, []), app_inventory)
        ctx = context.get(f.id, {})
        uids = sorted({uid for uid, _ in cited.get(f.id, [])} | {e.event_uid for e in timeline})
        shas = sorted({sha for _, sha in cited.get(f.id, [])} | {e.evidence.split(":")[0] for e in timeline})
        packs.append(
            IncidentPack(
                finding_id=f.id, severity=f.severity, score=f.score, platform=f.platform, actor=f.actor,
                identity=f.identity, account_class=ctx.get("account_class"), repos=tuple(f.repos),
                first_seen=iso_utc(f.first_seen), last_seen=iso_utc(f.last_seen), reasons=tuple(f.reasons),
                timeline=tuple(timeline), timeline_total=totals.get(f.id, 0), credentials=tuple(creds),
                apps=tuple(apps),
                containment=tuple(containment_steps(f, ctx, creds, apps, grants.get(f.id, []))),
                event_uids=tuple(uids), raw_files=tuple(raw[s] for s in shas),
            )
        )  # fmt: skip
    return packs
