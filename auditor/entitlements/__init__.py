"""Entitlements: what an owner can grant or take away (org role, base permission, team or group membership,
a team's grant on a repo, collaborators, apps, credentials, IdP groups and roles), the effective grants each
one produces, and its reach. The unit people review and remediate; grants are its consequence."""
