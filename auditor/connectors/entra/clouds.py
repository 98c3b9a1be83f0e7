"""Which Azure Resource Manager belongs to which Graph: ARM follows the Graph cloud.

ARM (diagnostic settings: where sign-in logs are exported) is a different API with its own token
audience. A national cloud's Graph has its own ARM; a custom Graph root (a proxy, a sandbox) has no
known ARM, and then ARM is not asked at all (a coverage gap) unless `arm_url` names one: the auditor
never sends anything to the public cloud's ARM on a guess."""

from __future__ import annotations

from urllib.parse import urlsplit

ARM_BY_GRAPH_HOST = {
    "graph.microsoft.com": "https://management.azure.com",  # global
    "graph.microsoft.us": "https://management.usgovcloudapi.net",  # US Government (GCC High)
    "dod-graph.microsoft.us": "https://management.usgovcloudapi.net",  # US Government (DoD)
    "microsoftgraph.chinacloudapi.cn": "https://management.chinacloudapi.cn",  # China (21Vianet)
}


def arm_root(graph_url: str, arm_url: str | None) -> str | None:
    """The ARM root to ask: `arm_url` when given, else the ARM of `graph_url`'s cloud, else None."""
    if arm_url:
        return arm_url.rstrip("/")
    return ARM_BY_GRAPH_HOST.get((urlsplit(graph_url).hostname or "").lower())


def audience(root: str) -> str:
    """The token scope for an API root: its own `/.default` (a Graph token never serves ARM)."""
    return root.rstrip("/") + "/.default"
