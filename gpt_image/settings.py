"""The container's settings, read from its environment (`docker run -e`, cog.yaml's
`environment:`): a value that cannot work stops setup with one sentence."""

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SettingError(ValueError):
    """A setting of the container that cannot work; the message says which and why."""


def setting(
    name: str, default: T, parse: Callable[[str], T], valid: Callable[[T], bool], what: str
) -> T:
    """The setting's value, or default when it is unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingError(f"{name} must be {what}, not {raw!r}.") from None
    if not valid(value):
        raise SettingError(f"{name} must be {what}, not {raw!r}.")
    return value
