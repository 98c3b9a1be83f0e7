"""GitHub connector: PyGithub (REST) and GraphQL through its requester; see `collect.collect`."""
