"""Product attributes, their options and attribute sets: request specs and answers.

Answers follow what Magento's REST layer prints for `ProductAttributeInterface`:
getters typed `bool` print booleans, those typed `string` ("is_searchable",
"is_comparable", "is_unique", ...) print "0"/"1", `entity_type_id` prints "4",
and null values are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog.models import AttributeOption, AttributeSet, ProductAttribute
from catalog.serializers.fields import (
    AnyValue,
    Bool,
    Int,
    ListOf,
    Obj,
    RequestSerializer,
    Str,
)

ATTRIBUTE_CLASS = "Magento\\Catalog\\Api\\Data\\ProductAttributeInterface"
OPTION_CLASS = "Magento\\Eav\\Api\\Data\\AttributeOptionInterface"

# Getters typed bool in EavAttributeInterface/AttributeInterface (printed as booleans)
BOOL_FLAGS = (
    "is_wysiwyg_enabled",
    "is_html_allowed_on_front",
    "used_for_sort_by",
    "is_filterable",
    "is_filterable_in_search",
    "is_used_in_grid",
    "is_visible_in_grid",
    "is_filterable_in_grid",
    "is_visible",
    "is_required",
    "is_user_defined",
)
# Getters typed string (printed as "0"/"1", as Magento prints them)
STRING_FLAGS = (
    "is_searchable",
    "is_visible_in_advanced_search",
    "is_comparable",
    "is_used_for_promo_rules",
    "is_visible_on_front",
    "used_in_product_listing",
    "is_unique",
)

STORE_LABEL = Obj(
    "AttributeOptionLabel",
    {"store_id": Int(min_value=0), "label": Str(max_length=255)},
    class_name="Magento\\Eav\\Api\\Data\\AttributeOptionLabelInterface",
)
FRONTEND_LABEL = Obj(
    "AttributeFrontendLabel",
    {"store_id": Int(min_value=0), "label": Str(max_length=255)},
    class_name="Magento\\Eav\\Api\\Data\\AttributeFrontendLabelInterface",
)
VALIDATION_RULE = Obj(
    "AttributeValidationRule",
    {"key": Str(max_length=255), "value": Str(max_length=255)},
    class_name="Magento\\Eav\\Api\\Data\\AttributeValidationRuleInterface",
)
OPTION = Obj(
    "AttributeOption",
    {
        "label": Str(max_length=255),
        "value": Str(max_length=255),
        "sort_order": Int(),
        "is_default": Bool(),
        "store_labels": ListOf(STORE_LABEL),
    },
    class_name=OPTION_CLASS,
)
ATTRIBUTE = Obj(
    "ProductAttribute",
    {
        "attribute_id": Int(min_value=1),
        "attribute_code": Str(max_length=255),
        "frontend_input": Str(max_length=50),
        "entity_type_id": AnyValue(help_text="Ignored: always 4 (catalog_product)."),
        "default_frontend_label": Str(max_length=255),
        "frontend_labels": ListOf(FRONTEND_LABEL),
        "note": Str(max_length=255),
        "backend_type": Str(max_length=8, help_text="Ignored: derived from frontend_input."),
        "backend_model": Str(max_length=255, help_text="Ignored."),
        "source_model": Str(max_length=255, help_text="Ignored."),
        "default_value": Str(),
        "frontend_class": Str(max_length=255),
        "scope": Str(max_length=8, help_text="global, website or store (default)"),
        "position": Int(),
        "apply_to": AnyValue(help_text="Product types, a list or a comma-separated string."),
        "options": ListOf(OPTION),
        "validation_rules": ListOf(VALIDATION_RULE),
        **{flag: Bool() for flag in BOOL_FLAGS},
        **{flag: Bool() for flag in STRING_FLAGS},
        "extension_attributes": Obj(
            "EavAttributeExtension", {}, class_name="EavAttributeExtensionInterface"
        ),
        "custom_attributes": ListOf(AnyValue()),
    },
    class_name=ATTRIBUTE_CLASS,
)


class AttributeRequest(RequestSerializer):
    """`{"attribute": {...}}` for POST /V1/products/attributes and
    PUT /V1/products/attributes/:attributeCode."""

    spec = Obj(
        "AttributeBody",
        {"attribute": ATTRIBUTE.but(required=True), "attributeCode": Str(max_length=255)},
        strict=False,
    )


class OptionRequest(RequestSerializer):
    """`{"option": {...}}` for POST /V1/products/attributes/:attributeCode/options."""

    spec = Obj(
        "AttributeOptionBody",
        {"option": OPTION.but(required=True), "attributeCode": Str(max_length=255)},
        strict=False,
    )


class AssignAttributeRequest(RequestSerializer):
    """POST /V1/products/attribute-sets/attributes: put an attribute into a set."""

    spec = Obj(
        "AttributeAssignBody",
        {
            "attributeSetId": Int(required=True, min_value=1),
            "attributeGroupId": Int(required=True),
            "attributeCode": Str(required=True, allow_blank=False, max_length=255),
            "sortOrder": Int(required=True),
        },
        strict=False,
    )


def _labels(labels: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"store_id": label["store_id"], "label": label["label"]} for label in labels]


def render_options(
    attribute: ProductAttribute, options: Iterable[AttributeOption]
) -> list[dict[str, Any]]:
    """Return the attribute's options as Magento lists them (`{label, value}`).

    Editable (Table source) options come after Magento's empty option
    (`{"label": " ", "value": ""}`); a source model's options as they are; other
    attributes have none.
    """
    if attribute.source_options:
        return [{"label": o["label"], "value": str(o["value"])} for o in attribute.source_options]
    if not attribute.uses_table_options:
        return []
    return [{"label": " ", "value": ""}] + [
        {"label": option.label, "value": str(option.pk)} for option in options
    ]


def render_attribute(
    attribute: ProductAttribute, options: Iterable[AttributeOption] = ()
) -> dict[str, Any]:
    """Return Magento's `ProductAttributeInterface` answer."""
    answer: dict[str, Any] = {flag: getattr(attribute, flag) for flag in BOOL_FLAGS}
    answer.update({flag: "1" if getattr(attribute, flag) else "0" for flag in STRING_FLAGS})
    answer.update(
        {
            "position": attribute.position,
            "apply_to": list(attribute.apply_to or []),
            "scope": attribute.scope,
            "attribute_id": attribute.pk,
            "attribute_code": attribute.attribute_code,
            "frontend_input": attribute.frontend_input,
            "entity_type_id": str(attribute.entity_type_id),
            "options": render_options(attribute, options),
            "default_frontend_label": attribute.default_frontend_label,
            "frontend_labels": _labels(attribute.frontend_labels or []),
            "backend_type": attribute.backend_type,
            "default_value": attribute.default_value,
            "validation_rules": [
                {"key": rule["key"], "value": rule["value"]}
                for rule in attribute.validation_rules or []
            ],
        }
    )
    for optional in ("note", "backend_model", "source_model", "frontend_class"):
        value = getattr(attribute, optional)
        if value:
            answer[optional] = value
    return answer


def render_attribute_set(attribute_set: AttributeSet) -> dict[str, Any]:
    """Return Magento's `AttributeSetInterface` answer."""
    return {
        "attribute_set_id": attribute_set.pk,
        "attribute_set_name": attribute_set.attribute_set_name,
        "sort_order": attribute_set.sort_order,
        "entity_type_id": attribute_set.entity_type_id,
    }
