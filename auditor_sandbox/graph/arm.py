"""The one Azure Resource Manager resource the Entra connector reads: Entra's diagnostic settings.

Diagnostic settings decide whether sign-ins are exported beyond Graph's 30-day retention (to a Log
Analytics workspace, storage account or event hub). They are ARM, not Graph, so real tenants serve
them from management.azure.com; the sandbox serves them from its own root and ARM's error shape.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from auditor_sandbox.graph.odata import GraphError, Query

ARM_PREFIX = "/providers/"
SETTINGS_PATH = "/providers/microsoft.aadiam/diagnosticsettings"


def default_diagnostic_settings(tenant_id: str) -> list[dict[str, Any]]:
    """One setting streaming interactive and non-interactive sign-ins to a Log Analytics workspace."""
    workspace = (
        f"/subscriptions/{uuid.uuid5(uuid.NAMESPACE_URL, tenant_id)}/resourceGroups/rg-security"
        "/providers/Microsoft.OperationalInsights/workspaces/acme-sentinel"
    )
    logs = [
        ("AuditLogs", True),
        ("SignInLogs", True),
        ("NonInteractiveUserSignInLogs", True),
        ("ServicePrincipalSignInLogs", False),
        ("ManagedIdentitySignInLogs", False),
        ("ProvisioningLogs", False),
        ("RiskyUsers", False),
        ("UserRiskEvents", False),
    ]
    return [
        {
            "id": "/providers/microsoft.aadiam/diagnosticSettings/acme-sentinel",
            "type": "microsoft.aadiam/diagnosticSettings",
            "name": "acme-sentinel",
            "properties": {
                "workspaceId": workspace,
                "storageAccountId": None,
                "eventHubAuthorizationRuleId": None,
                "eventHubName": None,
                "logs": [
                    {"category": name, "enabled": on, "retentionPolicy": {"enabled": False, "days": 0}}
                    for name, on in logs
                ],
            },
        }
    ]


def diagnostic_settings(path: str, query: Query, settings: list[dict[str, Any]]) -> bytes:
    """`GET /providers/microsoft.aadiam/diagnosticSettings?api-version=...` -> `{"value": [...]}`."""
    if path.rstrip("/").lower() != SETTINGS_PATH:
        raise GraphError(404, "ResourceNotFound", f"The resource '{path}' was not found.")
    if not query.get("api-version"):
        raise GraphError(
            400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required."
        )
    return json.dumps({"value": settings}).encode()


def arm_forbidden() -> GraphError:
    """What ARM answers a caller without Reader on microsoft.aadiam."""
    return GraphError(
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action 'microsoft.aadiam/diagnosticSettings/read' "
        "over scope '/providers/microsoft.aadiam' or the scope is invalid.",
    )
