"""``replaces:`` across versions: a rule names the rule it succeeds in an earlier version.

The check needs every version at hand, so it runs over a set of routines (``samverkan
validate`` with several files, or a directory): the named rule must be a rule of an earlier
version (an earlier ``valid_from``) of the same routine id among them. When no earlier
version is among them the reference cannot be checked: it is let be (a version validated
on its own), or an error with ``strict`` (CI validates the whole directory strictly).
"""

from __future__ import annotations

from collections.abc import Sequence

from samverkan_rules.diagnostics import N_, Diagnostic, did_you_mean
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.yaml import YamlDocument


def check_replaces(
    routines: Sequence[tuple[Routine, YamlDocument]], *, strict: bool = False
) -> list[list[Diagnostic]]:
    """The findings about each routine's ``replaces:`` keys, one list per routine given.

    Args:
        routines: Every routine of the set, with its document (to locate the findings).
        strict: A reference that cannot be checked (no earlier version in the set) is an
            error; without it, such a reference is not reported.
    """
    out: list[list[Diagnostic]] = []
    for model, doc in routines:
        found: list[Diagnostic] = []
        earlier = [m for m, _ in routines if m.id == model.id and m.valid_from < model.valid_from]
        known = sorted({r.id for m in earlier for r in m.rules})
        versions = ", ".join(sorted(str(m.version) for m in earlier))
        for index, rule in enumerate(model.rules):
            if rule.replaces is None:
                continue
            path = ("rules", index, "replaces")
            if not earlier:
                if not strict:  # one version on its own: checked when checked with the others
                    continue
                found.append(
                    doc.diagnostic(
                        path,
                        "routine.replaces-unchecked",
                        N_(
                            "rule {rule} replaces {name}, but no earlier version of {id} is "
                            "among the routines checked",
                            rule=repr(rule.id),
                            name=repr(rule.replaces),
                            id=model.id,
                        ),
                        hint=N_("check it together with the earlier version's file"),
                    )
                )
            elif rule.replaces not in known:
                found.append(
                    doc.diagnostic(
                        path,
                        "routine.unknown-replaced-rule",
                        N_(
                            "rule {rule} replaces {name}, which is no rule of an earlier "
                            "version of {id} ({versions})",
                            rule=repr(rule.id),
                            name=repr(rule.replaces),
                            id=model.id,
                            versions=versions,
                        ),
                        hint=did_you_mean(rule.replaces, known)
                        or N_("name a rule id of an earlier version"),
                    )
                )
        out.append(found)
    return out
