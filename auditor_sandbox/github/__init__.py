"""The sandbox GitHub API server (REST + GraphQL) for the acme org; see `server.serve_github`."""
