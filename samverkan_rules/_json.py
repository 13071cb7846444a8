"""JSON text for the output contracts, fast and byte-identical to the documented form.

The evaluation JSON is written with two-space indentation, UTF-8 text as is (no ``\\u``
escapes for non-ASCII letters) and keys in the order the contract lists them. ``orjson``
writes exactly that, several times faster than the standard library.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps_bytes(value: Any, *, indent: int | None = 2) -> bytes:
    """``value`` as UTF-8 JSON; ``indent`` 2 or None (compact, no spaces).

    Examples:
        >>> dumps_bytes({"a": [1, "å"]}, indent=None)
        b'{"a":[1,"\\xc3\\xa5"]}'
    """
    if indent is None:
        return orjson.dumps(value)
    if indent != 2:
        raise ValueError(f"indent must be 2 or None, got {indent!r}")
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON text (see :func:`dumps_bytes`)."""
    return dumps_bytes(value, indent=indent).decode("utf-8")
