"""Collect the YAML routine scenarios under routines/tests/ as pytest items.

Modules that need an optional extra are left out of doctest collection where the extra is
not installed (durable-rules does not build on Python 3.13; the service needs `serve`).
"""

import importlib.util

pytest_plugins = ["samverkan_rules.testing"]

collect_ignore: list[str] = []
if importlib.util.find_spec("durable") is None:
    collect_ignore.append("samverkan_rules/live/durable.py")
if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
    collect_ignore.append("samverkan_rules/serve/app.py")
