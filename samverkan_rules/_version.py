"""The installed distribution's version, read once from its metadata.

A leaf, so the command line, the service and the audit can stamp their output with the
version without importing the package root (which names the whole public API).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("samverkan-rules")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
