"""Product attribute sets: Magento's `AttributeSetRepositoryInterface` and
`ProductAttributeManagementInterface`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from catalog.models import AttributeSet, AttributeSetAttribute, ProductAttribute
from catalog.serializers.attributes import render_attribute_set
from catalog.services.attributes import get_attribute, render_attributes
from catalog.services.base import as_id, no_such_entity, search, writes
from webapi.exceptions import NoSuchEntityException

if TYPE_CHECKING:
    from webapi.routes import CallContext

SET_NOT_FOUND = "No such entity with %1 = %2"
SET_SEARCH_FIELDS = {
    "attribute_set_id": "id",
    "attribute_set_name": "attribute_set_name",
    "sort_order": "sort_order",
    "entity_type_id": "entity_type_id",
}


def _get_set(attribute_set_id: Any, field_name: str = "id") -> AttributeSet:
    pk = as_id(attribute_set_id, field_name)
    attribute_set = AttributeSet.objects.filter(pk=pk).first()
    if attribute_set is None:
        raise no_such_entity(field_name, attribute_set_id)
    return attribute_set


class AttributeSetRepository:
    """Read and search product attribute sets."""

    @classmethod
    def get(cls, ctx: CallContext, attribute_set_id: Any) -> dict[str, Any]:
        return render_attribute_set(_get_set(attribute_set_id))

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        return search(
            AttributeSet.objects.all(),
            query_params,
            SET_SEARCH_FIELDS,
            lambda sets: [render_attribute_set(s) for s in sets],
        )


class ProductAttributeManagement:
    """Which attributes an attribute set holds."""

    @classmethod
    def get_attributes(cls, ctx: CallContext, attribute_set_id: Any) -> list[dict[str, Any]]:
        """Return the set's attributes (`ProductAttributeInterface[]`), in set order."""
        try:
            attribute_set = _get_set(attribute_set_id)
        except NoSuchEntityException:
            raise NoSuchEntityException(
                SET_NOT_FOUND, ["attributeSetId", attribute_set_id]
            ) from None
        attributes = list(
            ProductAttribute.objects.filter(set_entries__attribute_set=attribute_set).order_by(
                "set_entries__sort_order", "id"
            )
        )
        return render_attributes(attributes)

    @classmethod
    @writes
    def assign(
        cls,
        ctx: CallContext,
        attribute_set_id: Any,
        attribute_group_id: Any,
        attribute_code: str,
        sort_order: Any,
    ) -> int:
        """Put an attribute into a set at `sort_order` (moving it if it is there);
        return the set entry's id, as Magento returns its entity attribute id.

        Groups are not modelled: `attribute_group_id` is accepted and not kept.
        """
        try:
            attribute_set = _get_set(attribute_set_id)
        except NoSuchEntityException:
            raise NoSuchEntityException(
                SET_NOT_FOUND, ["attributeSetId", attribute_set_id]
            ) from None
        attribute = get_attribute(attribute_code)
        entry, _ = AttributeSetAttribute.objects.update_or_create(
            attribute_set=attribute_set,
            attribute=attribute,
            defaults={"sort_order": int(sort_order or 0)},
        )
        return entry.pk
