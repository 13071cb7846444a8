"""Tests for the safe YAML loader and its path -> position map."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.errors import YamlError
from samverkan_rules.language.yaml import load_yaml, load_yaml_file
from samverkan_rules.language.yaml_core import MAX_ALIASES, Path, Position, format_path

ROUTINE = """\
id: hemvard
rules:
  - id: vardplan
    deadline:
      working_days: 3
  - id: samordning
    deadline:
      working_days: two
      at: 13:30
"""


def refused(text: str, code: str, **kwargs: Any) -> Diagnostic:
    """Load ``text``, expect a YamlError, and return its only diagnostic (checking its code)."""
    with pytest.raises(YamlError) as info:
        load_yaml(text, file="r.yaml", **kwargs)
    diagnostics = info.value.diagnostics
    assert [d.code for d in diagnostics] == [code], [d.format() for d in diagnostics]
    assert diagnostics[0].file == "r.yaml"
    assert diagnostics[0].hint, "every refusal says what to write instead"
    return diagnostics[0]


# --- positions -----------------------------------------------------------------------------


def test_positions_of_values_and_keys_in_lists_of_mappings() -> None:
    doc = load_yaml(ROUTINE, file="r.yaml")
    assert doc.data["rules"][1]["deadline"] == {"working_days": "two", "at": "13:30"}

    assert doc.value_positions[()] == Position(1, 1)
    assert doc.key_positions[("rules",)] == Position(2, 1)
    assert doc.value_positions[("rules",)] == Position(3, 3)
    assert doc.value_positions[("rules", 1)] == Position(6, 5)
    assert doc.key_positions[("rules", 1, "id")] == Position(6, 5)
    assert doc.value_positions[("rules", 1, "id")] == Position(6, 9)
    assert doc.key_positions[("rules", 1, "deadline", "working_days")] == Position(8, 7)
    assert doc.value_positions[("rules", 1, "deadline", "working_days")] == Position(8, 21)
    assert doc.value_positions[("rules", 0, "deadline", "working_days")] == Position(5, 21)
    # List items have no key.
    assert ("rules", 1) not in doc.key_positions


def test_position_prefers_the_key_of_a_mapping_entry() -> None:
    doc = load_yaml(ROUTINE)
    assert doc.position(("rules", 1, "deadline", "working_days")) == Position(8, 7)
    assert doc.position(("rules", 1)) == Position(6, 5)
    assert doc.position(()) == Position(1, 1)


def test_position_of_a_missing_key_falls_back_to_the_nearest_ancestor() -> None:
    doc = load_yaml(ROUTINE)
    # A pydantic "missing" error names a key that is not in the document.
    assert doc.position(("rules", 0, "deadline", "calendar")) == Position(4, 5)
    assert doc.position(("rules", 7, "deadline")) == Position(2, 1)
    assert doc.position(("nothing", "here")) == Position(1, 1)


def test_positions_with_flow_style_and_crlf_line_ends() -> None:
    doc = load_yaml("a: 1\r\nb: {c: [x, y]}\r\n")
    assert doc.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert doc.value_positions[("b", "c", 1)] == Position(2, 12)
    assert doc.lines[1] == "b: {c: [x, y]}"


def test_empty_document_is_none_and_has_no_positions() -> None:
    for text in ("", "# only a comment\n", "\ufeff"):
        doc = load_yaml(text)
        assert doc.data is None
        assert doc.position(("id",)) is None
    # An explicit document start holds an empty (null) root value.
    assert load_yaml("---\n").data is None


def test_aliases_within_limits_expand_to_equal_independent_values() -> None:
    doc = load_yaml("base: &b {days: [1, 2]}\ncopy: *b\n")
    assert doc.data["copy"] == doc.data["base"] == {"days": [1, 2]}
    assert doc.data["copy"] is not doc.data["base"]
    assert doc.value_positions[("copy", "days", 1)] == doc.value_positions[("base", "days", 1)]
    assert doc.key_positions[("copy",)] == Position(2, 1)


# --- scalar resolution ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("13:30", "13:30"),  # YAML 1.1 sexagesimal
        ("2024-02-98", "2024-02-98"),  # looks like a timestamp, and is not even a date
        ("2024-02-28", "2024-02-28"),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("NULL", None),
        ("", None),
        ("0x1F", 31),
        ("0o17", 15),
        ("017", 17),
        ("-42", -42),
        ("1_000", "1_000"),
        ("1e3", 1000.0),
        ("-1.5", -1.5),
        (".5", 0.5),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ('"true"', "true"),
        ("'13'", "13"),
        ('"~"', "~"),
        ("!!str 12", "12"),
        ("!!int '12'", 12),
        ("!!float 1", 1.0),
        ("! 12", "12"),
        ("<<", "<<"),
    ],
)
def test_core_schema_resolution(scalar: str, expected: Any) -> None:
    value = load_yaml(f"v: {scalar}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_nan_resolves_to_a_float_nan() -> None:
    assert math.isnan(load_yaml("v: .nan\n").data["v"])


def test_keys_are_always_strings() -> None:
    assert load_yaml("1: one\ntrue: yes\n0x1F: hex\n").data == {
        "1": "one",
        "true": "yes",
        "0x1F": "hex",
    }


# --- refusals ------------------------------------------------------------------------------


def test_duplicate_key_names_both_lines() -> None:
    d = refused("rules:\n  - id: a\n    text: x\n    id: b\n", "yaml.duplicate-key")
    assert (d.line, d.column) == (4, 5)
    assert d.path == "rules[0].id"
    assert "'id'" in d.message and "line 2" in d.message
    assert d.source_line == "    id: b"


def test_all_duplicate_keys_are_reported_together() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("a: 1\nb: 2\na: 3\nb: 4\n")
    assert [(d.code, d.line) for d in info.value.diagnostics] == [
        ("yaml.duplicate-key", 3),
        ("yaml.duplicate-key", 4),
    ]


def test_a_problem_inside_an_aliased_value_is_reported_once() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("x: &v {a: 1, a: 2}\ny: *v\nz: *v\n")
    assert len(info.value.diagnostics) == 1


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_fast() -> None:
    text = billion_laughs()
    start = time.process_time()  # CPU time: other work on the machine must not count
    with pytest.raises(YamlError) as info:
        load_yaml(text, max_aliases=10_000)
    elapsed = time.process_time() - start
    assert [d.code for d in info.value.diagnostics] == ["yaml.node-limit"]
    assert elapsed < 5.0, f"took {elapsed:.2f} s"  # expanding the laughs would never end


def test_node_limit_counts_the_expansion() -> None:
    text = "a: &a [1, 2, 3, 4]\nb: [*a, *a, *a]\n"
    assert load_yaml(text, max_nodes=100).data["b"][2] == [1, 2, 3, 4]
    d = refused(text, "yaml.node-limit", max_nodes=20)
    assert d.line is not None
    refused("[" + ", ".join(["1"] * 30) + "]", "yaml.node-limit", max_nodes=20)


def test_alias_limit() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    d = refused(text, "yaml.alias-limit")
    assert d.line == 2
    assert load_yaml(text, max_aliases=MAX_ALIASES + 1).data["b"][-1] == "x"


def test_recursive_alias_is_refused() -> None:
    refused("a: &a [1, *a]\n", "yaml.alias-limit")
    refused("a: &a {b: *a}\n", "yaml.alias-limit")


def test_size_limit_is_checked_before_parsing() -> None:
    d = refused("a: 'ååå'\n" + "[" * 50, "yaml.size-limit", max_bytes=20)
    assert "20" in d.message
    # Counted in UTF-8 bytes, not characters.
    refused("a: " + "å" * 10, "yaml.size-limit", max_bytes=20)
    assert load_yaml("a: " + "a" * 10, max_bytes=20).data == {"a": "a" * 10}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {}\n",
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/name:os.system\n",
        "a: !!timestamp 2024-01-01\n",
        "a: !!set {x}\n",
        "a: !custom value\n",
    ],
)
def test_unknown_tags_are_refused(text: str) -> None:
    d = refused(text, "yaml.tag")
    assert (d.line, d.column, d.path) == (1, 4, "a")


def test_python_object_tag_names_the_tag() -> None:
    d = refused("a: !!python/object:os.system {}\n", "yaml.tag")
    assert "!!python/object:os.system" in d.message


def test_standard_tags_that_do_not_fit_the_value_are_refused() -> None:
    refused("a: !!int abc\n", "yaml.tag")
    refused("a: !!bool yes\n", "yaml.tag")
    refused("a: !!str {x: 1}\n", "yaml.tag")
    refused("a: !!map [1]\n", "yaml.tag")


def test_merge_key_is_refused() -> None:
    d = refused("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "yaml.merge-key")
    assert (d.line, d.column) == (3, 3)
    assert "write the keys out" in (d.hint or "")
    # A quoted '<<' is an ordinary key.
    assert load_yaml("'<<': 1\n").data == {"<<": 1}


def test_non_scalar_key_is_refused() -> None:
    d = refused("? [a, b]\n: x\n", "yaml.key-type")
    assert d.line == 1
    refused("{x: 1}: y\n", "yaml.key-type")


def test_tab_indentation_gives_line_column_and_hint() -> None:
    d = refused("rules:\n  - id: a\n\t  text: b\n", "yaml.syntax")
    assert (d.line, d.column) == (3, 1)
    assert d.hint == "indent with spaces, not tabs"
    assert d.source_line == "\t  text: b"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: b: c\n", 1, "': '"),
        ("a:\n    b: 1\n  c: 2\n", 3, "indentation"),
        ("a: 'open\nb: 2\n", 3, "ends in the middle"),
        ("a: [1, 2\nb: 3\n", 2, "not closed"),
        ("a: *missing\n", 1, "anchor"),
        ("a: @x\n", 1, "'@'"),
    ],
)
def test_syntax_errors_are_located_and_explained(text: str, line: int, words: str) -> None:
    d = refused(text, "yaml.syntax")
    assert d.line == line
    assert d.column is not None
    assert words in d.message


def test_control_characters_are_refused_with_a_position() -> None:
    d = refused("a: 1\nb: x\x07\n", "yaml.encoding")
    assert (d.line, d.column) == (2, 5)


def test_deep_nesting_is_refused_not_crashing() -> None:
    refused("[" * 1000 + "]" * 1000, "yaml.depth-limit")
    # Past a raised limit, Python's own recursion limit is still caught and reported.
    refused("[" * 5000 + "]" * 5000, "yaml.depth-limit", max_depth=100_000)


def test_multiple_documents_are_refused() -> None:
    d = refused("id: a\n---\nid: b\n", "yaml.multiple-documents")
    assert (d.line, d.column) == (2, 1)
    assert "one routine per file" in (d.hint or "")


def test_explicit_end_of_single_document_is_accepted() -> None:
    assert load_yaml("---\nid: a\n...\n").data == {"id": "a"}


# --- files ---------------------------------------------------------------------------------


def test_load_yaml_file_reads_utf8_with_bom(tmp_path: FsPath) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbfnamn: \xc3\xa4ldreomsorg\nat: 13:30\n")
    doc = load_yaml_file(path)
    assert doc.data == {"namn": "äldreomsorg", "at": "13:30"}
    assert doc.file == str(path)
    assert doc.key_positions[("namn",)] == Position(1, 1)


def test_load_yaml_file_missing_file(tmp_path: FsPath) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(YamlError) as info:
        load_yaml_file(path)
    (d,) = info.value.diagnostics
    assert d.code == "yaml.unreadable"
    assert d.file == str(path)
    assert "No such file" in d.message
    assert str(path) in str(info.value)


def test_load_yaml_file_invalid_utf8(tmp_path: FsPath) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: a\nnamn: äldre\n".encode("latin-1"))
    with pytest.raises(YamlError) as info:
        load_yaml_file(path)
    (d,) = info.value.diagnostics
    assert d.code == "yaml.encoding"
    assert (d.file, d.line, d.column) == (str(path), 2, 7)
    assert "UTF-8" in (d.hint or "")


def test_load_yaml_file_size_limit(tmp_path: FsPath) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n", encoding="utf-8")
    with pytest.raises(YamlError) as info:
        load_yaml_file(path, max_bytes=50)
    assert [d.code for d in info.value.diagnostics] == ["yaml.size-limit"]


# --- diagnostics and paths -----------------------------------------------------------------


def test_diagnostic_is_located_and_formatted() -> None:
    doc = load_yaml(ROUTINE, file="routines/hemvard.yaml")
    d = doc.diagnostic(
        ("rules", 1, "deadline", "working_days"),
        "routine.type",
        'must be a whole number >= 1, got "two".',
        hint="write a number such as 2",
    )
    assert d.format() == (
        "routines/hemvard.yaml:8:7: rules[1].deadline.working_days: "
        'must be a whole number >= 1, got "two". Hint: write a number such as 2'
    )
    assert d.source_line == "      working_days: two"
    assert d.level == "error"
    assert d.format(caret=True).endswith("\n          working_days: two\n          ^")


def test_diagnostic_for_missing_key_points_at_the_parent() -> None:
    doc = load_yaml(ROUTINE, file="r.yaml")
    d = doc.diagnostic(("rules", 0, "responsible"), "routine.missing", "missing", level="warning")
    assert (d.line, d.column, d.path, d.level) == (3, 5, "rules[0].responsible", "warning")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("rules", 3, "deadline", "working_days"), "rules[3].deadline.working_days"),
        ((0, "id"), "[0].id"),
        (("roles", "hemvard.driftsplanerare"), "roles.hemvard.driftsplanerare"),
        (("event-types", "beslut_fattat"), "event-types.beslut_fattat"),
        (("labels", "två ord"), 'labels["två ord"]'),
        (("x", "2024"), 'x["2024"]'),
        (("x", ""), 'x[""]'),
        (("x", 'a"b c'), 'x["a\\"b c"]'),
    ],
)
def test_format_path(path: Path, text: str) -> None:
    assert format_path(path) == text


# --- property: round trip through yaml.safe_dump --------------------------------------------

# Lowercase words never look like YAML 1.1-only scalars that safe_dump would leave unquoted.
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäö", max_size=8)
leaves = st.none() | st.booleans() | st.integers(-(10**18), 10**18) | words
documents = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=4),
    max_leaves=25,
)


def all_paths(data: Any, path: Path = ()) -> Iterator[Path]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from all_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from all_paths(value, (*path, index))


@settings(max_examples=200, deadline=None)
@given(documents, st.booleans())
def test_safe_dump_round_trips_with_a_position_for_every_path(data: Any, flow: bool) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow)
    doc = load_yaml(text)
    assert doc.data == data
    for path in all_paths(data):
        assert path in doc.value_positions
        position = doc.position(path)
        assert position is not None
        assert 1 <= position.line <= len(doc.lines)
        if path and isinstance(path[-1], str):
            assert path in doc.key_positions


def test_pyyaml_safe_loader_is_left_unchanged() -> None:
    load_yaml("a: yes\n")
    assert yaml.safe_load("a: yes\nb: 2024-01-01\n")["a"] is True
