"""Identity Protection data of the sandbox directory: risk detections and the risky users they raise.

Two sources: the sign-ins the generator already marked risky (`riskLevelDuringSignIn` not none,
e.g. the departing GitLab developer's high-risk sign-in) become real-time detections, one per
`riskEventTypes` entry; and three incidents whose precursor sign-in Identity Protection would flag
afterwards (impossible travel, new country) become offline detections tied to that sign-in.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from auditor_sandbox.graph.directory import Directory

LEVELS = ("none", "low", "medium", "high")
# incident -> (riskEventType, riskLevel) of the offline detection on its precursor sign-in
OFFLINE = {
    "admin-impossible-travel-clone": ("impossibleTravel", "medium"),
    "finance-pat-bulk-clone": ("newCountry", "medium"),
    "gitlab-guest-pat-api": ("newCountry", "low"),
}
PRECURSOR_WINDOW = timedelta(hours=72)
OFFLINE_DELAY = timedelta(hours=3, minutes=17)


def add_risk(d: Directory) -> None:
    """Fill in `risk_detections` (oldest first) and `risky_users` (one per user with a detection)."""
    detections: list[dict[str, Any]] = []
    for signin in d.signins.risky:
        events = signin.get("riskEventTypes_v2") or signin.get("riskEventTypes") or ["unfamiliarFeatures"]
        for event in events:
            detections.append(_detection(d, signin, str(event), str(signin["riskLevelDuringSignIn"]), None))
    for incident, (event, level) in OFFLINE.items():
        if incident not in d.incidents:
            continue
        user_id, start = d.incidents[incident]
        precursor = _precursor(d.signins.watched.get(user_id, []), start)
        if precursor is not None:
            detections.append(_detection(d, precursor, event, level, OFFLINE_DELAY))
    detections.sort(key=lambda row: (row["activityDateTime"], row["id"]))
    d.risk_detections = detections
    worst: dict[str, dict[str, Any]] = {}
    for row in detections:
        user = worst.setdefault(row["userId"], {"level": "none", "at": row["detectedDateTime"], "row": row})
        if LEVELS.index(row["riskLevel"]) > LEVELS.index(user["level"]):
            user["level"] = row["riskLevel"]
        user["at"] = max(user["at"], row["detectedDateTime"])
    d.risky_users = [
        {
            "id": user_id,
            "isDeleted": False,
            "isProcessing": False,
            "riskLastUpdatedDateTime": info["at"],
            "riskLevel": info["level"],
            "riskState": "atRisk",
            "riskDetail": "none",
            "userDisplayName": info["row"]["userDisplayName"],
            "userPrincipalName": info["row"]["userPrincipalName"],
        }
        for user_id, info in worst.items()
    ]


def _precursor(signins: list[dict[str, Any]], start: datetime) -> dict[str, Any] | None:
    """The user's last interactive sign-in in the 72 h before `start`, preferring an unusual country."""
    countries = Counter(_country(s) for s in signins)
    usual = countries.most_common(1)[0][0] if countries else None
    window = [s for s in signins if s.get("isInteractive", True) and start - PRECURSOR_WINDOW <= _when(s) <= start]
    window.sort(key=_when)
    unusual = [s for s in window if _country(s) != usual]
    chosen = unusual or window
    return chosen[-1] if chosen else None


def _detection(d: Directory, signin: dict[str, Any], event: str, level: str, delay: timedelta | None) -> dict[str, Any]:
    when = _when(signin)
    detected = _iso(when + (delay or timedelta(seconds=2)))
    return {
        "id": d.object_id("risk-detection", str(signin["id"]), event),
        "requestId": signin["id"],
        "correlationId": signin.get("correlationId"),
        "riskEventType": event,
        "riskState": "atRisk",
        "riskLevel": level,
        "riskDetail": "none",
        "source": "IdentityProtection",
        "detectionTimingType": "offline" if delay else "realtime",
        "activity": "signin",
        "tokenIssuerType": "AzureAD",
        "ipAddress": signin.get("ipAddress"),
        "location": signin.get("location"),
        "activityDateTime": _iso(when),
        "detectedDateTime": detected,
        "lastUpdatedDateTime": detected,
        "userId": signin["userId"],
        "userDisplayName": signin.get("userDisplayName"),
        "userPrincipalName": signin.get("userPrincipalName"),
        "additionalInfo": "[]",
    }


def _country(signin: dict[str, Any]) -> str | None:
    location = signin.get("location")
    return str(location.get("countryOrRegion")) if isinstance(location, dict) else None


def _when(signin: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(signin["createdDateTime"]))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
