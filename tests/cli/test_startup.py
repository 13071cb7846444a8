"""What a command imports before it can answer: only what that command uses.

Each test runs the command line in a fresh interpreter and reads ``sys.modules`` after
``main()`` returns, so the set is what the command really loaded, not what a test process
happens to hold. The assertions are on modules, never on seconds: a loaded machine makes
timings noisy, a module that should not be there is there on every machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.support import EXAMPLES, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = "2026-12-15T12:00:00+01:00"

_PROBE = """\
import json, sys
from samverkan_rules.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

HELP_PACKAGE_MODULES = frozenset(
    {
        "samverkan_rules",
        "samverkan_rules._version",
        "samverkan_rules.cli",
        "samverkan_rules.cli._interrupt",
        "samverkan_rules.cli._streams",
    }
)
"""All of the package that ``samverkan --help`` may load: the command line, its checked
streams, its Ctrl-C handler and the version (whose metadata is read only for ``--version``)."""

HELP_FORBIDDEN = frozenset(
    {
        "holidays",
        "orjson",
        "pydantic",
        "pydantic_core",
        "tempfile",
        "yaml",
        "zoneinfo",
    }
)
"""Third-party and standard-library packages ``--help`` has no use for."""

DUE_FORBIDDEN = (
    # the extras and the test tools
    "dask",
    "distributed",
    "duckdb",
    "durable",
    "durable_rules_engine",
    "holidays",
    "httpx",
    "hypothesis",
    "jinja2",
    "personnummer",
    "pytest",
    "_pytest",
    "starlette",
    "tqdm",
    "uvicorn",
    # the package's parts that other commands use
    "samverkan_rules.audit",
    "samverkan_rules.cli._files",
    "samverkan_rules.cli.audit_cmd",
    "samverkan_rules.cli.explain_cmd",
    "samverkan_rules.cli.render_cmd",
    "samverkan_rules.cli.schema_cmd",
    "samverkan_rules.cli.serve_cmd",
    "samverkan_rules.cli.test_cmd",
    "samverkan_rules.cli.validate_cmd",
    "samverkan_rules.engine.why_not",
    "samverkan_rules.language.lint",
    "samverkan_rules.live",
    "samverkan_rules.scenarios",
    "samverkan_rules.schemas",
    "samverkan_rules.serve",
    "samverkan_rules.text.document",
    "samverkan_rules.text.html",
    "samverkan_rules.text.markdown",
    "samverkan_rules.text.words",
)
"""Each name stands for the module and everything under it."""

# language.referred and .plans count too: what loading a routine checks and reads.
DUE_PACKAGE_MODULE_CEILING = 66
"""How many of the package's modules ``due`` on one event may load. Measured by running
``samverkan due --routine routines/orebro-dagverksamhet-hemvard.yaml --events ONE.jsonl
--as-of 2026-12-15T12:00:00+01:00`` (ONE.jsonl holding the first line of
examples/orebro-case.jsonl) in a fresh interpreter and counting ``samverkan_rules`` and
``samverkan_rules.*`` in ``sys.modules`` afterwards. Raise it only for a module ``due``
itself needs; a module another command needs belongs where only that command imports it."""


def _loaded(tmp_path: Path, argv: Sequence[str]) -> tuple[int, list[str]]:
    """Run ``samverkan ARGV`` in a fresh interpreter; its exit code and loaded modules."""
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *argv],
        capture_output=True,
        check=False,
        timeout=120,
    )
    found = json.loads(report.read_text(encoding="utf-8"))
    return found["code"], found["modules"]


def _bare() -> set[str]:
    """What this interpreter holds before the command line is imported (``site`` and
    whatever a ``sitecustomize`` loads): not the command's doing."""
    probe = "import json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def _package(modules: Sequence[str]) -> set[str]:
    return {m for m in modules if m == "samverkan_rules" or m.startswith("samverkan_rules.")}


def _under(modules: Sequence[str], names: Sequence[str]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names)]


def _one_event(tmp_path: Path) -> Path:
    first = (EXAMPLES / "orebro-case.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "one.jsonl"
    path.write_text(first + "\n", encoding="utf-8")
    return path


def test_help_loads_only_the_command_line(tmp_path: Path) -> None:
    code, modules = _loaded(tmp_path, ["--help"])
    assert code == 0
    assert _package(modules) <= HELP_PACKAGE_MODULES, sorted(
        _package(modules) - HELP_PACKAGE_MODULES
    )
    added = sorted(set(modules) - _bare())
    assert _under(added, sorted(HELP_FORBIDDEN)) == []


def test_due_loads_nothing_of_the_other_commands(tmp_path: Path) -> None:
    events = _one_event(tmp_path)
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF]
    code, modules = _loaded(tmp_path, argv)
    assert code == 0
    assert _under(sorted(set(modules) - _bare()), DUE_FORBIDDEN) == []
    package = _package(modules)
    assert len(package) <= DUE_PACKAGE_MODULE_CEILING, sorted(package)
