"""What the executive summary leads with: the scope covered, the last access review, what changed since the
previous run, and the blind spots in plain words.

Read from the workspace (snapshots, runs, review tables, coverage gaps); plain sentences, escaping is the
template's job. Nothing here names a raw endpoint or a local URL: coverage-gap sources are mapped to
sentences, and anything left that looks like a URL, a loopback address or an API path is removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.runs import recent_runs

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

PLATFORM_NAMES = {"github": "GitHub", "gitlab": "GitLab", "entra": "Entra ID"}

_URL = re.compile(r"\b(?:https?|ftp)://[^\s)\]>\"']+", re.IGNORECASE)
_LOCAL = re.compile(r"\b(?:127(?:\.\d{1,3}){3}|localhost|\[?::1\]?)(?::\d+)?\b", re.IGNORECASE)
_API_PATH = re.compile(r"(?<![\w.])(?:(?:GET|POST|PUT|PATCH|DELETE)\s+)?/[\w.{}:-]+(?:/[\w.{}:-]+)+")
_HTTP_STATUS = re.compile(r"\(HTTP \d{3}\)")

# Known gap sources (matched in the source text, case-insensitive) -> a sentence without endpoints.
KNOWN_GAPS: tuple[tuple[str, str], ...] = (
    ("personal-access-token-requests", "{P}: pending requests for fine-grained personal access tokens could not be "
     "listed (the collector needs a GitHub App with organization token-request read access)."),
    ("personal-access-tokens", "{P}: fine-grained personal access tokens could not be listed, so which of them "
     "reach the organization is unknown (the collector needs a GitHub App with organization token read access)."),
    ("credential-authorizations", "{P}: SAML credential authorizations could not be listed: which tokens and SSH "
     "keys are authorized for the organization is unknown."),
    ("oauth app access restrictions", "{P}: whether OAuth apps need approval before reaching organization data is "
     "unknown (GitHub only records it in the audit log, and no such event was found)."),
    ("audit-log streaming", "{P}: audit-log streaming is not configured, so Git clone and pull events are kept only "
     "7 days and API requests are not recorded at all."),
    ("arestreamedanywhere", "{P}: whether Git clone and pull events are streamed anywhere is unknown (reading "
     "streaming destinations needs GitLab Ultimate and owner or administrator rights)."),
    ("signin", "{P}: sign-in logs are incomplete: odd logins before a bulk download may be missed."),
)  # fmt: skip


def plain(text: str) -> str:
    """`text` without URLs, loopback addresses, API paths or HTTP status codes; whitespace tidied."""
    text = _URL.sub("", text)
    text = _LOCAL.sub("", text)
    text = _API_PATH.sub("", text)
    text = _HTTP_STATUS.sub("", text)
    text = re.sub(r"\(\s*\)", "", text)
    return re.sub(r"\s+([,.;:)])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" ,;:")


def gap_sentence(platform: str, source: str, needs: str, consequence: str) -> str:
    """One coverage gap in plain words: a known source's sentence, else its consequence and need, cleaned."""
    name = PLATFORM_NAMES.get(platform, platform)
    low = f"{source} {consequence}".lower().replace(" ", "")
    for key, sentence in KNOWN_GAPS:
        if key.replace(" ", "") in low:
            return sentence.format(P=name)
    text = plain(f"{consequence} (needs {needs})")
    return f"{name}: {text[0].upper() + text[1:] if text else 'a source could not be read'}."


def gap_sentences(ws: Workspace) -> tuple[str, ...]:
    """Every recorded coverage gap as a sentence, duplicates (one need for several groups) merged."""
    rows = ws.con.execute(
        "SELECT DISTINCT platform, source, needs, consequence FROM coverage_gaps ORDER BY platform, source"
    ).fetchall()
    seen: dict[str, None] = {}
    for platform, source, needs, consequence in rows:
        seen.setdefault(gap_sentence(platform, source, needs, consequence), None)
    return tuple(seen)


def _host(source: str) -> str:
    """A collected source as shown in the scope line: an instance URL becomes its host, a loopback one says so."""
    match = _URL.search(source)
    if not match:
        return source
    url = match.group(0)
    if _LOCAL.search(url):
        return "a local (sandbox) instance"
    return re.sub(r"^\w+://", "", url).split("/")[0]


def scope_line(ws: Workspace) -> str:
    """Orgs, GitLab instance and groups, tenant, the time span of events and the coverage, in one sentence."""
    con = ws.con
    parts: list[str] = []
    orgs = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT split_part(full_name, '/', 1) FROM repos WHERE platform = 'github' ORDER BY 1"
        ).fetchall()
    ]
    if orgs:
        parts.append(f"GitHub organization{'s' if len(orgs) != 1 else ''} {', '.join(orgs)}")
    groups = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT split_part(full_name, '/', 1) FROM repos WHERE platform = 'gitlab' ORDER BY 1"
        ).fetchall()
    ]
    instances = [
        _host(str(r[0]))
        for r in con.execute(
            "SELECT DISTINCT source FROM snapshots WHERE kind = 'collect' AND platform = 'gitlab' "
            "AND source IS NOT NULL"
        ).fetchall()
    ]
    if groups or instances:
        where = f" on {', '.join(sorted(set(instances)))}" if instances else ""
        parts.append(f"GitLab group{'s' if len(groups) != 1 else ''} {', '.join(groups) or 'unknown'}{where}")
    tenants = [
        plain(str(r[0]))
        for r in con.execute(
            "SELECT DISTINCT source FROM snapshots WHERE kind = 'collect' AND platform = 'entra' AND source IS NOT NULL"
        ).fetchall()
    ]
    if tenants:
        parts.append(f"Entra tenant {', '.join(tenants)}")
    span: Any = con.execute("SELECT min(ts), max(ts), count(*) FROM events").fetchone()
    if span and span[2]:
        days = (span[1] - span[0]).days + 1
        parts.append(f"events from {span[0]:%Y-%m-%d} to {span[1]:%Y-%m-%d} ({days} days, {int(span[2]):,} events)")
    else:
        parts.append("no events imported")
    platforms: Any = con.execute("SELECT count(DISTINCT platform) FROM events").fetchone()
    gaps: Any = con.execute("SELECT count(*) FROM (SELECT DISTINCT platform, source FROM coverage_gaps)").fetchone()
    n_gaps = int(gaps[0]) if gaps else 0
    parts.append(
        f"coverage: logs from {int(platforms[0]) if platforms else 0} of 3 platforms, "
        f"{n_gaps} coverage gap{'s' if n_gaps != 1 else ''} recorded"
    )
    return "Scope: " + "; ".join(parts) + "."  # fmt: skip


@dataclass(frozen=True)
class CampaignStatus:
    name: str
    status: str
    created_at: str
    rows: int
    decided: int
    revocations: int
    revocations_done: int

    @property
    def completion(self) -> int:
        return round(100 * self.decided / self.rows) if self.rows else 100

    @property
    def revocations_pending(self) -> int:
        return self.revocations - self.revocations_done

    @property
    def sentence(self) -> str:
        done = (
            f"{self.revocations_done:,} done and {self.revocations_pending:,} pending in the newest snapshot"
            if self.revocations
            else "none decided"
        )
        return (
            f"Last access review “{self.name}” ({self.status}, started {self.created_at}): {self.completion}% "
            f"decided ({self.decided:,} of {self.rows:,} rows); revocations: {self.revocations:,}, {done}."
        )


# A revoke is done when what it revokes no longer appears in the newest snapshot: the entitlement for
# entitlement-level campaigns (review_rows), the account's grant on the repo for older ones (review_items).
_CAMPAIGN_SQL = """
WITH d AS (
    SELECT row_id, arg_max(decision, imported_at) AS decision FROM review_decisions WHERE campaign_id = ? GROUP BY 1
),
ent_latest AS (
    SELECT e.platform, arg_max(e.snapshot_id, coalesce(s.created_at, TIMESTAMP '1970-01-01')) AS snapshot_id
    FROM entitlements e LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1
),
ents AS (SELECT e.entitlement_id FROM entitlements e JOIN ent_latest USING (platform, snapshot_id)),
gr_latest AS (
    SELECT g.platform, arg_max(g.snapshot_id, coalesce(s.created_at, TIMESTAMP '1970-01-01')) AS snapshot_id
    FROM grants g LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1
),
grs AS (SELECT g.platform, g.account, g.repo FROM grants g JOIN gr_latest USING (platform, snapshot_id)),
rows AS (
    SELECT r.row_id, r.entitlement_id IN (SELECT entitlement_id FROM ents) AS present
    FROM review_rows r WHERE r.campaign_id = ?
    UNION ALL
    SELECT i.row_id, EXISTS (SELECT 1 FROM grs WHERE grs.platform = i.platform AND grs.account = i.account
                                                  AND grs.repo = i.repo) AS present
    FROM review_items i WHERE i.campaign_id = ?
)
SELECT count(*) AS total, count(d.decision) AS decided,
       count(*) FILTER (WHERE d.decision = 'revoke') AS revocations,
       count(*) FILTER (WHERE d.decision = 'revoke' AND NOT rows.present) AS revocations_done
FROM rows LEFT JOIN d USING (row_id)
"""


def last_campaign(ws: Workspace) -> CampaignStatus | None:
    """The newest access-review campaign's progress; None when no campaign was ever started."""
    head: Any = ws.con.execute(
        "SELECT campaign_id, name, status, created_at FROM review_campaigns ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    if head is None:
        return None
    cid = head[0]
    counts: Any = ws.con.execute(_CAMPAIGN_SQL, [cid, cid, cid]).fetchone()
    return CampaignStatus(
        name=str(head[1]), status=str(head[2]), created_at=f"{head[3]:%Y-%m-%d}", rows=int(counts[0]),
        decided=int(counts[1]), revocations=int(counts[2]), revocations_done=int(counts[3]),
    )  # fmt: skip


def _grant_counts(ws: Workspace) -> tuple[int, int | None, int, int | None] | None:
    """(grants now, grants before, accounts now, accounts before) over the newest two snapshots per platform."""
    rows: Any = ws.con.execute(
        "WITH s AS (SELECT g.platform, g.snapshot_id, coalesce(max(sn.created_at), TIMESTAMP '1970-01-01') AS taken "
        "FROM grants g LEFT JOIN snapshots sn USING (snapshot_id) GROUP BY 1, 2), "
        "r AS (SELECT *, row_number() OVER (PARTITION BY platform ORDER BY taken DESC, snapshot_id DESC) AS age "
        "FROM s) "
        "SELECT r.age, count(*), count(DISTINCT (g.platform, g.account)), count(DISTINCT r.platform) "
        "FROM grants g JOIN r USING (platform, snapshot_id) WHERE r.age <= 2 GROUP BY 1 ORDER BY 1"
    ).fetchall()
    by_age = {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}
    if 1 not in by_age:
        return None
    now = by_age[1]
    before = by_age.get(2)
    if before is None or before[2] != now[2]:  # some platform has no earlier snapshot: no comparison
        return now[0], None, now[1], None
    return now[0], before[0], now[1], before[1]


def _signed(n: int) -> str:
    return "no change" if n == 0 else (f"+{n:,}" if n > 0 else f"−{-n:,}")


def changes(ws: Workspace) -> tuple[str, ...]:
    """Change since the previous detection run and the previous inventory snapshot; "first run" when none."""
    out: list[str] = []
    runs = recent_runs(ws, "detect", 2)
    if not runs:
        out.append("Detection: no detection run recorded yet (runs are recorded from this version on).")
    elif len(runs) == 1:
        n = int(runs[0].summary.get("open_incidents", 0))
        out.append(f"Detection: first recorded run ({runs[0].started_at:%Y-%m-%d}), {n:,} open incidents.")
    else:
        now = set(runs[0].summary.get("open_incident_ids", []))
        before = set(runs[1].summary.get("open_incident_ids", []))
        out.append(
            f"Detection since the previous run ({runs[1].started_at:%Y-%m-%d}): {len(now - before):,} new and "
            f"{len(before - now):,} resolved incidents; {len(now):,} open now."
        )
    grants = _grant_counts(ws)
    if grants is None:
        out.append("Access: grants were not collected, so no change can be computed.")
    elif grants[1] is None or grants[3] is None:
        out.append(f"Access: first snapshot ({grants[0]:,} grants, {grants[2]:,} accounts); no earlier one to compare.")
    else:
        out.append(
            f"Access since the previous snapshot: grants {_signed(grants[0] - grants[1])} (now {grants[0]:,}), "
            f"accounts with access {_signed(grants[2] - grants[3])} (now {grants[2]:,})."
        )
    return tuple(out)
