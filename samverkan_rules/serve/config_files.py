"""The service's YAML configuration files (clients, webhooks): a mapping holding one list,
read the same way, with the same messages, for each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """A configuration file that cannot be read or is not the expected shape; the message
    names the file."""


def read_list(file: Path, key: str) -> list[Any]:
    """The list under ``key`` in the mapping a YAML file holds.

    Raises:
        ConfigFileError: the file cannot be read, is not YAML, or holds no such list.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "clients.yaml"
        ...     _ = path.write_text("clients: [{name: a}]", encoding="utf-8")
        ...     read_list(path, "clients")
        [{'name': 'a'}]
    """
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{file}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{file}: not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ConfigFileError(f"{file}: expected a mapping with a list '{key}'")
    items: list[Any] = data[key]
    return items
