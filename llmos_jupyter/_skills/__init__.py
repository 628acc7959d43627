"""See the package docstring of llmos_jupyter and docs/architecture.md."""
