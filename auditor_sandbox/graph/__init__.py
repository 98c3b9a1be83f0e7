"""A sandbox Microsoft Graph API server that serves a generated acme tenant over HTTP on 127.0.0.1.

`serve_graph(sandbox_dir)` derives the directory (users, groups, roles, apps, consents, risk) and
the sign-ins from the files `auditor sandbox generate` wrote, and answers the requests the Entra
connector (msgraph-sdk) makes, the way Graph does.
"""

from auditor_sandbox.graph.server import GraphServer, serve_graph

__all__ = ["GraphServer", "serve_graph"]
