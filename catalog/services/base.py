"""What every catalog service shares: transactions, input cleaning, search."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.constants import OnConflict

from catalog.serializers.fields import REQUIRED, Obj
from webapi.exceptions import InputException, NoSuchEntityException

F = TypeVar("F", bound=Callable[..., Any])

NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"


def writes(func: F) -> F:
    """Run a service write inside the caller's transaction, or in its own if there is none.

    Inside a transaction (the REST layer's `run_route`, the operation consumer) this
    adds no query, not even a savepoint, and a domain exception leaves the caller's
    transaction usable: the caller decides to roll back (both do, by leaving their
    `atomic` block with the exception). Services check their input before they
    write, so a refused call has normally written nothing.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        with transaction.atomic():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def clean(spec: Obj, data: Any) -> dict[str, Any]:
    """Validate and convert an entity (`{"sku": ...}`), raising InputException.

    Services clean their input even when a serializer already did: they are also
    called directly (tests, scripts), and cleaning is idempotent and cheap.
    """
    return spec.clean(data, spec.name)


def required(value: Any, field_name: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputException(REQUIRED, {"fieldName": field_name})
    return value


def no_such_entity(field_name: str, value: Any) -> NoSuchEntityException:
    """Return Magento's `NoSuchEntityException::singleField`."""
    return NoSuchEntityException(NO_SUCH_ENTITY, {"fieldName": field_name, "fieldValue": value})


def as_id(value: Any, field_name: str) -> int:
    """Return a URL id as an int; an id that is not a positive number names no entity."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise no_such_entity(field_name, value) from None
    if number < 1:
        raise no_such_entity(field_name, value)
    return number


def insert_unless_taken(instance: Model) -> bool:
    """Insert `instance` unless a unique value of it is taken; return whether it was inserted.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING id` (PostgreSQL and SQLite):
    no savepoint, and a concurrent writer of the same SKU or email makes this wait
    for that writer's commit and then report "taken" instead of failing, so the
    caller can answer correctly (update the product, or Magento's duplicate
    message) rather than with a 500. Sets the primary key when inserted.
    """
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for field in fields:
        field.pre_save(instance, True)  # auto_now(_add) timestamps
    rows = type(instance)._base_manager._insert(  # type: ignore[attr-defined]
        [instance], fields=fields, returning_fields=[meta.pk], on_conflict=OnConflict.IGNORE
    )
    if not rows or rows[0] is None:
        return False
    instance.pk = rows[0][0]
    instance._state.adding = False
    instance._state.db = transaction.get_connection().alias
    return True


def insert_many_unless_taken(instances: Sequence[Model]) -> list[bool]:
    """Insert `instances` of one model, each unless a unique value of it is taken (by a
    row or by an earlier instance of the list); return which were inserted.

    `insert_unless_taken` for many rows in one `INSERT ... ON CONFLICT DO NOTHING
    RETURNING`: sets the primary keys of those inserted.
    """
    if not instances:
        return []
    model = type(instances[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for instance in instances:
        for field in fields:
            field.pre_save(instance, True)  # auto_now(_add) timestamps
    # Each inserted row comes back with its pk and the instance's position in the list,
    # carried by a unique column the instances all set (the RETURNING order of an
    # INSERT is not promised, and rows not inserted return nothing).
    key = next(f for f in fields if f.unique and not f.null)
    positions = {getattr(instance, key.attname): i for i, instance in enumerate(instances)}
    rows = model._base_manager._insert(  # type: ignore[attr-defined]
        list(instances),
        fields=fields,
        returning_fields=[meta.pk, key],
        on_conflict=OnConflict.IGNORE,
    )
    inserted = [False] * len(instances)
    alias = transaction.get_connection().alias
    for pk, value in rows or ():
        index = positions[value]
        instance = instances[index]
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = alias
        inserted[index] = True
    return inserted


def insert_all(instances: Sequence[Model]) -> None:
    """Insert new rows of one model and set their primary keys (`bulk_create`).

    On PostgreSQL by COPY, the keys taken from the table's sequence first (one query):
    `bulk_create` compiles an INSERT whose every value psycopg quotes in Python,
    which for a batch of stock rows costs more than the COPY and the sequence
    together. Fields with `auto_now` / `auto_now_add` are set as `save` sets them.
    """
    if not instances:
        return
    model = type(instances[0])
    if connection.vendor != "postgresql" or len(instances) == 1:
        model._base_manager.bulk_create(instances)  # type: ignore[attr-defined]
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(instances)],
        )
        keys = cursor.fetchall()
        names = ", ".join(quote(str(f.column)) for f in (pk, *fields))
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
            for instance, (key,) in zip(instances, keys, strict=True):
                instance.pk = key
                copy.write_row(
                    [key]
                    + [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
                )
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def merge_custom_attributes(
    current: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """Return `current` with `given` merged in by `attribute_code` (Magento keeps the others)."""
    merged = {a["attribute_code"]: a.get("value") for a in current}
    for attribute in given or ():
        merged[attribute["attribute_code"]] = attribute.get("value")
    return [{"attribute_code": code, "value": value} for code, value in merged.items()]


def search(
    queryset: QuerySet,
    query_params: Any,
    fields: Mapping[str, str],
    render: Callable[[list[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Run Magento's searchCriteria over `queryset` and render the page.

    `fields` maps the API's field names to ORM lookups. Answer:
    `{"items": [...], "search_criteria": {...}, "total_count": N}`.
    """
    from webapi.search import search as run_search

    items, total_count, criteria = run_search(queryset, query_params or {}, fields)
    return {"items": render(list(items)), "search_criteria": criteria, "total_count": total_count}
