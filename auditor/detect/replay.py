"""Replay context of an AN0732 episode: did the owner's IdP identity sign in from the network its
downloads came from? A credential used from IPs (and countries) where its owner did not sign in before
or during the activity is a replay indicator, said with the owner's last sign-in place and time."""

from __future__ import annotations

from auditor.config.models import DetectionSettings
from auditor.detect.engine import Engine
from auditor.detect.episode import Episode
from auditor.detect.stages import load_sql


def attach_owner_signins(engine: Engine, episodes: list[Episode], det: DetectionSettings) -> None:
    """Set `owner_signins` (a row of owner_signins.sql, or None) and `replay` on every episode; needs the
    episodes table attach_history loaded."""
    for e in episodes:
        e.owner_signins, e.replay = None, False
    pairs = [(e.key, ip, country) for e in episodes if e.upn for ip, country in _ip_countries(e)]
    if not pairs:
        return
    engine.load_rows("episode_ips", {"episode_key": "VARCHAR", "ip": "VARCHAR", "country": "VARCHAR"}, pairs)
    by_key = {e.key: e for e in episodes}
    sql = load_sql("owner_signins.sql", lookback_hours=det.precursor_lookback_hours, history_days=det.history_days)
    for row in engine.query(sql):
        e = by_key[row["episode_key"]]
        e.owner_signins = row
        # No sign-in from any of its IPs, nor from their countries, though the owner does sign in.
        e.replay = bool(row["last_signin_at"] or row["near_signins"]) and not (
            row["ips_signed_in"] or row["ips_same_country"]
        )


def _ip_countries(e: Episode) -> list[tuple[str, str | None]]:
    """The episode's download IPs, each with the episode's single country when there is exactly one."""
    countries = e.countries
    country = countries[0] if len(countries) == 1 else None
    return [(ip, country) for ip in e.ips]


def credential_phrase(e: Episode) -> str:
    """'Personal access token 41' or 'the account's credentials' when the events name none."""
    types, ids = e.credential_types, e.credential_ids
    if not (types or ids):
        return "the account's credentials"
    kind = "/".join(types) if types else "credential"
    return f"{kind} {', '.join(ids[:3])}".strip() + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def network_reason(e: Episode, lookback_hours: int) -> str | None:
    """Whether the owner signed in from the episode's network, in words; None without sign-in context."""
    row = e.owner_signins
    if not row:
        return None
    ips = ", ".join(e.ips[:3])
    if row["last_signin_at"] is not None:
        place = ", ".join(p for p in (row["last_signin_city"], row["last_signin_country"]) if p) or "unknown place"
        last = f"the owner's last sign-in before it was from {place} ({row['last_signin_ip']}) at " + row[
            "last_signin_at"
        ].strftime("%Y-%m-%d %H:%M UTC")
    else:
        last = "the owner has no sign-in in the history before it"
    if e.replay:
        return (
            f"Replay indicator: {credential_phrase(e)} used from IP {ips}, where its owner did not sign in "
            f"within {lookback_hours} h before or during the activity (nor from that country); {last}."
        )
    if row["ips_signed_in"]:
        return f"The owner signed in from the same IP ({ips}) within {lookback_hours} h before or during it."
    if row["ips_same_country"]:
        return f"The owner signed in from the same country, not the same IP ({ips}); {last}."
    return f"The owner did not sign in within {lookback_hours} h before or during it; {last}."
