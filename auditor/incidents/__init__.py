"""Incidents: which findings are incidents, their response packs, and the containment steps for each.

A domain package shared by the reports (`auditor.reports`) and the evidence pack (`auditor.evidence.pack`);
it imports neither, so neither can form a cycle through it. `model` holds the data, `containment` the pure
step builders, `packs` the selection and the set-based queries that fill the packs.
"""

from auditor.incidents.model import (
    AppInvolved,
    ContainmentStep,
    CredentialInvolved,
    IncidentPack,
    RawFile,
    TimelineEvent,
)
from auditor.incidents.packs import INCIDENT_SEVERITIES, build_incident_packs, incident_findings, is_incident

__all__ = [
    "INCIDENT_SEVERITIES",
    "AppInvolved",
    "ContainmentStep",
    "CredentialInvolved",
    "IncidentPack",
    "RawFile",
    "TimelineEvent",
    "build_incident_packs",
    "incident_findings",
    "is_incident",
]
