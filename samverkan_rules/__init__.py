"""samverkan-rules: Swedish collaboration routines as executable, versioned YAML rulesets.

Load a routine, read events, evaluate::

    from datetime import datetime
    from samverkan_rules import evaluate, load_routine, read_events

    routine = load_routine("routines/orebro-dagverksamhet-hemvard.yaml")
    batch = read_events("examples/orebro-case.jsonl")
    result = evaluate(routine, batch, datetime.fromisoformat("2026-12-15T12:00:00+01:00"))
    print(result.to_json())

Everything here is pure and thread-safe: compiled routines are immutable and
:func:`evaluate` keeps no state between calls.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from samverkan_rules.loader import (
        RoutineCheck,
        check_routine_file,
        check_routine_text,
        load_routine,
        load_routine_text,
    )
    from samverkan_rules.models import Routine
    from samverkan_rules.registry import Registry, load_registry

# The public names are imported on first use (PEP 562), so that ``import samverkan_rules``
# stays cheap: the command line starts (and can be interrupted cleanly) before pydantic,
# holidays and the engine are loaded.
_LAZY: dict[str, str] = {
    "WorkingCalendar": "samverkan_rules.calendar",
    "sweden_calendar": "samverkan_rules.calendar",
    "CompiledRoutine": "samverkan_rules.compiler",
    "compile_routine": "samverkan_rules.compiler",
    "Diagnostic": "samverkan_rules.diagnostics",
    "Ruleset": "samverkan_rules.engine",
    "evaluate": "samverkan_rules.engine",
    "CalendarError": "samverkan_rules.errors",
    "CompileError": "samverkan_rules.errors",
    "EvaluationError": "samverkan_rules.errors",
    "EventError": "samverkan_rules.errors",
    "RoutineError": "samverkan_rules.errors",
    "SamverkanError": "samverkan_rules.errors",
    "YamlError": "samverkan_rules.errors",
    "CaseResult": "samverkan_rules.evaluation",
    "Evaluation": "samverkan_rules.evaluation",
    "Obligation": "samverkan_rules.evaluation",
    "Event": "samverkan_rules.events",
    "EventBatch": "samverkan_rules.events",
    "read_events": "samverkan_rules.events",
    "read_events_text": "samverkan_rules.events",
    "RoutineCheck": "samverkan_rules.loader",
    "check_routine_file": "samverkan_rules.loader",
    "check_routine_text": "samverkan_rules.loader",
    "load_routine": "samverkan_rules.loader",
    "load_routine_text": "samverkan_rules.loader",
    "Routine": "samverkan_rules.models",
    "Registry": "samverkan_rules.registry",
    "load_registry": "samverkan_rules.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'samverkan_rules' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "Obligation",
    "Registry",
    "Routine",
    "RoutineCheck",
    "RoutineError",
    "Ruleset",
    "SamverkanError",
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
