"""The package's one version. Hatch reads it for the wheel (``[tool.hatch.version]`` in
pyproject.toml); ``labextension/package.json`` must carry the same string: the
labextension build (``scripts/gen-contract.mjs``) and ``tests/test_layers.py`` fail when
they differ."""

__version__ = "0.1.0"
