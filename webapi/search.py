"""Magento's `searchCriteria`, read from a query string and applied to a queryset.

    GET /rest/V1/products?searchCriteria[filter_groups][0][filters][0][field]=sku
        &searchCriteria[filter_groups][0][filters][0][value]=A%
        &searchCriteria[filter_groups][0][filters][0][condition_type]=like
        &searchCriteria[sortOrders][0][field]=price&searchCriteria[sortOrders][0][direction]=DESC
        &searchCriteria[pageSize]=20&searchCriteria[currentPage]=2

Filters inside one group are OR-ed, groups are AND-ed. A search route calls

    page = search(Product.objects.all(), ctx.query, {"sku": "sku", "price": "price"})
    return page.answer(serialize_product)

where the mapping lists the API field names clients may filter and sort by, each
with its ORM lookup. snake_case and camelCase keys (`filter_groups`/`filterGroups`,
`condition_type`/`conditionType`, ...) are both accepted, as Magento does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max, Min, Q, QuerySet
from django.db.models.lookups import Lookup
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webapi.conf import webapi_settings
from webapi.exceptions import InputException

ROOT = "searchCriteria"
_KEY = re.compile(r"\[([^\[\]]*)\]")
_ALIASES = {
    "filterGroups": "filter_groups",
    "sortOrders": "sort_orders",
    "pageSize": "page_size",
    "currentPage": "current_page",
    "conditionType": "condition_type",
}
_COMPARISONS = {
    "eq": "exact",
    "gt": "gt",
    "gteq": "gte",
    "moreq": "gte",
    "from": "gte",
    "lt": "lt",
    "lteq": "lte",
    "to": "lte",
}
CONDITION_TYPES = (*_COMPARISONS, "neq", "like", "nlike", "in", "nin", "null", "notnull")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

REQUIRED = '"%fieldName" is required. Enter and try again.'
TOO_LONG = (
    'The value of "%fieldName" is too long: %length characters, at most %maxLength are allowed.'
)
INVALID = 'Invalid value of "%value" provided for the %fieldName field.'
_MAX_EXPONENT = 1000  # numbers past 1E+1000 (or under 1E-1000) are refused
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    condition_type: str = "eq"


@dataclass
class SearchCriteria:
    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int = 1

    def echo(self, page_size: int) -> dict[str, Any]:
        """Return the criteria as Magento echoes them in `search_criteria`."""
        answer: dict[str, Any] = {
            "filter_groups": [
                {
                    "filters": [
                        {"field": f.field, "value": f.value, "condition_type": f.condition_type}
                        for f in group
                    ]
                }
                for group in self.filter_groups
            ]
        }
        if self.sort_orders:
            answer["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        answer["page_size"] = page_size
        answer["current_page"] = self.current_page
        return answer


class SearchPage(NamedTuple):
    """One page of results: the items (model instances), the total and the criteria echo."""

    items: list[Any]
    total_count: int
    search_criteria: dict[str, Any]

    def answer(self, serialize: Callable[[Any], Any]) -> dict[str, Any]:
        """Return Magento's search result: `{items, search_criteria, total_count}`."""
        return {
            "items": [serialize(item) for item in self.items],
            "search_criteria": self.search_criteria,
            "total_count": self.total_count,
        }


def search(
    queryset: QuerySet, query_params: Mapping[str, Any], fields: Mapping[str, str]
) -> SearchPage:
    """Filter, sort and page `queryset` by the `searchCriteria` in `query_params`.

    `fields` maps each API field name to its ORM lookup (`"category_id":
    "category_links__category"`). An unknown field, condition type or direction,
    or a value the field cannot hold, raises InputException (400). The page size
    is capped at `WEBAPI["SEARCH_MAX_PAGE_SIZE"]`, which is also the default (and
    what page size 0 means). A current page under 1 is page 1; a page past the last
    one is empty with the true `total_count`, as Magento 2.4 answers it (before 2.4,
    its collections repeated the last page; 2.4 keeps that only for its storefront
    pagers, in the Theme module's `Plugin/Data/Collection.php`).
    """
    criteria = parse_search_criteria(query_params)
    queryset, needs_distinct = _filter(queryset, criteria, fields)
    queryset, grouped = _sort(queryset, criteria, fields)
    if needs_distinct and not grouped:  # grouping already gives one row per item
        queryset = queryset.distinct()
    total_count = queryset.count()
    limit = webapi_settings.SEARCH_MAX_PAGE_SIZE
    page_size = min(criteria.page_size or limit, limit)
    offset = (max(criteria.current_page, 1) - 1) * page_size
    # Past the last page there is nothing to read (and a huge offset overflows the database's).
    items = list(queryset[offset : offset + page_size]) if offset < total_count else []
    return SearchPage(items, total_count, criteria.echo(page_size))


# --- parsing -----------------------------------------------------------------------


def parse_search_criteria(query_params: Mapping[str, Any]) -> SearchCriteria:
    """Return the SearchCriteria of a query string (a QueryDict or a plain mapping)."""
    tree = _nest(query_params)
    criteria = SearchCriteria()
    groups = tree.get("filter_groups", {})
    for g_key in _ordered(groups, "filter_groups"):
        group = groups[g_key]
        filters = group.get("filters", {}) if isinstance(group, dict) else {}
        parsed = []
        for f_key in _ordered(filters, f"filter_groups][{g_key}][filters"):
            raw = filters[f_key]
            where = f"{ROOT}[filter_groups][{g_key}][filters][{f_key}]"
            if not isinstance(raw, dict) or not raw.get("field"):
                raise InputException(REQUIRED, {"fieldName": f"{where}[field]"})
            condition = (raw.get("condition_type") or "eq").lower()
            if condition not in CONDITION_TYPES:
                raise InputException(
                    'The condition type "%1" is not supported. Use one of: %2.',
                    [condition, ", ".join(CONDITION_TYPES)],
                )
            value = str(raw.get("value", ""))
            _check_length(value, condition, f"{where}[value]")
            parsed.append(Filter(str(raw["field"]), value, condition))
        if parsed:
            criteria.filter_groups.append(parsed)
    orders = tree.get("sort_orders", {})
    for o_key in _ordered(orders, "sort_orders"):
        raw = orders[o_key]
        if not isinstance(raw, dict) or not raw.get("field"):
            raise InputException(REQUIRED, {"fieldName": f"{ROOT}[sort_orders][{o_key}][field]"})
        direction = str(raw.get("direction") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise InputException('The sort direction "%1" is not ASC or DESC.', [direction])
        criteria.sort_orders.append((str(raw["field"]), direction))
    if "page_size" in tree:
        # 0 is no limit on Magento (here: the largest page, WEBAPI["SEARCH_MAX_PAGE_SIZE"]).
        criteria.page_size = _integer(tree["page_size"], "pageSize", minimum=0) or None
    if "current_page" in tree:
        # Magento reads any page under 1 (0, -3) as page 1 and echoes the number given.
        criteria.current_page = _integer(tree["current_page"], "currentPage")
    return criteria


def _nest(query_params: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key in query_params:
        if not key.startswith(ROOT + "["):
            continue
        parts = _KEY.findall(key[len(ROOT) :])
        if not parts or "".join(f"[{p}]" for p in parts) != key[len(ROOT) :]:
            raise InputException('The query parameter "%1" is malformed.', [key])
        getlist = getattr(query_params, "getlist", None)
        value = getlist(key)[-1] if getlist else query_params[key]
        if "\x00" in str(value):  # PostgreSQL cannot compare with it: a 500 otherwise
            raise InputException('The query parameter "%1" contains a NUL character.', [key])
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(_ALIASES.get(part, part), {})
            if not isinstance(child, dict):
                raise InputException('The query parameter "%1" is malformed.', [key])
            node = child
        node[_ALIASES.get(parts[-1], parts[-1])] = value
    return tree


def _ordered(node: Any, name: str) -> list[str]:
    if not isinstance(node, dict):
        raise InputException('The query parameter "%1" is malformed.', [f"{ROOT}[{name}]"])
    return sorted(node, key=_index_key)


def _index_key(key: str) -> tuple[int, int, str]:
    """Order numbered keys (`[0]`, `[1]`, … `[10]`) by number, any other key after them
    by name: a key that only looks numeric (`²`, or past int()'s 4,300 digits) is a name."""
    if key.isascii() and key.isdigit() and len(key) <= 18:
        return (0, int(key), "")
    return (1, 0, key)


def _check_length(value: str, condition: str, name: str) -> None:
    """Refuse a filter value past its bound: `SEARCH_MAX_LIKE_LENGTH` characters for a
    like/nlike pattern, `SEARCH_MAX_VALUE_LENGTH` for any other value."""
    if condition in ("like", "nlike"):
        bound = webapi_settings.SEARCH_MAX_LIKE_LENGTH
    else:
        bound = webapi_settings.SEARCH_MAX_VALUE_LENGTH
    if len(value) > bound:
        raise InputException(
            TOO_LONG, {"fieldName": name, "length": len(value), "maxLength": bound}
        )


def _integer(value: Any, name: str, minimum: int | None = None) -> int:
    """Return `value` as an int; InputException if it is none (or under `minimum`).

    A number of more than 30 digits stands for 10**30 (or its negative): far past any
    page, and int() of thousands of digits costs time.
    """
    text = str(value).strip()
    if not _INTEGER.fullmatch(text):
        raise InputException(INVALID, {"value": value, "fieldName": f"{ROOT}[{name}]"})
    if len(text.lstrip("+-")) > 30:
        number = -(10**30) if text.startswith("-") else 10**30
    else:
        number = int(text)
    if minimum is not None and number < minimum:
        raise InputException(INVALID, {"value": value, "fieldName": f"{ROOT}[{name}]"})
    return number


# --- applying ------------------------------------------------------------------------


def _lookup(fields: Mapping[str, str], name: str) -> str:
    """Return the ORM lookup of API field `name`, matched case-insensitively (`SKU`,
    `Sku`: `sku`), as Magento's MySQL columns match whatever the case."""
    if name in fields:
        return fields[name]
    folded = name.casefold()
    for known, lookup in fields.items():
        if known.casefold() == folded:
            return lookup
    raise InputException(
        'The field "%fieldName" can\'t be searched or sorted. Use one of: %fields.',
        {"fieldName": name, "fields": ", ".join(sorted(fields))},
    )


def _target(model: type[models.Model], lookup: str) -> tuple[models.Field | None, bool]:
    """Return the model field a lookup ends on (None for annotations) and whether it
    crosses a to-many relation."""
    to_many = False
    target: Any = None
    for part in lookup.split("__"):
        if model is None:
            return None, to_many
        try:
            target = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None, to_many
        if target.is_relation:
            to_many = to_many or bool(target.one_to_many or target.many_to_many)
            model = target.related_model
    return target, to_many


def _convert(target: Any, value: str, name: str) -> Any:
    if isinstance(target, models.DateTimeField):
        # Magento's dates are UTC: a value without a zone is read as UTC.
        try:
            moment = target.to_python(value.strip())
        except DjangoValidationError:
            return value  # not a date: the field's own conversion refuses it
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        return moment
    if isinstance(target, models.DateField):
        moment = _moment(value)
        return value if moment is None else moment.date()
    if isinstance(target, models.BooleanField):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InputException(INVALID, {"value": value, "fieldName": name})
    if isinstance(target, models.DecimalField | models.FloatField):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return value  # not a number: the field's own conversion refuses it
        # 1E+999999999999999999 is a Decimal, but no database compares with it (a 500).
        if number.is_finite() and number and abs(number.adjusted()) > _MAX_EXPONENT:
            raise InputException(INVALID, {"value": value, "fieldName": name})
    return value


def _condition(f: Filter, lookup: str, target: Any, connection: BaseDatabaseWrapper) -> Q:
    ct = f.condition_type
    if ct == "null":
        return Q(**{f"{lookup}__isnull": True})
    if ct == "notnull":
        return Q(**{f"{lookup}__isnull": False})
    related = target.related_model if isinstance(target, models.Field) else None
    if isinstance(related, type) and issubclass(related, models.Model):
        # A foreign key (`category_id`) is compared as the key it points to: that
        # field's own lookups (like, and Django's integer overflow handling) apply.
        lookup, target = f"{lookup}__pk", related._meta.pk
    if ct in ("in", "nin"):
        values = [_convert(target, v.strip(), f.field) for v in f.value.split(",") if v.strip()]
        values = [v for v in values if _may_be_stored(target, v, connection)]
        q = Q(**{f"{lookup}__in": values})
        return ~q if ct == "nin" else q
    if ct in ("like", "nlike"):
        q = like_q(lookup, f.value)
        return ~q if ct == "nlike" else q
    if isinstance(target, models.DateField) and not _is_date(target, f.value):
        return _not_a_date(ct, lookup)
    value = _convert(target, f.value, f.field)
    if ct == "neq":
        return ~Q(**{lookup: value})
    return Q(**{f"{lookup}__{_COMPARISONS[ct]}": value})


def _is_date(target: models.DateField, value: str) -> bool:
    try:
        return target.to_python(value.strip()) is not None
    except DjangoValidationError:
        # A date field also takes a date and time (its date part), as MySQL does.
        return _moment(value) is not None


def _moment(value: str) -> dt.datetime | None:
    try:
        return parse_datetime(value.strip())
    except ValueError:
        return None


# Where the zero date stands against every stored date: gt, gteq (and its aliases) and
# neq hold for every row that has a date; eq, lt and lteq hold for none.
_AFTER_ZERO_DATE = {"gt", "gteq", "moreq", "from", "neq"}


def _not_a_date(condition_type: str, lookup: str) -> Q:
    """Return the condition `date <condition_type> <not a date>` as MariaDB evaluates it
    under Magento: the value (`None`, `abc`, empty) becomes the zero date
    `0000-00-00 00:00:00`, earlier than any date, so `updated_at gteq None` is every
    row whose `updated_at` is set. NULL dates match nothing, as in SQL."""
    if condition_type in _AFTER_ZERO_DATE:
        return Q(**{f"{lookup}__isnull": False})
    return Q(pk__in=[])


def _may_be_stored(target: Any, value: Any, connection: BaseDatabaseWrapper) -> bool:
    """False for an integer outside the range of the integer field `target` (the database
    would refuse to compare with it; no row holds it). Anything else is left to the
    field's own conversion, which refuses what it cannot hold."""
    if not isinstance(target, models.IntegerField) or not isinstance(value, str):
        return True
    if not _INTEGER.fullmatch(value):
        return True
    low, high = connection.ops.integer_field_range(target.get_internal_type())
    digits = value.strip().lstrip("+-")
    if len(digits) > 30:  # far outside any range, and int() of it costs time
        return False
    number = int(value)
    return (low is None or number >= low) and (high is None or number <= high)


def like_pattern(pattern: str) -> str:
    """Return Magento's `like` pattern as an SQL LIKE pattern escaped with a backslash.

    `%` is any run of characters, `_` one character, `\\x` the character x itself (so
    `\\%`, `\\_` and `\\\\` are literal). A run of wildcards collapses to its `_`s
    followed by one `%` (if it had any): the database matches the same strings, with
    no repeated scans.
    """
    out: list[str] = []
    ones, anything = 0, False  # the pending run of wildcards

    def flush() -> None:
        nonlocal ones, anything
        out.append("_" * ones + ("%" if anything else ""))
        ones, anything = 0, False

    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            anything = True
        elif ch == "_":
            ones += 1
        else:
            if ch == "\\" and i + 1 < len(pattern):
                i += 1
                ch = pattern[i]
            flush()
            out.append("\\" + ch if ch in "\\%_" else ch)
        i += 1
    flush()
    return "".join(out)


def like_q(lookup: str, pattern: str) -> Q:
    """Return a Q for Magento's `like` (case-insensitive): see `like_pattern`.

    The database evaluates it with its own LIKE (`MagentoLike`), which takes time
    proportional to the value times the (bounded) pattern at worst: no backtracking.
    """
    return Q(**{f"{lookup}__{MagentoLike.lookup_name}": like_pattern(pattern)})


@models.Field.register_lookup
class MagentoLike(Lookup):
    """`field__magento_like=pattern`: the database's case-insensitive LIKE with `\\` as
    the escape character, on the field's text (a number or a key is cast, as Django's
    `icontains` does). `pattern` is an SQL LIKE pattern (see `like_pattern`), used as is.
    """

    lookup_name = "magento_like"
    prepare_rhs = False  # the pattern is text, whatever the field holds

    def get_db_prep_lookup(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        field = self.lhs.output_field
        if isinstance(field, models.UUIDField) and not connection.features.has_native_uuid_field:
            value = value.replace("-", "")  # stored as 32 hex digits (Django's UUIDIContains)
        return "%s", [value]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs_sql, params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        internal_type = self.lhs.output_field.get_internal_type()
        # Django's own translation of icontains on this backend, e.g. SQLite
        # `x LIKE %s ESCAPE '\\'`, PostgreSQL `UPPER(x::text) LIKE UPPER(%s)`.
        lhs_sql = connection.ops.lookup_cast("icontains", internal_type) % lhs_sql
        rhs_sql = connection.operators["icontains"] % rhs_sql
        return f"{lhs_sql} {rhs_sql}", [*params, *rhs_params]


def _filter(
    queryset: QuerySet, criteria: SearchCriteria, fields: Mapping[str, str]
) -> tuple[QuerySet, bool]:
    needs_distinct = False
    connection = connections[queryset.db]
    for group in criteria.filter_groups:
        combined = Q()
        for f in group:
            lookup = _lookup(fields, f.field)
            target, to_many = _target(queryset.model, lookup)
            needs_distinct = needs_distinct or to_many
            combined |= _condition(f, lookup, target, connection)
        try:
            queryset = queryset.filter(combined)
        except (ValueError, TypeError, DjangoValidationError):
            raise InputException(
                "A filter value doesn't fit its field: %1",
                [", ".join(f"{f.field} {f.condition_type} {f.value!r}" for f in group)],
            ) from None
    return queryset, needs_distinct


def _sort(
    queryset: QuerySet, criteria: SearchCriteria, fields: Mapping[str, str]
) -> tuple[QuerySet, bool]:
    """Return the sorted queryset and whether it is grouped (one row per item).

    A field across a to-many relation (a product's `category_id`) sorts by its
    smallest value (ASC) or largest (DESC), so each item still appears once.
    """
    ordering = []
    grouped = False
    for index, (name, direction) in enumerate(criteria.sort_orders):
        lookup = _lookup(fields, name)
        if _target(queryset.model, lookup)[1]:
            alias = f"_sort_{index}"
            aggregate = Max if direction == "DESC" else Min
            queryset = queryset.annotate(**{alias: aggregate(lookup)})
            lookup, grouped = alias, True
        ordering.append(f"-{lookup}" if direction == "DESC" else lookup)
    if ordering:
        return queryset.order_by(*ordering, "pk"), grouped
    if not queryset.ordered:
        return queryset.order_by("pk"), grouped
    return queryset, grouped
