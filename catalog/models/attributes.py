"""Product attributes, their options and attribute sets (Magento_Eav for `catalog_product`).

Magento describes every product field as an EAV attribute of entity type 4
(`catalog_product`); its REST API lists them (`/V1/products/attributes`), and a
product's `custom_attributes` are checked against them. Here the definitions are
rows (the values stay on the product: its columns and its `custom_attributes`).

- `ProductAttribute`: one definition (`ProductAttributeInterface`). System
  attributes (`is_user_defined` false) come from the data migration with Magento's
  codes and ids; a few of them have a fixed list of options from a source model
  (status, visibility, tax_class_id, ...), kept in `source_options`.
- `AttributeOption`: an option of a select or multiselect attribute whose options
  are editable (Magento's `eav_attribute_option`, the "Table" source); its id is the
  value products store.
- `AttributeSet` and `AttributeSetAttribute`: which attributes a set holds (Magento's
  `eav_attribute_set` and `eav_entity_attribute`), with the group name they sit in.
"""

from __future__ import annotations

from django.db import models

PRODUCT_ENTITY_TYPE_ID = 4  # Magento's `catalog_product`
DEFAULT_ATTRIBUTE_SET_ID = 4  # Magento's "Default" product attribute set

SCOPES = ("global", "website", "store")


class ProductAttribute(models.Model):
    """A product attribute definition; `id` is Magento's `attribute_id`."""

    attribute_code = models.CharField(max_length=255, unique=True)
    frontend_input = models.CharField(max_length=50, default="text")
    backend_type = models.CharField(max_length=8, default="varchar")
    backend_model = models.CharField(max_length=255, blank=True)
    source_model = models.CharField(max_length=255, blank=True)
    frontend_class = models.CharField(max_length=255, blank=True)
    default_frontend_label = models.CharField(max_length=255, blank=True)
    # [{"store_id": 1, "label": "Farbe"}, ...] (store 0's label is default_frontend_label)
    frontend_labels = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=255, blank=True)
    default_value = models.TextField(blank=True)
    is_required = models.BooleanField(default=False)
    is_user_defined = models.BooleanField(default=True)
    is_unique = models.BooleanField(default=False)
    scope = models.CharField(max_length=8, default="store")
    entity_type_id = models.PositiveSmallIntegerField(default=PRODUCT_ENTITY_TYPE_ID)
    # Catalog's own properties (catalog_eav_attribute)
    is_visible = models.BooleanField(default=True)
    is_searchable = models.BooleanField(default=False)
    is_filterable = models.BooleanField(default=False)
    is_filterable_in_search = models.BooleanField(default=False)
    is_comparable = models.BooleanField(default=False)
    is_visible_on_front = models.BooleanField(default=False)
    is_html_allowed_on_front = models.BooleanField(default=False)
    is_used_for_promo_rules = models.BooleanField(default=False)
    is_visible_in_advanced_search = models.BooleanField(default=False)
    used_in_product_listing = models.BooleanField(default=False)
    used_for_sort_by = models.BooleanField(default=False)
    is_wysiwyg_enabled = models.BooleanField(default=False)
    is_used_in_grid = models.BooleanField(default=False)
    is_visible_in_grid = models.BooleanField(default=False)
    is_filterable_in_grid = models.BooleanField(default=False)
    position = models.IntegerField(default=0)
    # product types the attribute applies to; empty: all of them
    apply_to = models.JSONField(default=list, blank=True)
    # [{"key": "max_text_length", "value": "255"}, ...]
    validation_rules = models.JSONField(default=list, blank=True)
    # Fixed options of a source model, [{"value": "1", "label": "Enabled"}, ...]; empty
    # for attributes without one (a select without them keeps AttributeOption rows).
    source_options = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.attribute_code

    @property
    def uses_table_options(self) -> bool:
        """Return whether the options are editable rows (Magento's Table source)."""
        return self.frontend_input in ("select", "multiselect") and not self.source_options


class AttributeOption(models.Model):
    """An editable option of a select/multiselect attribute; `id` is its value."""

    attribute = models.ForeignKey(
        ProductAttribute, on_delete=models.CASCADE, related_name="options"
    )
    label = models.CharField(max_length=255)  # the admin (store 0) label
    sort_order = models.IntegerField(default=0)
    # [{"store_id": 1, "label": "Rot"}, ...]
    store_labels = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.attribute_id}:{self.label}"


class AttributeSet(models.Model):
    """A product attribute set; `id` is Magento's `attribute_set_id`."""

    attribute_set_name = models.CharField(max_length=255, unique=True)
    sort_order = models.IntegerField(default=0)
    entity_type_id = models.PositiveSmallIntegerField(default=PRODUCT_ENTITY_TYPE_ID)
    attributes = models.ManyToManyField(
        ProductAttribute, through="AttributeSetAttribute", related_name="attribute_sets"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.attribute_set_name


class AttributeSetAttribute(models.Model):
    """An attribute in a set, in a group, at a position."""

    attribute_set = models.ForeignKey(
        AttributeSet, on_delete=models.CASCADE, related_name="entries"
    )
    attribute = models.ForeignKey(
        ProductAttribute, on_delete=models.CASCADE, related_name="set_entries"
    )
    group_name = models.CharField(max_length=255, default="General")
    sort_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["attribute_set_id", "sort_order", "attribute_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attribute_set", "attribute"], name="catalog_attribute_set_entry_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.attribute_set_id}:{self.attribute_id}"
