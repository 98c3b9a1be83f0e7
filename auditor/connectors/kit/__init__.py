"""The connector kit: what GitHub, GitLab and Entra share (errors, pages, endpoints, gaps, evidence,
high-water marks, transport failures, the summary). Each connector keeps only what its platform says."""

from auditor.connectors.gaps import Gap
from auditor.connectors.kit.endpoints import Endpoint, optional, refusal_gap
from auditor.connectors.kit.errors import ApiError, AuthError, TransportError
from auditor.connectors.kit.page import Page
from auditor.connectors.kit.summary import CollectSummary

__all__ = [
    "ApiError",
    "AuthError",
    "CollectSummary",
    "Endpoint",
    "Gap",
    "Page",
    "TransportError",
    "optional",
    "refusal_gap",
]
