"""Importers for vendor-native export files: sniff the format, stage columnar, normalise in SQL."""
