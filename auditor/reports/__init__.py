"""Reports rendered from the workspace: Jinja2 templates in `reports/templates/`, PDF via WeasyPrint.

Import `auditor.reports.render` for the public API; this package stays import-light so the CLI
starts fast (WeasyPrint is only imported when a PDF is actually rendered).
"""
