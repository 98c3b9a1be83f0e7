"""Machine outputs for the tools next door: SARIF 2.1.0 (code scanning, Defender for DevOps) and OCSF JSONL
(SIEMs, data lakes) for `auditor findings` and `auditor check`."""
