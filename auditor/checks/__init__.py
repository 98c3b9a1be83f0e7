"""Governance checks over the latest inventory snapshot per platform (who has what), with framework mappings."""
