"""Incident response packs for high and critical AN0732 findings: what happened, with what, and what to do.

One pack per open high/critical AN0732 finding: the evidence timeline (sign-ins, token events, downloads
around the finding), the credentials and apps involved, containment steps naming the exact platform
action for this case, and the evidence preserved (event uids and the SHA-256 of the raw files). It
recommends; nothing here calls a platform. Everything is read with a few set-based queries for all packs
at once, so a workspace with thousands of incidents costs the same number of round trips as one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.findings import Finding, iso_utc
from auditor.incidents.containment import containment_steps
from auditor.incidents.model import AppInvolved, CredentialInvolved, IncidentPack, RawFile, TimelineEvent

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

INCIDENT_SEVERITIES = ("critical", "high")
TIMELINE_PER_KIND = 150  # events per incident and per kind (downloads vs everything else)
AFTER_HOURS = 1  # the timeline runs until an hour after the last download
CONTEXT_CATEGORIES = ("signin", "credential", "download", "membership", "other")
BROAD_SCOPES = ("repo", "admin:org", "delete_repo", "write:org", "api", "write_repository", "sudo", "write", "admin")


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
    rows = _dicts(
        ws,
        "SELECT id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, reasons, "
        "evidence, suppressed, suppression_reason, coalesce(status, 'new') AS status FROM findings "
        "WHERE NOT suppressed AND analytic LIKE 'AN0732%' "
        "AND list_contains(?, severity) AND coalesce(status, 'new') <> 'false_positive' "
        "ORDER BY list_position(['critical','high','medium','low','info'], severity), score DESC, first_seen, id",
        [list(INCIDENT_SEVERITIES)],
    )
    return [
        Finding(
            id=r["id"], analytic=r["analytic"], severity=r["severity"], score=int(r["score"]),
            platform=r["platform"], actor=r["actor"], identity=r["identity"], repos=list(r["repos"] or []),
            first_seen=r["first_seen"], last_seen=r["last_seen"], reasons=list(r["reasons"] or []),
            evidence=list(r["evidence"] or []), suppressed=bool(r["suppressed"]),
            suppression_reason=r["suppression_reason"], status=r["status"] or "new",
        )
        for r in rows
    ]  # fmt: skip


def _ts(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def _dicts(ws: Workspace, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name, so a reordered SELECT cannot shift a field silently."""
    cur = ws.con.execute(sql, params or [])
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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
SELECT f.id, e.platform, e.credential_type, e.credential_id, e.app_id, any_value(e.app_name) AS app_name,
       count(*) AS events, min(e.ts) AS first_ts, max(e.ts) AS last_ts
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
    for r in _dicts(ws, _TIMELINE_SQL, [lookback_hours, ids, list(CONTEXT_CATEGORIES), TIMELINE_PER_KIND]):
        fid = r["finding_id"]
        timelines[fid].append(
            TimelineEvent(
                ts=iso_utc(r["ts"]), platform=r["platform"], category=r["category"], action=r["action"],
                actor=r["actor"], repo=r["repo"], ip=r["ip"], country=r["country"], city=r["city"],
                user_agent=r["user_agent"], credential_type=r["credential_type"], credential_id=r["credential_id"],
                app=r["app_name"] or r["app_id"], outcome=r["outcome"], risk_level=r["risk_level"],
                event_uid=r["event_uid"], evidence=f"{r['evidence_sha256']}:{r['line_no']}",
            )
        )  # fmt: skip
        totals[fid] = int(r["total"])
    return timelines, totals


def _inventory_credentials(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    """(platform, credential_id) -> latest inventory row (kind, name, scopes, expires_at, owner)."""
    at = "coalesce(s.created_at, TIMESTAMP '1970-01-01')"
    rows = _dicts(
        ws,
        f"SELECT c.platform, c.credential_id, arg_max(c.kind, {at}) AS kind, arg_max(c.name, {at}) AS name, "
        f"arg_max(c.scopes, {at}) AS scopes, arg_max(c.expires_at, {at}) AS expires_at, "
        f"arg_max(c.owner, {at}) AS owner FROM credentials c LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1, 2",
    )
    return {(r["platform"], str(r["credential_id"])): r for r in rows}


def _credentials_for(
    actor: str | None,
    usage: list[dict[str, Any]],
    inventory: dict[tuple[str, str], dict[str, Any]],
) -> list[CredentialInvolved]:
    merged: dict[tuple[str, str], list[Any]] = {}
    for u in usage:
        platform, ctype, cid = u["platform"], u["credential_type"], u["credential_id"]
        count, first, last = u["events"], u["first_ts"], u["last_ts"]
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
                platform=platform, kind=(inv["kind"] if inv else ctype) or "unknown", credential_id=cid,
                name=inv["name"] if inv else None, scopes=tuple(inv["scopes"] or ()) if inv else (),
                expires_at=_ts(inv["expires_at"]) if inv else None, events=count, first_used=_ts(first),
                last_used=_ts(last), in_inventory=inv is not None,
            )
        )  # fmt: skip
    for (platform, cid), inv in sorted(inventory.items()):
        if actor is not None and inv["owner"] == actor and (platform, cid) not in seen:
            out.append(
                CredentialInvolved(
                    platform=platform, kind=inv["kind"], credential_id=cid, name=inv["name"],
                    scopes=tuple(inv["scopes"] or ()), expires_at=_ts(inv["expires_at"]), events=0,
                    first_used=None, last_used=None, in_inventory=True,
                )
            )  # fmt: skip
    return out


def _apps_for(usage: list[dict[str, Any]], inventory: dict[tuple[str, str], dict[str, Any]]) -> list[AppInvolved]:
    counts: dict[tuple[str, str], list[Any]] = {}
    for u in usage:
        if u["app_id"] is None:
            continue
        entry = counts.setdefault((u["platform"], str(u["app_id"])), [u["app_name"], 0])
        entry[1] += int(u["events"])
    out = []
    for (platform, app_id), (app_name, count) in counts.items():
        inv = inventory.get((platform, app_id))
        out.append(
            AppInvolved(
                platform=platform, app_id=app_id, name=(inv["name"] if inv else None) or app_name,
                kind=inv["kind"] if inv else None, reach=inv["reach"] if inv else None, events=count,
            )
        )  # fmt: skip
    return out


def _context(ws: Workspace, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per finding: the actor's org (most common in its events), platform user id, identity object id, class."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in _dicts(
        ws,
        "SELECT f.id, mode(e.org) AS org, mode(e.actor_id) AS actor_id FROM findings f JOIN events e "
        "ON e.actor = f.actor AND e.platform = f.platform AND e.ts BETWEEN f.first_seen AND f.last_seen "
        "WHERE list_contains(?, f.id) GROUP BY 1",
        [ids],
    ):
        out[r["id"]].update(org=r["org"], actor_id=r["actor_id"])
    for r in _dicts(
        ws,
        "SELECT f.id, coalesce(l.identity_id, i.identity_id) AS identity_id, a.account_class FROM findings f "
        "LEFT JOIN account_links l ON l.platform = f.platform AND l.login = f.actor "
        "LEFT JOIN identities i ON i.upn = f.identity "
        "LEFT JOIN accounts a ON a.platform = f.platform AND a.login = f.actor "
        "WHERE list_contains(?, f.id)",
        [ids],
    ):
        out[r["id"]].update(identity_id=r["identity_id"], account_class=r["account_class"])
    return out


def _grants(ws: Workspace, ids: list[str]) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Per finding: (repo, role, via[]) from the latest grants snapshot of its platform, for its repos."""
    out: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    for r in _dicts(
        ws,
        "WITH latest AS (SELECT g.platform, arg_max(g.snapshot_id, coalesce(s.created_at, TIMESTAMP '1970-01-01')) "
        "AS snapshot_id FROM grants g LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1) "
        "SELECT f.id, g.repo, g.role, g.via FROM findings f JOIN latest l ON l.platform = f.platform "
        "JOIN grants g ON g.snapshot_id = l.snapshot_id AND g.platform = f.platform AND g.account = f.actor "
        "AND list_contains(f.repos, g.repo) WHERE list_contains(?, f.id) ORDER BY 1, 2",
        [ids],
    ):
        out[r["id"]].append((r["repo"], r["role"], tuple(r["via"] or ())))
    return out


def _raw_files(ws: Workspace, shas: list[str]) -> dict[str, RawFile]:
    rows = _dicts(ws, "SELECT sha256, source, stored_path, bytes FROM evidence WHERE list_contains(?, sha256)", [shas])
    found = {r["sha256"]: RawFile(r["sha256"], r["source"], r["stored_path"], int(r["bytes"])) for r in rows}
    return {sha: found.get(sha, RawFile(sha, None, None, None)) for sha in shas}


def build_incident_packs(ws: Workspace, findings: list[Finding], lookback_hours: int = 72) -> list[IncidentPack]:
    """Packs for every incident among `findings` (see `is_incident`), in the order given."""
    incidents = [f for f in findings if is_incident(f)]
    if not incidents:
        return []
    ids = [f.id for f in incidents]
    timelines, totals = _timelines(ws, ids, lookback_hours)
    usage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _dicts(ws, _USAGE_SQL, [lookback_hours, ids]):
        usage[row["id"]].append(row)
    cited: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in _dicts(ws, _CITED_SQL, [ids]):
        cited[row["id"]].append((row["event_uid"], row["evidence_sha256"]))
    cred_inventory = _inventory_credentials(ws)
    app_inventory = {
        (r["platform"], str(r["app_id"])): r
        for r in _dicts(
            ws,
            "SELECT platform, app_id, any_value(name) AS name, any_value(kind) AS kind, any_value(reach) AS reach "
            "FROM apps GROUP BY 1, 2",
        )
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
