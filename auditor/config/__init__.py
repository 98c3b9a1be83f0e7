"""Typed configuration: pydantic models and a YAML loader that reports errors by key path and line."""
