"""Fast request validation, declared once for validation and for the OpenAPI schema.

The bulk API validates up to 10,000 items per request, so validating one item must
cost microseconds, not the ~200 µs a nested DRF serializer costs (it deep-copies
its fields on every instance). A body is therefore described by a small tree of
specs (`Obj`, `Str`, `Int`, …): `spec.clean(value)` validates and converts in
plain Python and raises `webapi.exceptions.InputException` with Magento's
messages; `spec.drf_field()` builds the equivalent DRF field, used only to
describe the body in the OpenAPI schema. `RequestSerializer` glues both into a
DRF serializer whose `is_valid()` runs the fast path.

`clean` is idempotent: cleaning an already-cleaned value returns an equal value,
so services clean their input again at no risk (they may be called directly).

Longer than most modules (~480 lines) on purpose: the specs are one small language,
a dozen classes sharing `Spec`'s contract that read best side by side; split, each
file would hold one 30-line class and the contract would be read in pieces.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import empty

from webapi.exceptions import InputException

REQUIRED = '"%fieldName" is required. Enter and try again.'
INVALID_TYPE = (
    'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.'
)
INVALID_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
TOO_LONG = 'The "%fieldName" value is too long: %maxLength characters at most.'
NO_ACCESSOR = (
    'Property "%fieldName" does not have accessor method "%accessorMethod" in class "%className".'
)
NOT_SUPPORTED = '"%fieldName" is not supported by this API; send an empty list or leave it out.'
NUL_CHARACTER = 'The "%fieldName" value contains a NUL character, which is not allowed.'

# Integers are stored in 32-bit columns (Magento's `int(10)`); a larger value is refused
# here rather than failing in the database.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_INTEGER = re.compile(r"^-?[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(InputException):
    """A validation failure at `path` (the keys leading to the bad value)."""

    def __init__(
        self,
        message: str,
        parameters: Mapping[str, Any] | Sequence[Any],
        path: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, parameters)
        self.path = path

    def at(self, key: str) -> Invalid:
        self.path = (key, *self.path)
        return self


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_no_nul(value: Any, name: str) -> None:
    """Raise Invalid if a string anywhere in `value` (keys included) holds a NUL character.

    PostgreSQL can store NUL neither in text nor in jsonb, so such a value would
    otherwise fail at the database as a 500.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise Invalid(NUL_CHARACTER, {"fieldName": name})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_no_nul(key, name)
            _check_no_nul(item, name)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_no_nul(item, name)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class Spec:
    """A value's rules. Subclasses implement `check` and `drf_field`."""

    nullable = False  # None is a value (clears the field) rather than "absent"

    def __init__(
        self, *, required: bool = False, nullable: bool = False, help_text: str = ""
    ) -> None:
        self.required = required
        self.nullable = nullable
        self.help_text = help_text

    def clean(self, value: Any, name: str = "") -> Any:
        return self.check(value, name)

    def but(self, **changes: Any) -> Spec:
        """Return a copy with some attributes changed (`PRODUCT.but(required=True)`)."""
        twin = copy.copy(self)
        twin.__dict__.update(changes)
        if isinstance(twin, Obj):
            twin._required = tuple(k for k, f in twin.fields.items() if f.required)
        return twin

    def check(self, value: Any, name: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def drf_field(self) -> serializers.Field:  # pragma: no cover - abstract
        raise NotImplementedError

    def _kwargs(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "allow_null": self.nullable,
            "help_text": self.help_text or None,
        }


class Str(Spec):
    """A string; numbers are accepted and turned into their text (as Magento does)."""

    def __init__(
        self, *, max_length: int | None = None, allow_blank: bool = True, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.max_length = max_length
        self.allow_blank = allow_blank

    def check(self, value: Any, name: str) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            text = str(value)
        else:
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "string"})
        if "\x00" in text:
            raise Invalid(NUL_CHARACTER, {"fieldName": name})
        if not self.allow_blank and not text.strip():
            raise Invalid(REQUIRED, {"fieldName": name})
        if self.max_length is not None and len(text) > self.max_length:
            raise Invalid(TOO_LONG, {"fieldName": name, "maxLength": self.max_length})
        return text

    def drf_field(self) -> serializers.Field:
        return serializers.CharField(
            max_length=self.max_length, allow_blank=self.allow_blank, **self._kwargs()
        )


class Email(Str):
    def __init__(self, **kw: Any) -> None:
        super().__init__(max_length=255, allow_blank=False, **kw)

    def check(self, value: Any, name: str) -> str:
        text = super().check(value, name).strip()
        if not _EMAIL.match(text):
            raise Invalid(INVALID_VALUE, {"value": _show(value), "fieldName": name})
        return text

    def drf_field(self) -> serializers.Field:
        return serializers.EmailField(**self._kwargs())


class Int(Spec):
    """An integer; digit strings ("4") and integral floats are accepted."""

    def __init__(
        self,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        choices: tuple[int, ...] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.min_value = min_value
        self.max_value = max_value
        self.choices = frozenset(choices) if choices else None

    def check(self, value: Any, name: str) -> int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INTEGER.match(value.strip()):
            try:
                number = int(value.strip())
            except ValueError:  # past sys.int_info.str_digits_check_threshold (4,300 digits)
                raise Invalid(INVALID_VALUE, {"value": _show(value), "fieldName": name}) from None
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        if number is None:
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "int"})
        if (
            not INT_MIN <= number <= INT_MAX
            or (self.choices is not None and number not in self.choices)
            or (self.min_value is not None and number < self.min_value)
            or (self.max_value is not None and number > self.max_value)
        ):
            raise Invalid(INVALID_VALUE, {"value": number, "fieldName": name})
        return number

    def drf_field(self) -> serializers.Field:
        if self.choices:
            return serializers.ChoiceField(choices=sorted(self.choices), **self._kwargs())
        return serializers.IntegerField(
            min_value=self.min_value, max_value=self.max_value, **self._kwargs()
        )


class Number(Spec):
    """A decimal number; numeric strings ("10.5") are accepted."""

    def __init__(
        self,
        *,
        min_value: Decimal | int | None = None,
        max_digits: int = 20,
        decimal_places: int = 6,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.min_value = min_value
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self._quantum = Decimal(1).scaleb(-decimal_places)
        self._limit = Decimal(10) ** (max_digits - decimal_places)

    def check(self, value: Any, name: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "float"})
        try:
            number = Decimal(value.strip() if isinstance(value, str) else str(value))
        except InvalidOperation:
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "float"}) from None
        # copy_abs, not abs(): abs() rounds in the context and overflows on 1E+999999999.
        if not number.is_finite() or number.copy_abs() >= self._limit:
            raise Invalid(INVALID_VALUE, {"value": _show(value), "fieldName": name})
        if self.min_value is not None and number < self.min_value:
            raise Invalid(INVALID_VALUE, {"value": _show(value), "fieldName": name})
        if number.as_tuple().exponent < -self.decimal_places:  # type: ignore[operator]
            number = number.quantize(self._quantum)
        return number

    def drf_field(self) -> serializers.Field:
        return serializers.DecimalField(
            max_digits=self.max_digits,
            decimal_places=self.decimal_places,
            coerce_to_string=False,
            **self._kwargs(),
        )


class Bool(Spec):
    """A boolean; Magento clients also send 0/1 and "0"/"1"/"true"/"false"."""

    _TRUE: ClassVar[frozenset[Any]] = frozenset({True, "1", "true", "True", "TRUE"})
    _FALSE: ClassVar[frozenset[Any]] = frozenset({False, "0", "false", "False", "FALSE", ""})

    def check(self, value: Any, name: str) -> bool:
        if isinstance(value, int | str | bool):
            if value in self._TRUE:
                return True
            if value in self._FALSE:
                return False
        raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "bool"})

    def drf_field(self) -> serializers.Field:
        return serializers.BooleanField(**self._kwargs())


class Date(Spec):
    """A date, `YYYY-MM-DD` (a time part, as Magento sometimes sends, is ignored)."""

    def check(self, value: Any, name: str) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        raise Invalid(INVALID_VALUE, {"value": _show(value), "fieldName": name})

    def drf_field(self) -> serializers.Field:
        return serializers.DateField(**self._kwargs())


class AnyValue(Spec):
    """Any JSON value except an object (Magento's custom attribute values)."""

    def check(self, value: Any, name: str) -> Any:
        if isinstance(value, dict):
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "string"})
        _check_no_nul(value, name)
        return value

    def drf_field(self) -> serializers.Field:
        return serializers.JSONField(**self._kwargs())


class AnyObject(Spec):
    """Any JSON object, kept as sent (data this API stores but does not interpret)."""

    def check(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "object"})
        _check_no_nul(value, name)
        return value

    def drf_field(self) -> serializers.Field:
        return serializers.DictField(**self._kwargs())


class ListOf(Spec):
    def __init__(self, item: Spec, *, max_items: int | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.item = item
        self.max_items = max_items

    def check(self, value: Any, name: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": "array"})
        if self.max_items is not None and len(value) > self.max_items:
            raise Invalid(
                NOT_SUPPORTED if self.max_items == 0 else INVALID_VALUE,
                {"value": _show(value), "fieldName": name},
            )
        item = self.item
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item.check(v, name))
            except Invalid as exc:
                raise exc.at(str(i)) from None
        return out

    def drf_field(self) -> serializers.Field:
        kwargs = self._kwargs()
        if isinstance(self.item, Obj):
            return self.item.drf_serializer(many=True, **kwargs)
        return serializers.ListField(child=self.item.drf_field(), **kwargs)


_DRF_CLASSES: dict[str, type[serializers.Serializer]] = {}


class Obj(Spec):
    """A JSON object with known keys.

    `strict` objects reject unknown keys with Magento's accessor message naming the
    field and `class_name`; loose ones (a request body's top level) ignore them, as
    Magento ignores unknown method parameters.
    """

    def __init__(
        self,
        name: str,
        fields: Mapping[str, Spec],
        *,
        class_name: str = "",
        strict: bool = True,
        validate: Callable[[dict[str, Any]], None] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.name = name
        self.fields = dict(fields)
        self.class_name = class_name or name
        self.strict = strict
        self.validate = validate
        self._required = tuple(k for k, f in self.fields.items() if f.required)

    def check(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(INVALID_TYPE, {"value": _show(value), "type": self.class_name})
        fields = self.fields
        out: dict[str, Any] = {}
        for key, raw in value.items():
            spec = fields.get(key)
            if spec is None:
                if self.strict:
                    raise Invalid(
                        NO_ACCESSOR,
                        {
                            "fieldName": key,
                            "accessorMethod": "get" + _camel(str(key)),
                            "className": self.class_name,
                        },
                        (key,),
                    )
                continue
            if raw is None:
                if spec.nullable:
                    out[key] = None
                continue  # null means "not given", as for Magento's setters
            try:
                out[key] = spec.check(raw, key)
            except Invalid as exc:
                raise exc.at(key) from None
        for key in self._required:
            if key not in out:
                raise Invalid(REQUIRED, {"fieldName": key}, (key,))
        if self.validate is not None:
            self.validate(out)
        return out

    def drf_serializer(self, **kwargs: Any) -> serializers.Serializer:
        # One class per name, so that the OpenAPI schema has one component per entity.
        cls = _DRF_CLASSES.get(self.name)
        if cls is None:
            fields = {k: f.drf_field() for k, f in self.fields.items()}
            cls = _DRF_CLASSES[self.name] = type(self.name, (serializers.Serializer,), fields)
        return cls(**kwargs)

    def drf_field(self) -> serializers.Field:
        return self.drf_serializer(**self._kwargs())


class RequestSerializer(serializers.Serializer):
    """A DRF serializer that validates with a spec (see the module docstring).

    Subclasses set `spec` (the whole body, wrapper key included) and may override
    `check_params(data, params)` for rules that involve the URL parameters (given
    in `context["params"]`).

    A failure is an `Invalid` (an InputException, so a LocalizedException with
    Magento's message template and parameters): `run_validation` raises it, and
    `is_valid(raise_exception=True)` re-raises it, so the REST layer renders
    Magento's `{"message", "parameters"}` as for any service error. `is_valid()`
    returns False and leaves DRF's `errors` keyed by the path to the bad value,
    each message a full sentence: `{"product": {"price": ['The "abc" value's ...']}}`.
    """

    spec: ClassVar[Obj]
    exception: Invalid | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            # Declared for the schema only; the hot path never touches `self.fields`.
            for key, field in spec.fields.items():
                cls._declared_fields[key] = field.drf_field()

    def run_validation(self, data: Any = empty) -> dict[str, Any]:
        if data is empty or not isinstance(data, dict):
            raise Invalid("The request body must be a JSON object.", [])
        cleaned = self.spec.clean(data)
        self.check_params(cleaned, (self.context or {}).get("params") or {})
        return cleaned

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        if not hasattr(self, "_validated_data"):
            try:
                self._validated_data = self.run_validation(self.initial_data)
                self._errors: Any = {}
            except Invalid as exc:
                self.exception = exc
                self._validated_data = {}
                self._errors = error_detail(exc)
        if self._errors and raise_exception:
            assert self.exception is not None
            raise self.exception
        return not self._errors

    def check_params(self, data: dict[str, Any], params: Mapping[str, str]) -> None:
        """Check the body against the URL parameters; raise Invalid. Default: nothing."""

    def to_representation(self, instance: Any) -> Any:
        return instance


def error_detail(exc: Invalid) -> dict[str, Any]:
    """Return DRF's error shape for `exc`: nested by path, the message at the leaf."""
    detail: Any = [exc.rendered]
    for key in reversed(exc.path):
        detail = {key: detail}
    return detail if isinstance(detail, dict) else {"non_field_errors": detail}
