"""Collect the YAML routine scenarios under routines/tests/ as pytest items, give every test the
same language environment whatever the developer's shell has set, and leave modules that need
an optional extra out of doctest collection where the extra is not installed (durable-rules
does not build on Python 3.13; the service needs `serve`)."""

from __future__ import annotations

import importlib.util

import pytest

pytest_plugins = ["samverkan_rules.testing"]

collect_ignore: list[str] = []
if importlib.util.find_spec("durable") is None:
    collect_ignore.append("samverkan_rules/live/durable.py")
if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
    collect_ignore.append("samverkan_rules/serve/app.py")

_LANGUAGE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without this a shell with LANG=en_US.UTF-8 would turn Swedish output English."""
    for name in _LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
