"""Collect the YAML routine scenarios under routines/tests/ as pytest items.

The audit's modules and tests need the ``audit`` extra (and ``audit-dask`` for Dask); without
it they are left out of collection (doctests included) rather than failing to import.
"""

from importlib import import_module

pytest_plugins = ["samverkan_rules.testing"]


def _importable(name: str) -> bool:
    try:
        import_module(name)
    except ImportError:
        return False
    return True


collect_ignore: list[str] = []
if not all(_importable(m) for m in ("duckdb", "jinja2", "tqdm", "personnummer")):
    collect_ignore += [
        "samverkan_rules/audit/reader.py",
        "samverkan_rules/audit/run.py",
        "samverkan_rules/audit/html.py",
        "samverkan_rules/audit/dask.py",
        "samverkan_rules/audit/pseudonym.py",
        "tests/audit",
    ]
elif not _importable("dask.distributed"):
    collect_ignore += ["samverkan_rules/audit/dask.py", "tests/audit/test_dask.py"]
