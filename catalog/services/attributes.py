"""Product attributes: Magento's `ProductAttributeRepositoryInterface` (and
`ProductAttributeTypesListInterface`); the helpers the option and attribute set
services share (`get_attribute`, `render_attributes`); and the checks a product's
custom attributes and attribute set get (`check_custom_attributes`,
`check_attribute_set`, defined in `catalog.services.attribute_checks`).

Options: `catalog.services.attribute_options`; attribute sets:
`catalog.services.attribute_sets`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from catalog.models import (
    PRODUCT_ENTITY_TYPE_ID,
    AttributeOption,
    ProductAttribute,
)
from catalog.serializers.attributes import (
    ATTRIBUTE,
    BOOL_FLAGS,
    STRING_FLAGS,
    render_attribute,
)
from catalog.serializers.fields import INVALID_VALUE, REQUIRED
from catalog.services.attribute_checks import check_attribute_set, check_custom_attributes
from catalog.services.base import clean, no_such_entity, search, writes
from webapi.exceptions import (
    InputException,
    InputMismatchException,
    NoSuchEntityException,
    StateException,
)

if TYPE_CHECKING:
    from webapi.routes import CallContext

__all__ = [
    "ProductAttributeRepository",
    "get_attribute",
    "options_of",
    "render_attributes",
    "check_attribute_set",
    "check_custom_attributes",
]

ATTRIBUTE_NOT_FOUND = (
    'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.'
)
ALREADY_EXISTS = "%1 already exists."
SAME_CODE = "Attribute with the same code"
SYSTEM_ATTRIBUTE = "The system attribute can't be deleted."
DEFAULT_OPTION_MISSING = "The default option isn't defined. Set the option and try again."

# The frontend inputs Magento's input type validator accepts for product attributes
# (Eav's own, Catalog's price/media_image/weee, Swatches' two, Page Builder's).
FRONTEND_INPUTS = (
    "text",
    "textarea",
    "texteditor",
    "pagebuilder",
    "date",
    "datetime",
    "boolean",
    "multiselect",
    "select",
    "price",
    "media_image",
    "weee",
    "swatch_visual",
    "swatch_text",
)
# Labels of the input types (Magento's `Inputtype` source models), for
# GET /V1/products/attributes/types.
FRONTEND_INPUT_LABELS = {
    "text": "Text Field",
    "textarea": "Text Area",
    "texteditor": "Text Editor",
    "pagebuilder": "Page Builder",
    "date": "Date",
    "datetime": "Date and Time",
    "boolean": "Yes/No",
    "multiselect": "Multiple Select",
    "select": "Dropdown",
    "price": "Price",
    "media_image": "Media Image",
    "weee": "Fixed Product Tax",
    "swatch_visual": "Visual Swatch",
    "swatch_text": "Text Swatch",
}
# Magento's Attribute::getBackendTypeByInput (plus the Swatches' and Weee's)
BACKEND_TYPES = {
    "text": "varchar",
    "media_image": "varchar",
    "multiselect": "varchar",
    "textarea": "text",
    "texteditor": "text",
    "pagebuilder": "text",
    "date": "datetime",
    "datetime": "datetime",
    "select": "int",
    "boolean": "int",
    "swatch_visual": "int",
    "swatch_text": "int",
    "price": "decimal",
    "weee": "static",
}
TABLE_SOURCE = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table"
BOOLEAN_SOURCE = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Boolean"
BOOLEAN_OPTIONS = [{"value": "1", "label": "Yes"}, {"value": "0", "label": "No"}]
BACKEND_MODELS = {
    "multiselect": "Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\ArrayBackend",
    "price": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price",
    "boolean": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Boolean",
    "weee": "Magento\\Weee\\Model\\Attribute\\Backend\\Weee\\Tax",
}
_CODE = re.compile(r"^[a-z][a-z_0-9]{0,30}$")
_GENERATED_CODE = re.compile(r"^[a-z][a-z_0-9]{0,29}[a-z0-9]$")

ATTRIBUTE_SEARCH_FIELDS = {
    "attribute_id": "id",
    "attribute_code": "attribute_code",
    "frontend_input": "frontend_input",
    "backend_type": "backend_type",
    "default_frontend_label": "default_frontend_label",
    "frontend_label": "default_frontend_label",
    "entity_type_id": "entity_type_id",
    "scope": "scope",
    "position": "position",
    **{flag: flag for flag in (*BOOL_FLAGS, *STRING_FLAGS)},
}


def get_attribute(attribute_code: Any, *, lock: bool = False) -> ProductAttribute:
    queryset = ProductAttribute.objects.select_for_update() if lock else ProductAttribute.objects
    attribute = queryset.filter(attribute_code=str(attribute_code or "")).first()
    if attribute is None:
        raise NoSuchEntityException(ATTRIBUTE_NOT_FOUND, [attribute_code])
    return attribute


def options_of(attributes: Iterable[ProductAttribute]) -> dict[int, list[AttributeOption]]:
    """Return the editable options of these attributes, by attribute id (one query)."""
    ids = [a.pk for a in attributes if a.uses_table_options]
    grouped: dict[int, list[AttributeOption]] = defaultdict(list)
    if ids:
        for option in AttributeOption.objects.filter(attribute_id__in=ids):
            grouped[option.attribute_id].append(option)
    return grouped


def render_attributes(attributes: list[ProductAttribute]) -> list[dict[str, Any]]:
    options = options_of(attributes)
    return [render_attribute(a, options.get(a.pk, ())) for a in attributes]


def _render(attribute: ProductAttribute) -> dict[str, Any]:
    return render_attributes([attribute])[0]


def generate_code(label: str) -> str:
    """Return Magento's attribute code for a label (`Repository::generateCode`)."""
    code = re.sub(r"[^a-z_0-9]", "_", label.strip().lower())[:30]
    if not _GENERATED_CODE.match(code):
        code = "attr_" + (code or hashlib.md5(str(time.time()).encode()).hexdigest()[:8])
    return code


def _invalid(field_name: str, value: Any) -> InputException:
    return InputException(
        INVALID_VALUE, {"value": "" if value is None else value, "fieldName": field_name}
    )


def _apply_to(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _invalid("apply_to", value)
    return [i.strip() for i in items if i.strip()]


def _admin_label(data: dict[str, Any]) -> str | None:
    """Return default_frontend_label, else the store 0 entry of frontend_labels."""
    label = data.get("default_frontend_label")
    if label and label.strip():
        return label
    for entry in data.get("frontend_labels") or ():
        if entry.get("store_id") == 0 and (entry.get("label") or "").strip():
            return entry["label"]
    return None


_SETTABLE = (
    *BOOL_FLAGS,
    *STRING_FLAGS,
    "note",
    "default_value",
    "frontend_class",
    "position",
)


def _set_properties(attribute: ProductAttribute, data: dict[str, Any]) -> None:
    for name in _SETTABLE:
        if name in data and name not in ("is_user_defined",):
            setattr(attribute, name, data[name])
    if "scope" in data:
        # Magento's setScope: "global" and "website" are kept, anything else is "store".
        attribute.scope = data["scope"] if data["scope"] in ("global", "website") else "store"
    if "apply_to" in data:
        attribute.apply_to = _apply_to(data["apply_to"])
    if "frontend_labels" in data:
        attribute.frontend_labels = [
            {"store_id": e["store_id"], "label": e["label"]}
            for e in data["frontend_labels"]
            if e.get("store_id") not in (None, 0) and (e.get("label") or "").strip()
        ]
    if "validation_rules" in data:
        attribute.validation_rules = [
            {"key": r.get("key", ""), "value": r.get("value", "")} for r in data["validation_rules"]
        ]


def _save_options(attribute: ProductAttribute, options: list[dict[str, Any]]) -> None:
    """Create or update the options sent with an attribute (Magento's `option` array)."""
    if not attribute.uses_table_options or not options:
        return
    existing = {str(o.pk): o for o in AttributeOption.objects.filter(attribute=attribute)}
    defaults: list[str] = []
    for sort_order, data in enumerate(options):
        label = data.get("label")
        if label is None:
            raise InputException(DEFAULT_OPTION_MISSING)
        option = existing.get(str(data.get("value") or ""))
        if option is None:
            option = AttributeOption(attribute=attribute)
        option.label = label.strip()
        option.sort_order = data.get("sort_order") or sort_order
        if "store_labels" in data:
            option.store_labels = [
                {"store_id": e["store_id"], "label": e["label"]}
                for e in data["store_labels"]
                if e.get("store_id") not in (None, 0)
            ]
        option.save()
        if data.get("is_default"):
            defaults.append(str(option.pk))
    if defaults:
        attribute.default_value = (
            ",".join(defaults) if attribute.frontend_input == "multiselect" else defaults[-1]
        )
        attribute.save(update_fields=["default_value"])


class ProductAttributeRepository:
    """Read, search, create, update and delete product attributes."""

    @classmethod
    def get(cls, ctx: CallContext, attribute_code: str) -> dict[str, Any]:
        return _render(get_attribute(attribute_code))

    @classmethod
    def get_types(cls, ctx: CallContext) -> list[dict[str, str]]:
        """Return the input types an attribute can have (`AttributeTypeInterface[]`)."""
        return [{"value": v, "label": FRONTEND_INPUT_LABELS[v]} for v in FRONTEND_INPUTS]

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        return search(
            ProductAttribute.objects.all(), query_params, ATTRIBUTE_SEARCH_FIELDS, render_attributes
        )

    @classmethod
    @writes
    def save(
        cls, ctx: CallContext, attribute_data: Any, attribute_code: str | None = None
    ) -> dict[str, Any]:
        """Create an attribute, or update the one named by the URL's `attribute_code`
        (or by the body's `attribute_code` when the body carries an `attribute_id`).

        An update keeps the code, the input type and `is_user_defined`, as Magento
        does. A new attribute needs a label (`default_frontend_label` or the store 0
        entry of `frontend_labels`); its code is derived from the label when absent.
        """
        data = clean(ATTRIBUTE, attribute_data)
        if attribute_code is None and data.get("attribute_id"):
            attribute_code = data.get("attribute_code")
            if not attribute_code:
                raise no_such_entity("attribute_code", "")
        if attribute_code is not None:
            return cls._update(get_attribute(attribute_code, lock=True), data)
        return cls._create(data)

    @classmethod
    def _create(cls, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("frontend_labels") and not (data.get("default_frontend_label") or ""):
            raise InputException(REQUIRED, {"fieldName": "frontend_label"})
        label = _admin_label(data)
        if label is None:
            raise _invalid("frontend_label", None)
        code = data.get("attribute_code") or generate_code(label)
        if not _CODE.match(code):
            raise _invalid("attribute_code", code)
        frontend_input = data.get("frontend_input")
        if frontend_input not in FRONTEND_INPUTS:
            raise _invalid("frontend_input", frontend_input)
        if ProductAttribute.objects.filter(attribute_code=code).exists():
            raise InputMismatchException(ALREADY_EXISTS, [SAME_CODE])
        attribute = ProductAttribute(
            attribute_code=code,
            frontend_input=frontend_input,
            backend_type=BACKEND_TYPES.get(frontend_input, "varchar"),
            backend_model=BACKEND_MODELS.get(frontend_input, ""),
            source_model=(
                TABLE_SOURCE
                if frontend_input in ("select", "multiselect", "swatch_visual", "swatch_text")
                else BOOLEAN_SOURCE
                if frontend_input == "boolean"
                else ""
            ),
            source_options=BOOLEAN_OPTIONS if frontend_input == "boolean" else [],
            default_frontend_label=label,
            is_user_defined=True,
            entity_type_id=PRODUCT_ENTITY_TYPE_ID,
        )
        _set_properties(attribute, data)
        attribute.is_user_defined = True
        attribute.save()
        _save_options(attribute, data.get("options") or [])
        return _render(attribute)

    @classmethod
    def _update(cls, attribute: ProductAttribute, data: dict[str, Any]) -> dict[str, Any]:
        _set_properties(attribute, data)
        label = _admin_label(data)
        if label is not None:
            attribute.default_frontend_label = label
        attribute.save()
        _save_options(attribute, data.get("options") or [])
        return _render(attribute)

    @classmethod
    @writes
    def delete_by_id(cls, ctx: CallContext, attribute_code: str) -> bool:
        """Delete a user-defined attribute with its options (system ones stay)."""
        attribute = get_attribute(attribute_code, lock=True)
        if not attribute.is_user_defined:
            raise StateException(SYSTEM_ATTRIBUTE)
        attribute.delete()
        return True
