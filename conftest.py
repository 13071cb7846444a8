"""Collect the YAML routine scenarios under routines/tests/ as pytest items, give every test the
same language environment whatever the developer's shell has set, let the child processes the
tests interrupt take Ctrl-C even when the suite runs as a background job, and leave modules that
need an optional extra out of doctest collection where the extra is not installed (durable-rules
does not build on Python 3.13; the service needs `serve`; the audit needs `audit`, and
`audit-dask` for Dask; the PostgreSQL store needs `postgres`); and the fuzzing options."""

from __future__ import annotations

import importlib.util
import os
import signal
from importlib import import_module

import pytest

pytest_plugins = ["samverkan_rules.scenarios.plugin"]

collect_ignore: list[str] = []
if importlib.util.find_spec("durable") is None:
    collect_ignore.append("samverkan_rules/live/durable.py")
if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
    collect_ignore.append("samverkan_rules/serve/app.py")


def _importable(name: str) -> bool:
    try:
        import_module(name)
    except ImportError:
        return False
    return True


if not all(_importable(m) for m in ("duckdb", "jinja2", "tqdm", "personnummer")):
    collect_ignore += [
        "samverkan_rules/audit/reader.py",
        "samverkan_rules/audit/run.py",
        "samverkan_rules/audit/html.py",
        "samverkan_rules/audit/dask.py",
        "samverkan_rules/audit/pseudonym.py",
        "samverkan_rules/audit/synthetic.py",
        "tests/audit",
    ]
elif not _importable("dask.distributed"):
    collect_ignore += ["samverkan_rules/audit/dask.py", "tests/audit/test_dask.py"]

# The PostgreSQL store needs the `postgres` extra (its tests skip or fail on their own).
if not (_importable("psycopg") and _importable("psycopg_pool")):
    collect_ignore += [
        "samverkan_rules/live/postgres.py",
        "samverkan_rules/serve/shared.py",
    ]

_LANGUAGE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


@pytest.fixture(autouse=True)
def _default_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without this a shell with LANG=en_US.UTF-8 would turn Swedish output English."""
    for name in _LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fuzz-long``: run the fuzzers in tests/fuzz with many more examples."""
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        default=False,
        help="run the fuzzers with 2,000 examples each (or SAMVERKAN_FUZZ_EXAMPLES)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # A shell without job control starts a background job with SIGINT ignored, and an
    # ignored signal stays ignored in every child: the tests that send Ctrl-C to a child
    # would then wait for ever. A handler of Python's own is reset to the default in a
    # child, so with one here each child starts as it would from a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if config.getoption("--fuzz-long") and not os.environ.get("SAMVERKAN_FUZZ_EXAMPLES"):
        os.environ["SAMVERKAN_FUZZ_EXAMPLES"] = "2000"
