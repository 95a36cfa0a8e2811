"""The checks a product's attribute set and custom attributes get, as Magento checks them.

Magento's product save (`ProductRepository::save`) first lets the REST layer drop
every custom attribute whose code is not a product attribute
(`AbstractExtensibleModel::filterCustomAttributes`: silently, no error), then runs
`ResourceModel\\Product::validate`: an attribute set that is not a product set fails
with "Invalid product data: %1" / "Invalid attribute set entity type"; then every
attribute *of the product's set* runs its backend's `validate`: a required attribute
left empty (with no default) fails with 'The "%1" attribute value is empty. Set the
attribute and try again.' (its label), a price or weight that is not a number 0 or
greater fails with "Please enter a number 0 or greater in this field.". Attributes
outside the set are not validated (nor saved).

Where Magento's database would refuse a value later (a decimal, integer, boolean or
date attribute's value that is none), these checks refuse it up front with Magento's
`InputException::invalidFieldValue` message, naming the attribute code: 'Invalid
value of "%value" provided for the %fieldName field.' (docs/api.md). A select's value
is taken as given, as Magento takes it.

Callers (the product service) call, before writing:

    check_attribute_set(data.get("attribute_set_id", product.attribute_set_id))
    check_custom_attributes(data.get("custom_attributes") or [], attribute_set_id,
                            creating=product_is_new)

and may keep only `known_custom_attributes(...)` to store what Magento would store.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models.signals import post_delete, post_save

from catalog.models import AttributeSet, AttributeSetAttribute, ProductAttribute
from catalog.serializers.fields import INVALID_VALUE
from webapi.exceptions import CouldNotSaveException, InputException

INVALID_PRODUCT_DATA = "Invalid product data: %1"
INVALID_SET = "Invalid attribute set entity type"
ATTRIBUTE_EMPTY = 'The "%1" attribute value is empty. Set the attribute and try again.'
NOT_A_PRICE = "Please enter a number 0 or greater in this field."

# ProductInterface's own fields: Magento never reads them from custom_attributes.
PRODUCT_FIELDS = frozenset(
    {
        "id",
        "sku",
        "name",
        "attribute_set_id",
        "price",
        "status",
        "visibility",
        "type_id",
        "created_at",
        "updated_at",
        "weight",
    }
)
_PRICE = re.compile(r"^\d*([.,])?\d{0,4}$")  # Backend\Price::validate's pattern
_INTEGER = re.compile(r"^-?\d+$")
_BOOLEANS = frozenset({"0", "1", "true", "false"})


def check_attribute_set(attribute_set_id: Any) -> None:
    """Raise Magento's error unless `attribute_set_id` names a product attribute set."""
    _set_attributes(attribute_set_id)


# The definitions of each set, read once per CACHE_SECONDS per process (a product save
# must not reload 30 attributes): forgotten at once when this process writes an
# attribute or a set, within CACHE_SECONDS when another process does.
CACHE_SECONDS = 5.0
_definitions: dict[int, tuple[float, dict[str, ProductAttribute]]] = {}


def forget_definitions(**_signal: Any) -> None:
    _definitions.clear()


def _set_attributes(attribute_set_id: Any) -> dict[str, ProductAttribute]:
    try:
        pk = int(str(attribute_set_id).strip())
    except (TypeError, ValueError):
        pk = 0
    now = time.monotonic()
    cached = _definitions.get(pk)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    if pk < 1 or not AttributeSet.objects.filter(pk=pk, entity_type_id=4).exists():
        raise CouldNotSaveException(INVALID_PRODUCT_DATA, [INVALID_SET])
    attributes = {
        a.attribute_code: a
        for a in ProductAttribute.objects.filter(set_entries__attribute_set_id=pk)
    }
    _definitions[pk] = (now, attributes)
    return attributes


for _model in (AttributeSet, AttributeSetAttribute, ProductAttribute):
    post_save.connect(forget_definitions, sender=_model, dispatch_uid=f"forget-{_model.__name__}")
    post_delete.connect(
        forget_definitions, sender=_model, dispatch_uid=f"forget-d-{_model.__name__}"
    )


def known_custom_attributes(
    custom_attributes: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Return the custom attributes whose code is a product attribute (Magento drops
    the others silently), without ProductInterface's own fields."""
    given = [dict(a) for a in custom_attributes]
    codes = {a.get("attribute_code") for a in given} - PRODUCT_FIELDS
    known = set(
        ProductAttribute.objects.filter(attribute_code__in=codes).values_list(
            "attribute_code", flat=True
        )
    )
    return [a for a in given if a.get("attribute_code") in known]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _invalid(code: str, value: Any) -> InputException:
    return InputException(INVALID_VALUE, {"value": value, "fieldName": code})


def _check_value(attribute: ProductAttribute, value: Any) -> None:
    code = attribute.attribute_code
    if isinstance(value, dict):
        raise _invalid(code, value)
    if attribute.frontend_input in ("select", "multiselect"):
        # Magento stores a select's value as given, even one naming no option (or a
        # label): so do we, so that what a client sent to a Magento store is taken here.
        return
    if isinstance(value, list):
        raise _invalid(code, value)
    text = str(value).strip()
    if attribute.frontend_input == "boolean":
        if text.lower() not in _BOOLEANS and value not in (True, False):
            raise _invalid(code, value)
        return
    if attribute.frontend_input in ("price", "weight") or attribute.backend_model.endswith(
        "\\Price"
    ):
        if isinstance(value, bool) or not _PRICE.match(text):
            raise InputException(NOT_A_PRICE)
        return
    if attribute.backend_type == "decimal":
        try:
            Decimal(text)
        except InvalidOperation:
            raise _invalid(code, value) from None
    elif attribute.backend_type == "int" and not _INTEGER.match(text):
        raise _invalid(code, value)
    elif attribute.backend_type == "datetime":
        try:
            dt.date.fromisoformat(text[:10])
        except ValueError:
            raise _invalid(code, value) from None


def check_custom_attributes(
    custom_attributes: Sequence[Mapping[str, Any]],
    attribute_set_id: Any = 4,
    *,
    creating: bool = False,
) -> None:
    """Check a product's `custom_attributes` against the definitions of its set.

    Codes that are no attribute of the set are ignored (Magento drops unknown ones
    and does not validate those outside the set); ProductInterface's own fields
    (name, price, ...) are never read from here. A required attribute sent empty
    fails; with `creating`, so does one not sent at all (unless it has a default).
    Raise `CouldNotSaveException` for a set that is not a product set, else
    `InputException` with Magento's message.
    """
    attributes = _set_attributes(attribute_set_id)
    given: dict[str, Any] = {
        str(a.get("attribute_code")): a.get("value")
        for a in custom_attributes
        if a.get("attribute_code") in attributes and a.get("attribute_code") not in PRODUCT_FIELDS
    }
    for code, value in given.items():
        attribute = attributes[code]
        if _empty(value):
            if attribute.is_required and attribute.is_visible and not attribute.default_value:
                raise InputException(ATTRIBUTE_EMPTY, [attribute.default_frontend_label])
            continue
        _check_value(attribute, value)
    if creating:
        for code, attribute in attributes.items():
            if (
                code not in PRODUCT_FIELDS
                and code not in given
                and attribute.is_required
                and attribute.is_visible
                and not attribute.default_value
            ):
                raise InputException(ATTRIBUTE_EMPTY, [attribute.default_frontend_label])
