"""Collect the YAML routine scenarios under routines/tests/ as pytest items, and give every
test the same language environment whatever the developer's shell has set."""

from __future__ import annotations

import pytest

pytest_plugins = ["samverkan_rules.testing"]

_LANGUAGE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without this a shell with LANG=en_US.UTF-8 would turn Swedish output English."""
    for name in _LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
