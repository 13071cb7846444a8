"""The events ``samverkan explain`` evaluates: one event file, or a history as the audit reads it.

One file (JSON Lines or CSV, or ``-``) is read as ``samverkan due`` reads it. Several
``--events``, a directory, a ``.gz`` or a Parquet file, a key (``--key-file``), ``--identify``
or a case named by its pseudonym (``--case p-...``) make it a history: read by the audit's
own readers (:mod:`samverkan_rules.audit.reader`, the ``audit`` extra) with the case ids
replaced by their keyed pseudonyms, as in the audit's ``obligations.csv``, unless
``--identify``. Then ``--case`` names a case by its pseudonym and only its events (and the
few other cases' events that may count for it) are evaluated; the real case id is never
shown.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from samverkan_rules.audit.inputs import (
    InputError,
    ReadOptions,
    check_encoding,
    find_inputs,
    load_column_map,
)
from samverkan_rules.audit.pseudonym import AuditKeyError, Pseudonymiser, load_key, mask
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.cli._common import STDIN, CommandError, read_event_file
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.events.model import EventBatch

PSEUDONYM = re.compile(r"^p-[0-9a-f]{20}$")
"""The form of a case pseudonym (``p-`` and 20 hex digits)."""

_HISTORY_SUFFIXES = (".gz", ".parquet")


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """``--key-file`` and ``--identify``: the audit's pseudonyms, for ``explain``."""
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help=(
            "the audit's pseudonymisation key (or SAMVERKAN_AUDIT_KEY): case ids are shown "
            "and taken (--case p-...) as the audit's pseudonyms"
        ),
    )
    parser.add_argument(
        "--identify",
        action="store_true",
        help="read a history (several files, a directory) with case ids as they are",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="as for samverkan audit (e.g. cp1252 for Excel on Windows); reads a history",
    )
    parser.add_argument(
        "--columns",
        metavar="FILE",
        help="a column map, as for samverkan audit; reads a history",
    )
    parser.add_argument(
        "--extra-columns",
        choices=("reject", "data"),
        help="as for samverkan audit; reads a history",
    )


def is_history(args: argparse.Namespace) -> bool:
    """Whether the events are a history read as the audit reads it (see the module)."""
    events: Sequence[str] = args.events
    if len(events) > 1 or args.key_file or args.identify:
        return True
    if args.encoding or args.columns or args.extra_columns:
        return True
    if args.case and PSEUDONYM.match(args.case):
        return True
    (path,) = events
    return path != STDIN and (Path(path).is_dir() or path.lower().endswith(_HISTORY_SUFFIXES))


def pseudonymiser(args: argparse.Namespace) -> Pseudonymiser:
    """The audit's pseudonymiser of a history; without a key only ``--identify`` will do.

    Raises:
        CommandError: no key and no ``--identify``, or a key that cannot be used.
    """
    if args.identify:
        if args.key_file:
            raise CommandError("give --key-file or --identify, not both")
        return Pseudonymiser(None)
    try:
        key = load_key(args.key_file)
    except AuditKeyError as exc:
        raise CommandError(str(exc)) from None
    if key is None:
        raise CommandError(
            "a history's case ids are shown as the audit's pseudonyms: give the audit's key "
            "(--key-file FILE or SAMVERKAN_AUDIT_KEY), or --identify to show them as they are"
        )
    return Pseudonymiser(key)


def read_events(
    args: argparse.Namespace, routines: Sequence[CompiledRoutine], case: str | None
) -> EventBatch:
    """The events to evaluate: the one file, or the history (of ``case`` when given).

    Raises:
        CommandError: unreadable input, no key, or a case not in the history.
    """
    if not is_history(args):
        return read_event_file(args.events[0])
    try:
        from samverkan_rules.audit.reader import Staging
    except ImportError:
        raise CommandError(
            "several event files, a directory, .gz, Parquet or pseudonyms need the 'audit' "
            "extra: pip install 'samverkan-rules[audit]'"
        ) from None
    pseudonyms = pseudonymiser(args)
    rules = AuditRules.prepare(routines)
    try:
        with Staging(rules, pseudonyms, read=_read_options(args)) as staging:
            staging.load(find_inputs(args.events), lambda _n: None)
            staging.finish(args.as_of)
            also = rules.borrow_types | rules.cancelling_types | rules.queue_types
            events = staging.events_of(case, also)
            diagnostics = tuple(staging.diagnostics)
    except InputError as exc:
        raise CommandError(mask(str(exc)) if pseudonyms.active else str(exc)) from None
    if case is not None and not any(e.case == case for e in events):
        key = pseudonyms.fingerprint()
        under = f" under the key {key}; check it is the audit's key (its report names it)"
        raise CommandError(
            mask(f"no case {case!r} in the events up to --as-of{under if key else ''}")
            + ("; name the case by its pseudonym (p-...), as obligations.csv does" if key else "")
        )
    return EventBatch(tuple(events), diagnostics)


def _read_options(args: argparse.Namespace) -> ReadOptions:
    """How the audit would read the files: encoding, column map, extra columns.

    Raises:
        InputError: an unknown encoding or a bad column map.
    """
    mapping = load_column_map(args.columns) if args.columns else None
    return ReadOptions(
        encoding=check_encoding(args.encoding or "utf-8"),
        columns=mapping.columns if mapping else {},
        extra_into_data=args.extra_columns == "data" or bool(mapping and mapping.extra_into_data),
        declared=mapping.fields if mapping else frozenset(),
    )


def match_masked(wanted: Sequence[str], known: Sequence[str]) -> list[str]:
    """``wanted`` with each id that is not known but is the masked form of exactly one known
    id (as ``obligations.csv`` writes an id holding a personnummer) replaced by that id.

    Examples:
        >>> match_masked(["r:[personnummer]-2", "r:e1"], ["r:19121212-1212-2", "r:e1"])
        ['r:19121212-1212-2', 'r:e1']
    """
    present = set(known)
    out = []
    for name in wanted:
        if name not in present:
            hits = [k for k in known if mask(k) == name]
            if len(hits) == 1:
                name = hits[0]
        out.append(name)
    return out


def private(args: argparse.Namespace) -> bool:
    """Whether what is shown is masked: a history read with a key (not ``--identify``)."""
    return is_history(args) and not args.identify


def shown_text(text: str, hide: bool) -> str:
    """``text``, with anything shaped like a personnummer masked when ``hide``."""
    return mask(text) if hide else text


def shown_json(value: Any, hide: bool) -> Any:
    """``value`` (JSON data), with every text shaped like a personnummer masked when ``hide``.

    Examples:
        >>> shown_json({"id": "r:19121212-1212-2", "n": [1]}, True)
        {'id': 'r:[personnummer]-2', 'n': [1]}
    """
    return json.loads(mask(json.dumps(value, ensure_ascii=False))) if hide else value
