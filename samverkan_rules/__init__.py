"""samverkan-rules: Swedish collaboration routines as executable, versioned YAML rulesets.

Load a routine, read events, evaluate::

    from datetime import datetime
    from samverkan_rules import evaluate, load_routine, read_events

    routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
    batch = read_events("examples/orebro-case.jsonl")
    result = evaluate(routine, batch, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
    print(result.to_json())

Everything here is pure and thread-safe: compiled routines are immutable and
:func:`evaluate` keeps no state between calls. :class:`Session` (from
:mod:`samverkan_rules.live`) takes events one at a time and keeps them, in an
:class:`EventStore` file when given one.
"""

from samverkan_rules.calendar import WorkingCalendar, sweden_calendar
from samverkan_rules.compiler import CompiledRoutine, compile_routine
from samverkan_rules.diagnostics import Diagnostic
from samverkan_rules.engine import Ruleset, evaluate
from samverkan_rules.errors import (
    CalendarError,
    CompileError,
    EvaluationError,
    EventError,
    RoutineError,
    SamverkanError,
    YamlError,
)
from samverkan_rules.evaluation import CaseResult, Evaluation, Obligation
from samverkan_rules.events import Event, EventBatch, read_events, read_events_text
from samverkan_rules.live import EventStore, Session
from samverkan_rules.loader import (
    RoutineCheck,
    check_routine_file,
    check_routine_text,
    load_routine,
    load_routine_text,
)
from samverkan_rules.models import Routine
from samverkan_rules.registry import Registry, load_registry

__version__ = "0.1.0"

__all__ = [
    "CalendarError",
    "CaseResult",
    "CompileError",
    "CompiledRoutine",
    "Diagnostic",
    "Evaluation",
    "EvaluationError",
    "Event",
    "EventBatch",
    "EventError",
    "EventStore",
    "Obligation",
    "Registry",
    "Routine",
    "RoutineCheck",
    "RoutineError",
    "Ruleset",
    "SamverkanError",
    "Session",
    "WorkingCalendar",
    "YamlError",
    "__version__",
    "check_routine_file",
    "check_routine_text",
    "compile_routine",
    "evaluate",
    "load_registry",
    "load_routine",
    "load_routine_text",
    "read_events",
    "read_events_text",
    "sweden_calendar",
]
