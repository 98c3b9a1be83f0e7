"""Live connectors: each talks to one platform and returns what it said (raw pages), nothing more."""
