"""The one version string: the package metadata (pyproject.toml reads it from here), the
JSON reports' ``tool_version`` and ``--version``."""

VERSION = "0.1.0"
