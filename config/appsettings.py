"""Each app's settings, read one way: DRF's `APISettings` pattern.

An app declares its settings once, in its own `conf.py`, each with its default and
its kind (how a value is converted and checked):

    queue_settings = AppSettings("QUEUES", {
        "MAX_TRIALS": (5, integer),
        "AMQP_URL": ("amqp://guest:guest@127.0.0.1:5672/%2F", text),
    })
    queue_settings.MAX_TRIALS  # -> 5, or settings.QUEUES["MAX_TRIALS"] converted

`settings.QUEUES` (a dict) holds only what a deployment changes; `config/settings.py`
fills it with the environment variables that are set, as raw text
(`config.environment`). A value is converted the first time it is read and kept;
`setting_changed` (Django's `override_settings`, pytest-django's `settings`) drops
what was kept. A value that does not convert is `ImproperlyConfigured`, naming the
environment variable it came from; `validate()` reads everything at start-up so that
such a mistake stops the process at once.

One of the two modules of `config` that apps import (with `config.environment`'s
`FromEnvironment`); neither imports anything of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


class FromEnvironment(str):
    """Text taken from an environment variable; remembers the variable's name."""

    variable: str

    def __new__(cls, value: str, variable: str) -> FromEnvironment:
        text = super().__new__(cls, value)
        text.variable = variable
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (FromEnvironment, (str(self), self.variable))


@dataclass(frozen=True)
class Kind:
    """How a setting's value is converted: `convert(value)` raises ValueError or TypeError
    for a value that does not fit; `description` says what was expected."""

    convert: Callable[[Any], Any]
    description: str

    def __call__(self, value: Any) -> Any:
        return self.convert(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    return int(str(value).strip())


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    return float(value if isinstance(value, int | float) else str(value).strip())


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__} is not text")
    return str(value)


def _optional_number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = _number(value)
    return number if number > 0 else None


def _text_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        return [_text(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not a list")


def _counts(value: Any) -> dict[str, int]:
    """`name=3,other=2` (or a dict) → {"name": 3, "other": 2}."""
    if isinstance(value, Mapping):
        return {str(key): _integer(count) for key, count in value.items()}
    counts: dict[str, int] = {}
    for item in _text_list(value):
        key, sep, count = item.rpartition("=")
        if not sep or not key.strip() or not count.strip().isdigit():
            raise ValueError(item)
        counts[key.strip()] = int(count)
    return counts


integer = Kind(_integer, "an integer")
number = Kind(_number, "a number")
optional_number = Kind(_optional_number, "a number of seconds (0 or empty: none)")
boolean = Kind(_boolean, "1/0, true/false, yes/no or on/off")
text = Kind(_text, "text")
text_list = Kind(_text_list, "a comma-separated list")
counts = Kind(_counts, "a list like 'consumer=2,other=1'")


def source(value: Any, where: str) -> str:
    """Return where a value came from: its environment variable, else the setting."""
    return getattr(value, "variable", where)


class AppSettings:
    """One app's settings: `settings.<name>[KEY]` if set, else the declared default."""

    def __init__(self, name: str, declarations: Mapping[str, tuple[Any, Kind]]) -> None:
        self.name = name
        self.declarations = dict(declarations)
        self._values: dict[str, Any] = {}
        setting_changed.connect(self._setting_changed, weak=False)

    @property
    def defaults(self) -> dict[str, Any]:
        """Return {key: default} as declared."""
        return {key: default for key, (default, _kind) in self.declarations.items()}

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key not in self.declarations:
            raise AttributeError(f"{self.name} has no setting {key!r}")
        if key not in self._values:
            self._values[key] = self._read(key)
        return self._values[key]

    def _read(self, key: str) -> Any:
        default, kind = self.declarations[key]
        given = getattr(settings, self.name, None) or {}
        if key not in given:
            return default
        value = given[key]
        try:
            return kind(value)
        except (TypeError, ValueError):
            where = source(value, f"{self.name}[{key!r}]")
            raise ImproperlyConfigured(
                f"{where} must be {kind.description}, got {value!r}"
            ) from None

    def validate(self) -> None:
        """Read every setting now: raise ImproperlyConfigured for the first that does not fit,
        and for a key that is not declared (a typo would otherwise be ignored)."""
        unknown = set(getattr(settings, self.name, None) or {}) - set(self.declarations)
        if unknown:
            raise ImproperlyConfigured(
                f"{self.name} has no setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.declarations))}"
            )
        for key in self.declarations:
            getattr(self, key)

    def reload(self) -> None:
        """Forget the converted values: the next read converts `settings.<name>` again."""
        self._values.clear()

    def _setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting == self.name:
            self.reload()
