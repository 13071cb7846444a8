"""The package's architecture is checked, and the checks can fail.

CI runs ``lint-imports`` (the layers and forbidden-import contracts in pyproject.toml) and
``.ci/check_layout.py`` (sizes and late imports). These tests run both on the real tree,
then plant a violation in a scratch copy of the package to show each one catches it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def _scratch(tmp_path: Path) -> Path:
    """A copy of the package and its configuration, to plant violations in."""
    shutil.copytree(
        ROOT / "samverkan_rules",
        tmp_path / "samverkan_rules",
        ignore=shutil.ignore_patterns("__pycache__", "*.mo", "data", "locale", "templates"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS is not None, "import-linter is a development dependency"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _layout(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "check_layout.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def _plant(path: Path, text: str, *, after: str) -> None:
    source = path.read_text("utf-8")
    assert after in source, f"{path} no longer has {after!r}; plant elsewhere"
    path.write_text(source.replace(after, after + text, 1), "utf-8")


def test_the_contracts_hold_on_the_package() -> None:
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        # A leaf layer reaching up to the command line.
        (
            "time/calendar.py",
            "from samverkan_rules.cli import main as _main  # noqa\n",
            "samverkan_rules.time is not allowed to import samverkan_rules.cli",
        ),
        # A circle hidden in a function: the ledger asking the staff text for a word.
        (
            "engine/ledger.py",
            "\n\ndef _late() -> object:\n"
            "    from samverkan_rules.text.due import format_action\n\n"
            "    return format_action\n",
            "samverkan_rules.engine is not allowed to import samverkan_rules.text",
        ),
        # The service reaching into the command line's helpers.
        (
            "serve/app.py",
            "from samverkan_rules.cli._common import parse_as_of as _p  # noqa\n",
            "samverkan_rules.serve is not allowed to import samverkan_rules.cli",
        ),
        # durable_rules outside live.
        (
            "engine/replay.py",
            "import durable as _durable  # noqa\n",
            "samverkan_rules.engine is not allowed to import durable",
        ),
    ],
    ids=["upwards", "circle-in-a-function", "serve-to-cli", "durable-outside-live"],
)
def test_a_planted_violation_breaks_a_contract(
    tmp_path: Path, module: str, planted: str, broken: str
) -> None:
    root = _scratch(tmp_path)
    _plant(root / "samverkan_rules" / module, planted, after="from __future__ import annotations\n")
    done = _lint_imports(root)
    assert done.returncode != 0
    assert broken in done.stdout, done.stdout


def test_the_layout_holds_on_the_package() -> None:
    done = _layout(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_long_function_and_a_late_import_are_found(tmp_path: Path) -> None:
    root = _scratch(tmp_path)
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    _plant(
        root / "samverkan_rules" / "status.py",
        "\n\ndef _long() -> None:\n" + body + "\n\ndef _late() -> object:\n"
        "    from samverkan_rules.errors import SamverkanError\n\n"
        "    return SamverkanError\n",
        after="from __future__ import annotations\n",
    )
    done = _layout(root)
    assert done.returncode == 1
    assert "samverkan_rules/status.py" in done.stdout
    assert "_long has 81 lines, over 80" in done.stdout
    assert "samverkan_rules.errors is imported inside a function" in done.stdout


def test_a_late_import_of_an_extra_is_allowed(tmp_path: Path) -> None:
    root = _scratch(tmp_path)
    _plant(
        root / "samverkan_rules" / "status.py",
        "\n\ndef _bar() -> object:\n    from tqdm import tqdm\n\n    return tqdm\n",
        after="from __future__ import annotations\n",
    )
    assert "status.py" not in _layout(root).stdout
