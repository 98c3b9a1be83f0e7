"""Evidence packs: the workspace, its raw inputs and its findings in one zip whose integrity anyone can check.

`pack.export_pack` writes it, `verify.verify_pack` recomputes every hash in `manifest.json`, and `ocsf`
maps findings to OCSF Detection Finding objects.
"""
