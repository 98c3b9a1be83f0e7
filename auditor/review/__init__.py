"""Quarterly access-review campaigns: frozen snapshot, worksheets per reviewer, decisions, evidence."""
