"""Options of select and multiselect product attributes: Magento's
`ProductAttributeOptionManagementInterface`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Max

from catalog.models import AttributeOption, ProductAttribute
from catalog.serializers.attributes import OPTION, render_options
from catalog.services.attributes import get_attribute, options_of
from catalog.services.base import clean, writes
from webapi.exceptions import InputException, NoSuchEntityException, StateException

if TYPE_CHECKING:
    from webapi.routes import CallContext

NO_OPTIONS = 'The "%1" attribute doesn\'t work with options.'
OPTION_LABEL_EMPTY = "The attribute option label is empty. Enter the value and try again."
OPTION_LABEL_TAKEN = 'Admin store attribute option label "%1" already exists.'
OPTION_NOT_FOUND = 'The "%1" attribute doesn\'t include an option with "%2" ID.'
OPTION_ID_INVALID = "Invalid option id %1"


def _with_options(attribute_code: str) -> ProductAttribute:
    """Return the attribute (locked), refusing one whose options are not editable."""
    if not attribute_code:
        raise InputException("The attribute code is empty. Enter the code and try again.")
    attribute = get_attribute(attribute_code, lock=True)
    if not attribute.uses_table_options:
        raise StateException(NO_OPTIONS, [attribute_code])
    return attribute


class ProductAttributeOptionManagement:
    """List, add and delete the options of select and multiselect attributes."""

    @classmethod
    def get_items(cls, ctx: CallContext, attribute_code: str) -> list[dict[str, Any]]:
        attribute = get_attribute(attribute_code)
        return render_options(attribute, options_of([attribute]).get(attribute.pk, ()))

    @classmethod
    @writes
    def add(cls, ctx: CallContext, attribute_code: str, option_data: Any) -> str:
        """Add an option; return its id (the value products store), as a string."""
        option = clean(OPTION, option_data)
        attribute = _with_options(attribute_code)
        label = (option.get("label") or "").strip()
        if not label:
            raise InputException(OPTION_LABEL_EMPTY)
        taken = {o.label.upper() for o in AttributeOption.objects.filter(attribute=attribute)}
        if label.upper() in taken:
            raise InputException(OPTION_LABEL_TAKEN, [option.get("label")])
        sort_order = option.get("sort_order")
        if sort_order is None:
            top = AttributeOption.objects.filter(attribute=attribute).aggregate(m=Max("sort_order"))
            sort_order = 0 if top["m"] is None else top["m"] + 1
        created = AttributeOption.objects.create(
            attribute=attribute,
            label=label,
            sort_order=sort_order,
            store_labels=[
                {"store_id": e["store_id"], "label": e["label"]}
                for e in option.get("store_labels") or ()
                if e.get("store_id") not in (None, 0)
            ],
        )
        if option.get("is_default"):
            if attribute.frontend_input == "multiselect" and attribute.default_value:
                attribute.default_value += f",{created.pk}"
            else:
                attribute.default_value = str(created.pk)
            attribute.save(update_fields=["default_value"])
        return str(created.pk)

    @classmethod
    @writes
    def delete(cls, ctx: CallContext, attribute_code: str, option_id: Any) -> bool:
        """Delete an option (and forget it as the attribute's default)."""
        if not str(option_id or "").strip():
            raise InputException(OPTION_ID_INVALID, [option_id])
        attribute = _with_options(attribute_code)
        option_pk = str(option_id).strip()
        deleted = 0
        if option_pk.isdigit():
            deleted, _ = AttributeOption.objects.filter(attribute=attribute, pk=option_pk).delete()
        if not deleted:
            raise NoSuchEntityException(OPTION_NOT_FOUND, [attribute_code, option_id])
        defaults = [v for v in attribute.default_value.split(",") if v and v != option_pk]
        if ",".join(defaults) != attribute.default_value:
            attribute.default_value = ",".join(defaults)
            attribute.save(update_fields=["default_value"])
        return True
