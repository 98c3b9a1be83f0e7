"""Generate the acme sandbox tenant: plan day by day, stream each vendor file in time order.

Public entry point: `generate_tenant`. With `events=N` a cheap counting pass (plans only, no
records) measures the fixed part of the tenant, then developers' GitHub git activity is scaled so
the total record count lands near N. Memory stays bounded by one day's plan plus the records of
bursts that overlap in time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor_sandbox.activity import ActivityPlanner
from auditor_sandbox.benign import build_benign
from auditor_sandbox.benign_lookalikes import build_lookalikes
from auditor_sandbox.documents import write_config, write_ground_truth, write_users
from auditor_sandbox.incidents import build_incidents
from auditor_sandbox.incidents_apps import build_app_scenarios
from auditor_sandbox.incidents_tokens import build_token_scenarios
from auditor_sandbox.inventory_github import INVENTORY_FILE as GITHUB_INVENTORY
from auditor_sandbox.inventory_github import build_github_inventory, scan_access, write_inventory
from auditor_sandbox.inventory_gitlab import INVENTORY_FILE as GITLAB_INVENTORY
from auditor_sandbox.inventory_gitlab import build_gitlab_inventory, scan_gitlab_logs, write_gitlab_inventory
from auditor_sandbox.plan import DAY_MS, ENTRA, GITHUB, GITLAB_API, GITLAB_AUDIT, Context
from auditor_sandbox.scenarios import Kit, ScenarioSet, Timeline, plan_timeline
from auditor_sandbox.tenant import Tenant, build_tenant
from auditor_sandbox.writers import BackgroundWriter, SortedSink, gitlab_lines, iso_utc

END = datetime(2026, 10, 1, tzinfo=UTC)
STREAM_FILES = {
    ENTRA: "entra/signins.ndjson",
    GITHUB: "github/audit-log.ndjson",
    GITLAB_AUDIT: "gitlab/audit-events.ndjson",
    GITLAB_API: "gitlab/api_json.log",
}
USERS_FILE = "entra/users.json"
TRUTH_FILE = "ground_truth.json"
CONFIG_FILE = "auditor.yaml"
FLUSH_STEP_MS = 30 * 60_000  # write out queued records at most every 30 simulated minutes


@dataclass(frozen=True)
class SandboxSummary:
    """What `generate_tenant` wrote: relative path -> record count, scenario count and the window."""

    out_dir: Path
    files: dict[str, int]
    scenarios: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Sandbox:
    """The planned tenant before anything is written (also useful to serve it over fake APIs)."""

    tenant: Tenant
    timeline: Timeline
    context: Context
    activity: ActivityPlanner
    scenarios: ScenarioSet


def build_sandbox(*, seed: int = 7, users: int = 300, repos: int = 400, days: int = 90) -> Sandbox:
    """Model, timeline and labelled scenarios for these arguments; deterministic in all of them."""
    start = END - timedelta(days=days)
    timeline = plan_timeline(seed, days)
    tenant = build_tenant(seed, users, repos, start, hire_day=timeline.onboarding, leave_day=timeline.leave_day)
    ctx = Context(tenant, start, days)
    activity = ActivityPlanner(ctx)
    scenarios = ScenarioSet()
    kit = Kit(ctx, scenarios)
    build_incidents(ctx, timeline, kit)
    build_benign(ctx, timeline, kit, activity.automation)
    build_app_scenarios(ctx, kit)
    build_token_scenarios(ctx, kit)
    build_lookalikes(ctx, kit)
    return Sandbox(tenant, timeline, ctx, activity, scenarios)


def generate_tenant(
    out_dir: Path,
    *,
    seed: int = 7,
    users: int = 300,
    repos: int = 400,
    days: int = 90,
    events: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SandboxSummary:
    """Write the tenant's vendor-format files under `out_dir`; same arguments give identical bytes."""
    box = build_sandbox(seed=seed, users=users, repos=repos, days=days)
    ctx = box.context
    fixed = users + len(box.scenarios.truth) + 1  # users.json entries, ground-truth rows, the config
    scale, total = 1.0, 0
    if events is not None or progress is not None:
        base, intensity, scaled = _count(box, seed)
        total = fixed + base + scaled
        if events is not None:
            if events < (fixed + base) * 0.95:
                raise ValueError(
                    f"--events {events} is below this tenant's fixed volume of about {fixed + base} records; "
                    "lower --users, --repos or --days"
                )
            scale = max(0.0, (events - fixed - base) / intensity) if intensity else 0.0
            total = fixed + base + round(scale * intensity)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {USERS_FILE: write_users(out_dir / USERS_FILE, box.tenant, ctx.start)}
    files.update(_stream(box, out_dir, seed, scale, fixed, total, progress))
    accessed = scan_access(out_dir / STREAM_FILES[GITHUB])
    inventory = build_github_inventory(box.tenant, now=END, accessed=accessed)
    files[GITHUB_INVENTORY] = write_inventory(out_dir / GITHUB_INVENTORY, inventory)
    facts = scan_gitlab_logs(out_dir)
    gitlab_inventory = build_gitlab_inventory(box.tenant, ctx.start, END, facts)
    files[GITLAB_INVENTORY] = write_gitlab_inventory(out_dir, gitlab_inventory)
    files[TRUTH_FILE] = write_ground_truth(out_dir / TRUTH_FILE, seed, ctx.start, END, box.scenarios.truth)
    files[CONFIG_FILE] = write_config(out_dir / CONFIG_FILE, _approved(box))
    if progress is not None:
        done = sum(files.values())
        progress(done, done)
    return SandboxSummary(out_dir, dict(sorted(files.items())), len(box.scenarios.truth), ctx.start, END)


def _day_rngs(seed: int, day: int) -> tuple[random.Random, ...]:
    return tuple(random.Random(f"acme:{seed}:day:{day}:{s}") for s in ("plan", "scaled", "expand", "scaled-expand"))


def _count(box: Sandbox, seed: int) -> tuple[int, float, int]:
    """Plan every day without building records: (fixed record count, intensity sum, scaled count at 1x)."""
    base, intensity, scaled = box.scenarios.count(), 0.0, 0
    for day in range(box.context.days):
        plan_rng, scaled_rng, _, _ = _day_rngs(seed, day)
        bursts, x = box.activity.plan_day(day, plan_rng, scaled_rng, 1.0)
        intensity += x
        for b in bursts:
            if b.scaled:
                scaled += b.count
            else:
                base += b.count
    return base, intensity, scaled


def _stream(
    box: Sandbox,
    out_dir: Path,
    seed: int,
    scale: float,
    fixed: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, int]:
    ctx = box.context
    formats = {GITLAB_AUDIT: gitlab_lines(1_000_000 + seed % 1000 * 1000)}
    writer = BackgroundWriter()
    sinks: dict[str, SortedSink] = {}
    try:
        for key, rel in STREAM_FILES.items():
            sinks[key] = SortedSink(out_dir / rel, ctx.end_ms, writer, formats.get(key))
        flushers = [s.flush_before for s in sinks.values()]
        queues = {key: s.pending for key, s in sinks.items()}
        flushed = 0
        for day in range(ctx.days):
            plan_rng, scaled_rng, expand_rng, scaled_expand_rng = _day_rngs(seed, day)
            bursts, _ = box.activity.plan_day(day, plan_rng, scaled_rng, scale)
            bursts.extend(box.scenarios.bursts(day))
            bursts.sort(key=lambda b: b.start)
            day_end = ctx.day_ms(day) + DAY_MS
            for b in bursts:
                if b.start - flushed >= FLUSH_STEP_MS and flushed < day_end:
                    flushed = min(b.start, day_end)
                    for flush in flushers:
                        flush(flushed)
                records = b.expand(scaled_expand_rng if b.scaled else expand_rng)
                if b.stream is not None:
                    queues[b.stream].extend(records)
                else:
                    for record in records:
                        queues[record[0]].append(record)
            for flush in flushers:
                flush(day_end)
            flushed = day_end
            if progress is not None:
                progress(min(total, fixed + sum(s.count for s in sinks.values())), total)
        for s in sinks.values():
            s.finish()
    finally:
        try:
            writer.close()
        finally:
            for s in sinks.values():
                s.close_file()
    return {STREAM_FILES[key]: s.count for key, s in sinks.items()}


def _approved(box: Sandbox) -> list[tuple[str, str, str, str, tuple[str, str] | None]]:
    bots = box.tenant.bots
    start = box.context.start
    m = box.timeline.migration
    window = (iso_utc(start + timedelta(days=m)), iso_utc(start + timedelta(days=m + 2)))
    return [
        ("nightly-backup", bots["backup"].login, "github", "backup", None),
        ("ci-builds", bots["ci"].login, "github", "ci", None),
        ("github-mirror", bots["gh_mirror"].login, "github", "mirror", None),
        ("gitlab-mirror", bots["gl_mirror"].login, "gitlab", "mirror", None),
        ("gitlab-migration", bots["migration"].login, "gitlab", "migration", window),
    ]
