"""The pre-commit hooks a routine repository uses, and the configuration the how-to shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from samverkan_rules.cli import main
from samverkan_rules.language.yaml import load_yaml
from tests.support import ROOT, ROUTINES

HOOKS = load_yaml((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")).data
HOW_TOS = [ROOT / "docs" / "how-to" / name for name in ("pre-commit.md", "pre-commit.sv.md")]


def test_the_hooks_run_validate_and_test() -> None:
    assert [h["id"] for h in HOOKS] == ["samverkan-validate", "samverkan-test"]
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_each_hook_passes_on_the_bundled_routines(
    hook: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What pre-commit would run in a routine repository: the entry, the args, then the
    # staged files that match `files` (unless pass_filenames is false).
    shutil.copytree(ROUTINES, tmp_path / "routines")
    monkeypatch.chdir(tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "routines").rglob("*.yaml"))
    pattern = re.compile(str(hook.get("files", "")))
    staged = [f for f in files if pattern.search(f)]
    assert staged
    argv = shlex.split(str(hook["entry"])) + [str(a) for a in hook.get("args", [])]  # type: ignore[attr-defined]
    if hook.get("pass_filenames", True):
        assert not any("/tests/" in f for f in staged), "scenario files are no routines"
        argv += staged
    assert argv[0] == "samverkan"
    assert main(argv[1:]) == 0


@pytest.mark.parametrize("how_to", HOW_TOS, ids=lambda p: p.name)
def test_the_how_to_shows_a_config_naming_both_hooks(how_to: Path) -> None:
    text = how_to.read_text(encoding="utf-8")
    block = text.split("```yaml\n# .pre-commit-config.yaml", 1)[1].split("```", 1)[0]
    config = load_yaml(block).data
    [repo] = config["repos"]
    assert [h["id"] for h in repo["hooks"]] == [h["id"] for h in HOOKS]
