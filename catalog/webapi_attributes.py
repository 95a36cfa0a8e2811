"""Routes for product attributes, their options, attribute sets and the category tree
(Magento_Catalog's `webapi.xml`: `/V1/products/attributes...`,
`/V1/products/attribute-sets...` and `GET /V1/categories`).

Reading needs `catalog.view_<model>`, writing `catalog.change_<model>`: attributes and
their options are `productattribute`, attribute sets `attributeset`, the tree
`category`. Literal segments win over parameters (`webapi.routes.Route.specificity`),
so `/V1/products/attributes` is never read as the SKU "attributes".
"""

from __future__ import annotations

from typing import Any

from catalog.serializers.attributes import (
    AssignAttributeRequest,
    AttributeRequest,
    OptionRequest,
)
from catalog.services import (
    AttributeSetRepository,
    CategoryManagement,
    ProductAttributeManagement,
    ProductAttributeOptionManagement,
    ProductAttributeRepository,
)
from catalog.webapi import Params, _param, by, custom, declare, saving, searching
from webapi.routes import CallContext

attributes, options = ProductAttributeRepository, ProductAttributeOptionManagement
sets, management = AttributeSetRepository, ProductAttributeManagement


def _create_attribute(ctx: CallContext, params: Params, data: Any) -> Any:
    return attributes.save(ctx, data["attribute"])


def _add_option(ctx: CallContext, params: Params, data: Any) -> str:
    return options.add(ctx, _param(params, data, "attributeCode"), data["option"])


def _assign(ctx: CallContext, params: Params, data: Any) -> int:
    return management.assign(
        ctx,
        data["attributeSetId"],
        data["attributeGroupId"],
        data["attributeCode"],
        data["sortOrder"],
    )


def _tree(ctx: CallContext, params: Params, data: Any) -> Any:
    query = data if data is not None else ctx.query
    return CategoryManagement.get_tree(ctx, query.get("rootCategoryId"), query.get("depth"))


declare(
    "attributes",
    "productattribute",
    (
        "GET",
        "/V1/products/attributes",
        searching(attributes.get_list),
        "Search product attributes (searchCriteria).",
    ),
    (
        "GET",
        "/V1/products/attributes/types",
        by(attributes.get_types),
        "List the input types a product attribute can have.",
    ),
    (
        "GET",
        "/V1/products/attributes/:attributeCode",
        by(attributes.get, "attributeCode"),
        "Read a product attribute, with its options.",
    ),
    (
        "POST",
        "/V1/products/attributes",
        custom(attributes.save, _create_attribute),
        "Create a product attribute (or update it when the body carries its attribute_id).",
        AttributeRequest,
    ),
    (
        "PUT",
        "/V1/products/attributes/:attributeCode",
        saving(attributes.save, "attribute", "attributeCode"),
        "Update a product attribute (its code and input type stay).",
        AttributeRequest,
    ),
    (
        "DELETE",
        "/V1/products/attributes/:attributeCode",
        by(attributes.delete_by_id, "attributeCode"),
        "Delete a user-defined product attribute.",
    ),
    (
        "GET",
        "/V1/products/attributes/:attributeCode/options",
        by(options.get_items, "attributeCode"),
        "List the options of a product attribute.",
    ),
    (
        "POST",
        "/V1/products/attributes/:attributeCode/options",
        custom(options.add, _add_option),
        "Add an option to a select or multiselect attribute; answers the new option's id.",
        OptionRequest,
    ),
    (
        "DELETE",
        "/V1/products/attributes/:attributeCode/options/:optionId",
        by(options.delete, "attributeCode", "optionId"),
        "Delete an option of a select or multiselect attribute.",
    ),
)
declare(
    "attributes",
    "attributeset",
    (
        "GET",
        "/V1/products/attribute-sets/sets/list",
        searching(sets.get_list),
        "Search product attribute sets (searchCriteria).",
    ),
    (
        "GET",
        "/V1/products/attribute-sets/:attributeSetId",
        by(sets.get, "attributeSetId"),
        "Read a product attribute set.",
    ),
    (
        "GET",
        "/V1/products/attribute-sets/:attributeSetId/attributes",
        by(management.get_attributes, "attributeSetId"),
        "List the attributes of an attribute set.",
    ),
    (
        "POST",
        "/V1/products/attribute-sets/attributes",
        custom(management.assign, _assign),
        "Put an attribute into an attribute set; answers the set entry's id.",
        AssignAttributeRequest,
    ),
)
declare(
    "categories",
    "category",
    (
        "GET",
        "/V1/categories",
        custom(CategoryManagement.get_tree, _tree),
        "Read the category tree (rootCategoryId, depth).",
    ),
)
