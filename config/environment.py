"""What `config/settings.py` reads from the environment, and a record of it.

Two ways to read a variable:

- `read(name, default, kind)` for Django's own settings, whose defaults live in
  settings.py: the converted value, or the default when the variable is unset or empty;
- `section(SETTING, KEY="VARIABLE", ...)` for an app's settings, whose defaults live in
  the app's `conf.py` (`config.appsettings.AppSettings`): a dict with only the keys
  whose variable is set, as raw text that remembers its variable, so that the app
  converts it once and names the variable if it does not fit.

Every variable read either way is recorded in `VARIABLES` (name → where its default
lives), so that a test can hold the README's configuration table to exactly what is
read, with the same defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.appsettings import FromEnvironment, Kind, text


@dataclass(frozen=True)
class Variable:
    """An environment variable settings.py reads: its default here, or the app setting it feeds."""

    name: str
    default: Any = None
    setting: str = ""  # e.g. "QUEUES": the default is the app's declared one for `key`
    key: str = ""


VARIABLES: dict[str, Variable] = {}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def read(name: str, default: Any = None, kind: Kind = text) -> Any:
    """Return variable `name` converted by `kind`, or `default` when it is unset or empty."""
    VARIABLES[name] = Variable(name, default)
    value = _raw(name)
    if value is None:
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be {kind.description}, got {value!r}") from None


def section(setting: str, **variables: str) -> dict[str, FromEnvironment]:
    """Return {KEY: raw text} for each `KEY="VARIABLE"` whose variable is set."""
    values: dict[str, FromEnvironment] = {}
    for key, name in variables.items():
        VARIABLES[name] = Variable(name, setting=setting, key=key)
        value = _raw(name)
        if value is not None:
            values[key] = FromEnvironment(value, name)
    return values
