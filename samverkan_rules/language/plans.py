"""Adopted plans in files of their own: ``plan: <path>`` in an ``every: dates`` schedule.

A committee adopts its meeting plan (sammanträdesplan) for a year at a time, often after
the routine was written. The plan is then a file beside the routine, kept and reviewed on
its own::

    # plans/socialnamnden-2027.yaml
    title: Socialnämndens sammanträdesplan 2027
    adopted: 2026-11-19
    dates: [2027-01-14, 2027-02-11, "2027-06-17 13:30"]

and the schedule names it (``plan: plans/socialnamnden-2027.yaml``, relative to the file
that writes the key). The plan's ``dates`` are put into the schedule before the routine is
validated, so they are checked exactly like dates written in the routine (a day that does
not exist, a day planned twice, a day outside the version's validity), and each finding
names the plan file and its line. The plan's text is hashed into the routine with the
routine's own, so a changed plan is a changed routine version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from samverkan_rules.diagnostics import N_, Diagnostic, did_you_mean
from samverkan_rules.errors import YamlError
from samverkan_rules.language.variants import (
    MergedDocument,
    Origin,
    Path_,
    beside,
    document_text,
)
from samverkan_rules.language.yaml import YamlDocument

PLAN_KEYS: tuple[str, ...] = ("title", "adopted", "dates")
"""The keys a plan file may have: ``dates`` is required, the others say what it is."""

Loader = Callable[[str], YamlDocument]


def _writer(doc: YamlDocument, path: Path_) -> YamlDocument:
    """The document that wrote ``path`` (a variant's base, when it came from there)."""
    return doc.origin(path)[0] if isinstance(doc, MergedDocument) else doc


def _plan_shape(plan: YamlDocument) -> list[Diagnostic]:
    """A plan file is a mapping of the known keys with a list of ``dates``."""
    if not isinstance(plan.data, dict):
        return [
            plan.diagnostic(
                (),
                "routine.plan-shape",
                N_("a plan file must be a YAML mapping with 'dates'"),
                hint=N_('e.g. dates: [2027-01-14, "2027-06-17 13:30"]'),
            )
        ]
    found = [
        plan.diagnostic(
            (key,),
            "routine.plan-key",
            N_("unknown key {key} in a plan file", key=repr(key)),
            hint=did_you_mean(str(key), PLAN_KEYS) or N_("a plan has title, adopted and dates"),
        )
        for key in plan.data
        if key not in PLAN_KEYS
    ]
    if not isinstance(plan.data.get("dates"), list) or not plan.data["dates"]:
        found.append(
            plan.diagnostic(
                ("dates",),
                "routine.plan-shape",
                N_("a plan file needs 'dates', a list of the planned days"),
                hint=N_('e.g. dates: [2027-01-14, "2027-06-17 13:30"]'),
            )
        )
    return found


def _read_plan(
    doc: YamlDocument, path: Path_, ref: Any, load: Loader
) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """The plan file named at ``path``, or the problems that keep it from being used."""
    writer = _writer(doc, path)
    if not isinstance(ref, str) or not ref.strip():
        return None, [
            doc.diagnostic(
                path,
                "routine.plan-file",
                N_("'plan' must name the file of the adopted plan"),
                hint=N_("e.g. plan: plans/socialnamnden-2027.yaml"),
            )
        ]
    target = beside(writer, ref)
    try:
        plan = load(target)
    except YamlError as exc:  # unreadable, not UTF-8, not YAML: named in the plan file
        found = list(exc.diagnostics)
        if any(d.code == "yaml.unreadable" for d in found):
            # A file that cannot be read has no line to point at: the routine's does.
            found.insert(
                0,
                doc.diagnostic(
                    path,
                    "routine.plan-unreadable",
                    N_("cannot read the plan file {target}", target=repr(target)),
                    hint=N_("give a path relative to this file"),
                ),
            )
        return None, found
    problems = _plan_shape(plan)
    return (None if problems else plan), problems


def resolve_plans(doc: YamlDocument, load: Loader) -> tuple[YamlDocument, list[Diagnostic]]:
    """Put each named plan file's dates into its schedule.

    Args:
        doc: The routine as loaded (or as merged from its variant chain).
        load: Loads a plan file by path (raising :class:`YamlError` when it cannot be read).

    Returns:
        The document to validate (``doc`` itself when no schedule names a plan), locating
        each planned date in its plan file, and the problems found (an unreadable plan, a
        plan of the wrong shape, a schedule that writes both ``plan`` and ``dates``).
    """
    schedules = doc.data.get("schedules") if isinstance(doc.data, dict) else None
    if not isinstance(schedules, dict):
        return doc, []
    named = {n: s for n, s in schedules.items() if isinstance(s, dict) and "plan" in s}
    if not named:
        return doc, []
    data = copy.copy(doc.data)
    data["schedules"] = dict(schedules)
    origins: dict[Path_, Origin] = dict(doc.origins) if isinstance(doc, MergedDocument) else {}
    problems: list[Diagnostic] = []
    plans: list[YamlDocument] = []
    for name, sched in named.items():
        base: Path_ = ("schedules", name)
        if "dates" in sched:
            problems.append(
                doc.diagnostic(
                    (*base, "dates"),
                    "routine.plan-and-dates",
                    N_("the schedule names a plan file and writes dates too"),
                    hint=N_("write the dates in the plan file, or here without 'plan'"),
                )
            )
            continue
        plan, found = _read_plan(doc, (*base, "plan"), sched["plan"], load)
        problems += found
        if plan is None:
            continue
        data["schedules"][name] = {**sched, "dates": plan.data["dates"]}
        origins[(*base, "dates")] = (plan, ("dates",))
        plans.append(plan)
    sources = doc.sources if isinstance(doc, MergedDocument) else (document_text(doc),)
    merged = MergedDocument(
        data=data,
        file=doc.file,
        lines=doc.lines,
        value_positions=doc.value_positions,
        key_positions=doc.key_positions,
        origins=origins,
        from_params=doc.from_params if isinstance(doc, MergedDocument) else {},
        sources=(*sources, *(document_text(p) for p in plans)),
    )
    return merged, problems
