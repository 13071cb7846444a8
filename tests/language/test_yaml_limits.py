"""YAML limits are stated, configurable and enforced before the cost.

Each refusal names the limit and the environment variable that raises it; each is reached
while the input grows (bytes before reading, values and alias expansion while composing),
so a hostile file costs a fraction of a second, not the half minute it used to.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from samverkan_rules import check_routine_file, check_routine_text
from samverkan_rules.cli import main
from samverkan_rules.errors import YamlError
from samverkan_rules.language.yaml import load_yaml, read_yaml_text
from samverkan_rules.language.yaml_core import ENV_LIMITS, MAX_BYTES, MAX_DEPTH, MAX_NODES, Limits
from tests.support import ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
FIVE_MB = 5 * 1024 * 1024

ANCHORED = (
    "a: &a [" + ", ".join(["1"] * 400_000) + "]\n" + "".join(f"b{i}: *a\n" for i in range(199))
)
FLAT = "[" + ", ".join(["1"] * 600_000) + "]\n"


def refusal(text: str, **kwargs: int) -> tuple[str, str, float]:
    # CPU time, not wall time: other work on the machine must not fail the test. The bounds
    # below are far above a linear pass and far below what expanding the aliases would take.
    started = time.process_time()
    with pytest.raises(YamlError) as info:
        load_yaml(text, file="r.yaml", **kwargs)
    elapsed = time.process_time() - started
    [d] = info.value.diagnostics
    return d.code, d.format(), elapsed


@pytest.mark.parametrize("text", [ANCHORED, FLAT], ids=["anchored-400k-x199", "flat-600k"])
def test_a_huge_document_is_refused_by_its_size_at_once(text: str) -> None:
    code, message, elapsed = refusal(text)
    assert code == "yaml.size-limit"
    assert f"limit of {MAX_BYTES} bytes" in message and "SAMVERKAN_YAML_MAX_BYTES" in message
    assert elapsed < 0.5  # refused before parsing


@pytest.mark.parametrize("text", [ANCHORED, FLAT], ids=["anchored-400k-x199", "flat-600k"])
def test_within_a_raised_byte_limit_values_are_counted_as_they_grow(text: str) -> None:
    code, message, elapsed = refusal(text, max_bytes=FIVE_MB)
    assert code == "yaml.node-limit"
    assert f"more than {MAX_NODES} values" in message
    assert "SAMVERKAN_YAML_MAX_NODES" in message
    assert elapsed < 10  # about 0.4 s; expanding every alias would take minutes


def test_alias_expansion_is_counted_when_the_alias_is_used() -> None:
    # 15,000 values are within the limit; the second alias use takes the total past it.
    text = "a: &a [" + ", ".join(["1"] * 15_000) + "]\nb: *a\nc: *a\n"
    code, message, _ = refusal(text)
    assert code == "yaml.node-limit"
    assert "once aliases are expanded" in message
    assert message.startswith("r.yaml:2:4:")  # the alias that went over


def test_aliases_within_the_limits_still_work() -> None:
    doc = load_yaml("a: &a [1, 2]\nb: *a\n")
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


def test_the_depth_limit_names_its_variable() -> None:
    code, message, _ = refusal("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))
    assert code == "yaml.depth-limit"
    assert f"more than {MAX_DEPTH} levels" in message and "SAMVERKAN_YAML_MAX_DEPTH" in message


def test_the_alias_limit_names_its_variable() -> None:
    code, message, _ = refusal("a: &a 1\nb: [" + ", ".join(["*a"] * 201) + "]\n")
    assert code == "yaml.alias-limit"
    assert "SAMVERKAN_YAML_MAX_ALIASES" in message


@pytest.mark.parametrize(
    ("field", "variable"), sorted(ENV_LIMITS.items()), ids=sorted(ENV_LIMITS.values())
)
def test_every_limit_is_raised_by_its_environment_variable(
    field: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "123_456")
    assert getattr(Limits.from_env(), field) == 123_456


def test_a_raised_node_limit_lets_a_large_document_through(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "[" + ", ".join(["1"] * (MAX_NODES + 10)) + "]"
    with pytest.raises(YamlError):
        load_yaml(text)
    monkeypatch.setenv("SAMVERKAN_YAML_MAX_NODES", str(MAX_NODES + 100))
    assert len(load_yaml(text).data) == MAX_NODES + 10


def test_a_lowered_limit_applies_to_routines_and_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAMVERKAN_YAML_MAX_NODES", "100")
    check = check_routine_file(ROUTINE)
    assert [d.code for d in check.diagnostics] == ["yaml.node-limit"]
    assert main(["validate", "--lang", "en", str(ROUTINE)]) == 1
    assert "more than 100 values" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_a_bad_limit_setting_is_a_clear_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMVERKAN_YAML_MAX_BYTES", value)
    check = check_routine_text("id: x\n", file="r.yaml")
    [d] = check.diagnostics
    assert d.code == "yaml.limit-setting"
    assert "SAMVERKAN_YAML_MAX_BYTES must be a whole number >= 1" in d.message


def test_the_bundled_vocabulary_ignores_lowered_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from samverkan_rules.language.vocabulary import bundled_vocabulary

    bundled_vocabulary.cache_clear()
    monkeypatch.setenv("SAMVERKAN_YAML_MAX_NODES", "10")
    try:
        assert bundled_vocabulary().event_types
    finally:
        bundled_vocabulary.cache_clear()


# --------------------------------------------------------------------------- files


def test_a_file_is_measured_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as stream:  # sparse: 500 MB on paper, nothing on disk
        stream.truncate(500 * 1024 * 1024)
    started = time.process_time()  # CPU time: reading 500 MB would take seconds of it
    check = check_routine_file(big)
    assert time.process_time() - started < 0.5
    [d] = check.diagnostics
    assert d.code == "yaml.size-limit"
    assert (
        d.message
        == f"the file is {500 * 1024 * 1024} bytes, more than the limit of {MAX_BYTES} bytes"
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/dev/zero", "a character device"), ("/dev/null", "a character device")],
)
def test_devices_are_refused_without_reading(path: str, kind: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"no {path}")
    check = check_routine_file(path)
    [d] = check.diagnostics
    assert (d.code, d.file) == ("yaml.not-a-file", path)
    assert kind in d.message


def test_a_directory_named_as_a_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "routine.yaml"
    folder.mkdir()
    [d] = check_routine_file(folder).diagnostics
    assert d.code == "yaml.not-a-file" and "a directory" in d.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "routine.yaml"
    os.mkfifo(fifo)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(check_routine_file(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # unblock the reader so the test run can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a named pipe blocked")
    [check] = result
    assert [d.code for d in check.diagnostics] == ["yaml.not-a-file"]  # type: ignore[attr-defined]


def test_validate_refuses_special_files_and_checks_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    code = main(["validate", "--lang", "en", "/dev/zero", str(ROUTINE)])
    out = capsys.readouterr().out
    assert code == 1
    assert "/dev/zero: this is a character device, not a routine file" in out
    assert "1 valid, 1 with errors" in out


def test_read_yaml_text_drops_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbfid: x\n")
    assert read_yaml_text(path) == "id: x\n"


# --------------------------------------------------------------------------- comments


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_unicode_line_separator_does_not_end_a_comment(separator: str) -> None:
    doc = load_yaml(f"# a comment{separator}b: 2\na: 1\n")
    assert doc.data == {"a": 1}
    doc = load_yaml(f"a: 1  # note{separator}b: 2\n")
    assert doc.data == {"a": 1}
    doc = load_yaml(f"a: |  # note{separator}b: 2\n  text\n")
    assert doc.data == {"a": "text\n"}


def test_a_unicode_line_separator_in_a_routine_comment_changes_nothing() -> None:
    text = ROUTINE.read_text(encoding="utf-8")
    marked = text.replace("\n", "\n# en kommentar\u2028unknown_key: 1\n", 1)
    check = check_routine_text(marked, file="r.yaml")
    assert check.ok, [d.format() for d in check.diagnostics]
