"""The breach policy of an audit: what counts as on time, what as a breach, what is left out.

By default an obligation is on time when it was done by its deadline; done late and
overdue are the breaches; the on-time rate is on time / (on time + late + overdue). Three
options change that, and the report's header states which were used
(:class:`~samverkan_rules.audit.models.PolicyRecord`, the HTML header, :func:`statement`):

- ``blocked_is_breach``: an obligation still waiting (``blocked``, e.g. consent never
  obtained, so the message was never sent) whose deadline had passed at as_of is a breach,
  counted in the rate's judged obligations;
- ``tolerance``: done late by at most this many working days counts as on time;
- ``closed``: a closed-period view: obligations whose deadline falls after the period's
  last day are left out (not shown as to do), so every obligation counted is judged.

Statuses are never rewritten: the counts per status stay what the evaluator found, and the
policy decides only the on-time count, the judged count and the rate.

A target (``--target``, :func:`check_target`) decides nothing of that: it is the on-time rate
each month is held against, stated beside the policy (:func:`target_statement`), and the
months and rule-months whose rate is below it are marked (:func:`below_target`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from samverkan_rules.audit.models import PolicyRecord
from samverkan_rules.diagnostics import N_
from samverkan_rules.i18n import Translator, translator


@dataclass(frozen=True)
class BreachPolicy:
    """What counts as on time and as a breach (``--blocked-is-breach``, ``--tolerance``,
    ``--closed``).

    Attributes:
        blocked_is_breach: A waiting obligation whose deadline passed is a breach.
        tolerance: Done late by at most this many working days counts as on time (0: none).
        closed: Leave out obligations whose deadline falls after the period's last day.
    """

    blocked_is_breach: bool = False
    tolerance: int = 0
    closed: bool = False

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise ValueError(f"tolerance {self.tolerance}: give 0 or more working days")

    def on_time(self, statuses: Mapping[str, int], late: Mapping[int, int]) -> int:
        """On time: fulfilled, and with a tolerance the late ones within it.

        Examples:
            >>> BreachPolicy(tolerance=1).on_time({"fulfilled": 5}, {0: 1, 1: 2, 3: 1})
            8
            >>> BreachPolicy().on_time({"fulfilled": 5}, {1: 2})
            5
        """
        done = int(statuses.get("fulfilled", 0))
        if self.tolerance:
            done += sum(n for days, n in late.items() if days <= self.tolerance)
        return done

    def judged(self, statuses: Mapping[str, int], blocked_past: int) -> int:
        """The obligations the rate rests on: on time, late, overdue, and with
        ``blocked_is_breach`` the waiting ones whose deadline passed."""
        out = sum(int(statuses.get(s, 0)) for s in ("fulfilled", "fulfilled_late", "overdue"))
        return out + (blocked_past if self.blocked_is_breach else 0)

    def rate(
        self, statuses: Mapping[str, int], late: Mapping[int, int], blocked_past: int
    ) -> float | None:
        """on time / judged, 4 decimals; None for 0/0.

        Examples:
            >>> p = BreachPolicy(blocked_is_breach=True)
            >>> p.rate({"fulfilled": 3, "fulfilled_late": 1, "blocked": 2}, {2: 1}, 1)
            0.6
        """
        judged = self.judged(statuses, blocked_past)
        if judged == 0:
            return None
        return round(self.on_time(statuses, late) / judged, 4)


def statement(policy: BreachPolicy, t: Translator, left_out: int = 0) -> str:
    """The policy in one paragraph, in the reader's language (the report's header).

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> print(statement(BreachPolicy(), translator("en")))  # doctest: +NORMALIZE_WHITESPACE
        On time means done by the deadline. Done late and overdue are breaches; waiting actions
        are not judged. Every action triggered in the period is counted, also those whose
        deadline falls after it.
        >>> print(statement(BreachPolicy(True, 2, True), translator("en"), 4))
        ... # doctest: +NORMALIZE_WHITESPACE
        On time means done by the deadline or at most 2 working days after it (tolerance).
        Done late and overdue are breaches, and so is a waiting action whose deadline has
        passed. Closed period: actions whose deadline falls after the period are left out (4).
    """
    parts = []
    if policy.tolerance:
        parts.append(
            N_(
                "On time means done by the deadline or at most {n} working days after it "
                "(tolerance).",
                n=policy.tolerance,
            )
            if policy.tolerance != 1
            else N_(
                "On time means done by the deadline or at most 1 working day after it (tolerance)."
            )
        )
    else:
        parts.append(N_("On time means done by the deadline."))
    if policy.blocked_is_breach:
        parts.append(
            N_(
                "Done late and overdue are breaches, and so is a waiting action whose deadline "
                "has passed."
            )
        )
    else:
        parts.append(N_("Done late and overdue are breaches; waiting actions are not judged."))
    if policy.closed:
        parts.append(
            N_(
                "Closed period: actions whose deadline falls after the period are left out ({n}).",
                n=left_out,
            )
        )
    else:
        parts.append(
            N_(
                "Every action triggered in the period is counted, also those whose deadline "
                "falls after it."
            )
        )
    return " ".join(p.render(t) for p in parts)


def check_target(target: float | None) -> float | None:
    """``target`` when it is a share above 0 and at most 1 (or None).

    Raises:
        ValueError: otherwise, saying what to give.

    Examples:
        >>> check_target(0.9), check_target(None)
        (0.9, None)
        >>> check_target(90)
        Traceback (most recent call last):
        ...
        ValueError: target 90: give a share above 0 and at most 1, such as 0.9 (90 %)
    """
    if target is not None and not 0 < target <= 1:  # NaN fails too
        raise ValueError(
            f"target {target:g}: give a share above 0 and at most 1, such as 0.9 (90 %)"
        )
    return target


def below_target(rate: float | None, target: float | None) -> bool:
    """Whether an on-time rate is below the target (never when either is missing).

    Examples:
        >>> below_target(0.8947, 0.9), below_target(0.9, 0.9), below_target(None, 0.9)
        (True, False, False)
    """
    return rate is not None and target is not None and rate < target


def percent(share: float, language: str) -> str:
    r"""A share as a percentage, at most two decimals, the way ``language`` writes it.

    Examples:
        >>> percent(0.9, "sv"), percent(0.925, "sv"), percent(0.9, "en"), percent(0.9255, "en")
        ('90\xa0%', '92,5\xa0%', '90%', '92.55%')
    """
    number = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    if language == "sv":
        return number.replace(".", ",") + "\u00a0%"
    return number + "%"


def target_statement(target: float, t: Translator) -> str:
    """The target in one sentence, in the reader's language.

    Examples:
        >>> from samverkan_rules.i18n import translator
        >>> target_statement(0.9, translator("en"))
        'Target: at least 90% on time each month; the months below it are marked.'
    """
    return N_(
        "Target: at least {rate} on time each month; the months below it are marked.",
        rate=percent(target, t.language),
    ).render(t)


def policy_record(policy: BreachPolicy, left_out: int) -> PolicyRecord:
    """The header's record of the policy, with its statement in English."""
    return PolicyRecord(
        blocked_is_breach=policy.blocked_is_breach,
        tolerance_working_days=policy.tolerance,
        closed=policy.closed,
        left_out=left_out,
        statement=statement(policy, translator("en"), left_out),
    )
