"""repo-auditor: access, activity and identity for restricted source code (MITRE AN0732)."""

__version__ = "0.1.0"
