"""The sandbox tenant "acme": a deterministic simulated company whose logs come out in the vendors'
own export formats, with labelled incidents and benign bulk workflows as ground truth.

Entry point: `auditor_sandbox.generate.generate_tenant`.
"""
