"""The reference page of the shared event vocabulary, generated from its YAML.

``docs/vocabulary.md`` is written from ``samverkan_rules/data/vocabulary.yaml``, the single
source of the event types every routine may use, so the page cannot drift from what the
loader accepts. Regenerate it with::

    python -m samverkan_rules.language.reference --write docs/vocabulary.md

and check it (as the test suite does) with ``--check docs/vocabulary.md`` (exit 1 when
stale).

Examples:
    >>> page = vocabulary_markdown(bundled_vocabulary())
    >>> page.splitlines()[0]
    '# The shared event vocabulary'
    >>> "### `message.sent` – Meddelande skickat" in page
    True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from samverkan_rules.language.models.base import EventType, FieldSpec, Vocabulary
from samverkan_rules.language.vocabulary import bundled_vocabulary

FIELD_TYPES: dict[str, str] = {
    "string": "text",
    "date": "a date, `2026-12-28`",
    "datetime": "a timestamp with offset, `2026-12-28T13:30:00+01:00`",
    "time": "a local time, `13:30`",
    "boolean": "`true` or `false`",
    "integer": "a whole number",
    "number": "a number",
    "enum": "one of the listed values",
    "role": "a role or a unit of the routine in force (anything else is a warning)",
    "roles": "a list of roles or units of the routine in force; a unit reaches its roles",
    "event": "the id of another event",
    "object": "a JSON object",
    "list": "a JSON list",
}


"""What a value of each field type looks like, as the page explains it."""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _field_row(name: str, spec: FieldSpec) -> str:
    kind = f"`{spec.type}`"
    if spec.values:
        kind += ": " + ", ".join(f"`{v}`" for v in spec.values)
    required = "yes" if spec.required else "no"
    return f"| `{name}` | {kind} | {required} | {_cell(spec.description or '')} |"


def _event_section(name: str, spec: EventType) -> list[str]:
    lines = [f"### `{name}` – {spec.label}", ""]
    if spec.description:
        lines += [_cell(spec.description), ""]
    if spec.unit_level:
        lines += ["Concerns a unit, not one person's case.", ""]
    if spec.fields:
        lines += ["| field | type | required | meaning |", "|---|---|---|---|"]
        lines += [_field_row(f, s) for f, s in spec.fields.items()]
    else:
        lines.append("No data fields.")
    lines.append("")
    return lines


def vocabulary_markdown(vocabulary: Vocabulary) -> str:
    """The reference page of a vocabulary, as Markdown (byte-stable, one final newline)."""
    lines = [
        "# The shared event vocabulary",
        "",
        "<!-- Generated from samverkan_rules/data/vocabulary.yaml by "
        "`python -m samverkan_rules.language.reference --write docs/vocabulary.md`; "
        "do not edit. -->",
        "",
        f"Vocabulary `{vocabulary.id}`, version {vocabulary.version}. Every routine may use "
        "these event types without declaring them; a routine adds its own under "
        "`event_types` and may not redefine these, but may add fields to them under "
        "`extend_event_types` (never redefine one). An event is "
        '`{"id", "case", "type", "at", "data"}`; `data` holds the fields below. A field '
        "not listed is kept but warned about; a missing required field or a value of the "
        "wrong type rejects the event. Conditions and `match` read into an `object` field "
        "with a nested path, e.g. `data.content.prel_datum`.",
        "",
        "## Field types",
        "",
        "| type | a value is |",
        "|---|---|",
        *(f"| `{kind}` | {text} |" for kind, text in FIELD_TYPES.items()),
        "",
        "## Event types",
        "",
        *(f"- [`{name}`](#{_anchor(name, spec)})" for name, spec in vocabulary.event_types.items()),
        "",
    ]
    for name, spec in vocabulary.event_types.items():
        lines += _event_section(name, spec)
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(name: str, spec: EventType) -> str:
    """The anchor GitHub-flavoured Markdown gives the heading of an event type."""
    heading = f"{name} – {spec.label}".lower()
    kept = "".join(ch for ch in heading if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> int:
    """Print, write (``--write PATH``) or check (``--check PATH``) the vocabulary page."""
    parser = argparse.ArgumentParser(
        prog="python -m samverkan_rules.language.reference",
        description="Generate the reference page of the shared event vocabulary.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", metavar="PATH", help="write the page to PATH")
    mode.add_argument("--check", metavar="PATH", help="exit 1 when PATH is missing or stale")
    args = parser.parse_args(argv)
    page = vocabulary_markdown(bundled_vocabulary())
    if args.write:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page.encode("utf-8"))
        print(f"wrote {path}")
        return 0
    if args.check:
        path = Path(args.check)
        current = path.read_bytes().decode("utf-8") if path.is_file() else None
        if current == page:
            print(f"{path} is up to date")
            return 0
        print(
            f"{path} is {'missing' if current is None else 'stale'}; run `python -m "
            f"samverkan_rules.language.reference --write {args.check}` and commit the result",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main()
    raise SystemExit(main())
