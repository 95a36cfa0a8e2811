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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Max, Min, Q, QuerySet

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
    is capped at `WEBAPI["SEARCH_MAX_PAGE_SIZE"]`, which is also the default. A
    page past the last one is empty (Magento would repeat the last page).
    """
    criteria = parse_search_criteria(query_params)
    queryset, needs_distinct = _filter(queryset, criteria, fields)
    queryset, grouped = _sort(queryset, criteria, fields)
    if needs_distinct and not grouped:  # grouping already gives one row per item
        queryset = queryset.distinct()
    total_count = queryset.count()
    limit = webapi_settings.SEARCH_MAX_PAGE_SIZE
    page_size = min(criteria.page_size or limit, limit)
    offset = (criteria.current_page - 1) * page_size
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
            parsed.append(Filter(str(raw["field"]), str(raw.get("value", "")), condition))
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
        criteria.page_size = _positive_int(tree["page_size"], "pageSize")
    if "current_page" in tree:
        criteria.current_page = _positive_int(tree["current_page"], "currentPage")
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
    return sorted(node, key=lambda k: (0, int(k), "") if k.isdigit() else (1, 0, k))


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise InputException(
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": value, "fieldName": f"{ROOT}[{name}]"},
        )
    return number


# --- applying ------------------------------------------------------------------------


def _lookup(fields: Mapping[str, str], name: str) -> str:
    try:
        return fields[name]
    except KeyError:
        raise InputException(
            'The field "%fieldName" can\'t be searched or sorted. Use one of: %fields.',
            {"fieldName": name, "fields": ", ".join(sorted(fields))},
        ) from None


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
    if isinstance(target, models.BooleanField):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InputException(
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": value, "fieldName": name},
        )
    return value


def _condition(f: Filter, lookup: str, target: Any) -> Q:
    ct = f.condition_type
    if ct == "null":
        return Q(**{f"{lookup}__isnull": True})
    if ct == "notnull":
        return Q(**{f"{lookup}__isnull": False})
    if ct in ("in", "nin"):
        values = [_convert(target, v.strip(), f.field) for v in f.value.split(",") if v.strip()]
        q = Q(**{f"{lookup}__in": values})
        return ~q if ct == "nin" else q
    if ct in ("like", "nlike"):
        q = like_q(lookup, f.value)
        return ~q if ct == "nlike" else q
    value = _convert(target, f.value, f.field)
    if ct == "neq":
        return ~Q(**{lookup: value})
    return Q(**{f"{lookup}__{_COMPARISONS[ct]}": value})


def like_q(lookup: str, pattern: str) -> Q:
    """Return a Q for SQL LIKE semantics (case-insensitive): `%` any run, `_` one character.

    `\\%` and `\\_` are literal. Plain prefix/suffix/contains patterns use Django's
    indexed-friendly lookups; anything else becomes an anchored regex.
    """
    tokens: list[str] = []  # literal text, or "%" / "_" wildcards as single tokens
    literal = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            literal += pattern[i + 1]
            i += 2
            continue
        if ch in "%_":
            tokens.append(literal)
            tokens.append(ch)
            literal = ""
        else:
            literal += ch
        i += 1
    tokens.append(literal)
    wildcards = tokens[1::2]
    texts = tokens[0::2]
    if not wildcards:
        return Q(**{f"{lookup}__iexact": texts[0]})
    nonempty = [t for t in texts if t]
    if all(w == "%" for w in wildcards) and len(nonempty) <= 1:
        text = nonempty[0] if nonempty else ""
        starts, ends = texts[0] == "", texts[-1] == ""  # a leading / trailing %
        if starts and ends:
            return Q(**{f"{lookup}__icontains": text})
        if ends:
            return Q(**{f"{lookup}__istartswith": text})
        return Q(**{f"{lookup}__iendswith": text})
    regex = "".join(
        (".*" if tok == "%" else ".") if index % 2 else re.escape(tok)
        for index, tok in enumerate(tokens)
    )
    return Q(**{f"{lookup}__iregex": f"^{regex}$"})


def _filter(
    queryset: QuerySet, criteria: SearchCriteria, fields: Mapping[str, str]
) -> tuple[QuerySet, bool]:
    needs_distinct = False
    for group in criteria.filter_groups:
        combined = Q()
        for f in group:
            lookup = _lookup(fields, f.field)
            target, to_many = _target(queryset.model, lookup)
            needs_distinct = needs_distinct or to_many
            combined |= _condition(f, lookup, target)
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
