# Product attributes, their options and attribute sets (schema), and Magento's default
# attribute set 4 with its system attributes (data), with Magento 2.4's codes, inputs,
# backend types and, for the first block (73-99), the ids of a default install.

import django.db.models.deletion
from django.core.management.color import no_style
from django.db import migrations, models



STORE, WEBSITE, GLOBAL = "store", "website", "global"
PRICE_TYPES = ["simple", "virtual", "bundle", "downloadable", "configurable"]
PRICE_BACKEND = "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Price"
DATE_BACKEND = "Magento\\Eav\\Model\\Entity\\Attribute\\Backend\\Datetime"
START_DATE_BACKEND = "Magento\\Catalog\\Model\\Attribute\\Backend\\Startdate"
TABLE_SOURCE = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table"
IMAGE_FRONTEND_CLASS = ""

# (id, code, frontend_input, backend_type, label, scope, group, extra)
ATTRIBUTES = [
    (73, "name", "text", "varchar", "Product Name", STORE, "Product Details",
     {"is_required": True, "is_searchable": True, "is_visible_in_advanced_search": True,
      "used_in_product_listing": True, "used_for_sort_by": True, "is_used_in_grid": True,
      "is_visible_in_grid": True, "is_filterable_in_grid": True,
      "frontend_class": "validate-length maximum-length-255"}),
    (74, "sku", "text", "static", "SKU", GLOBAL, "Product Details",
     {"is_required": True, "is_unique": True, "is_searchable": True,
      "is_visible_in_advanced_search": True, "is_comparable": True,
      "used_in_product_listing": True, "is_used_in_grid": True, "is_visible_in_grid": True,
      "is_filterable_in_grid": True, "frontend_class": "validate-length maximum-length-64",
      "backend_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Sku"}),
    (75, "description", "textarea", "text", "Description", STORE, "Content",
     {"is_searchable": True, "is_comparable": True, "is_visible_in_advanced_search": True,
      "is_wysiwyg_enabled": True, "is_html_allowed_on_front": True}),
    (76, "short_description", "textarea", "text", "Short Description", STORE, "Content",
     {"is_searchable": True, "is_comparable": True, "is_visible_in_advanced_search": True,
      "is_wysiwyg_enabled": True, "is_html_allowed_on_front": True,
      "used_in_product_listing": True}),
    (77, "price", "price", "decimal", "Price", GLOBAL, "Product Details",
     {"is_required": True, "is_searchable": True, "is_filterable": True,
      "is_visible_in_advanced_search": True, "used_in_product_listing": True,
      "used_for_sort_by": True, "is_used_for_promo_rules": True, "is_used_in_grid": True,
      "is_filterable_in_grid": True, "backend_model": PRICE_BACKEND,
      "frontend_class": "validate-zero-or-greater", "apply_to": PRICE_TYPES}),
    (78, "special_price", "price", "decimal", "Special Price", GLOBAL, "Advanced Pricing",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": PRICE_BACKEND, "frontend_class": "validate-zero-or-greater",
      "apply_to": PRICE_TYPES}),
    (79, "special_from_date", "date", "datetime", "Special Price From Date", WEBSITE,
     "Advanced Pricing",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": START_DATE_BACKEND, "apply_to": PRICE_TYPES}),
    (80, "special_to_date", "date", "datetime", "Special Price To Date", WEBSITE,
     "Advanced Pricing",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": DATE_BACKEND, "apply_to": PRICE_TYPES}),
    (81, "cost", "price", "decimal", "Cost", GLOBAL, "Advanced Pricing",
     {"is_user_defined": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": PRICE_BACKEND, "frontend_class": "validate-zero-or-greater",
      "apply_to": ["simple", "virtual", "downloadable", "configurable"]}),
    (82, "weight", "weight", "decimal", "Weight", GLOBAL, "Product Details",
     {"is_comparable": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Weight",
      "apply_to": ["simple", "virtual", "bundle", "downloadable", "configurable"]}),
    (83, "manufacturer", "select", "int", "Manufacturer", GLOBAL, "Product Details",
     {"is_user_defined": True, "is_searchable": True, "is_filterable": True,
      "is_comparable": True, "is_visible_in_advanced_search": True,
      "is_html_allowed_on_front": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "source_model": TABLE_SOURCE, "apply_to": ["simple", "virtual"]}),
    (84, "meta_title", "text", "varchar", "Meta Title", STORE, "Search Engine Optimization",
     {"is_used_in_grid": True, "is_filterable_in_grid": True}),
    (85, "meta_keyword", "textarea", "text", "Meta Keywords", STORE,
     "Search Engine Optimization", {"is_used_in_grid": True, "is_filterable_in_grid": True}),
    (86, "meta_description", "textarea", "varchar", "Meta Description", STORE,
     "Search Engine Optimization",
     {"is_used_in_grid": True, "is_filterable_in_grid": True,
      "note": "Maximum 255 chars. Meta Description should optimally be between 150-160 characters",
      "frontend_class": "validate-length maximum-length-255"}),
    (87, "image", "media_image", "varchar", "Base", STORE, "Images",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True}),
    (88, "small_image", "media_image", "varchar", "Small", STORE, "Images",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True}),
    (89, "thumbnail", "media_image", "varchar", "Thumbnail", STORE, "Images",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True}),
    (93, "color", "select", "int", "Color", GLOBAL, "Product Details",
     {"is_user_defined": True, "is_searchable": True, "is_filterable": True,
      "is_comparable": True, "is_visible_in_advanced_search": True,
      "is_html_allowed_on_front": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "source_model": TABLE_SOURCE, "apply_to": ["simple", "virtual", "configurable"]}),
    (94, "news_from_date", "date", "datetime", "Set Product as New from Date", WEBSITE,
     "Product Details",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": START_DATE_BACKEND}),
    (95, "news_to_date", "date", "datetime", "Set Product as New to Date", WEBSITE,
     "Product Details",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "backend_model": DATE_BACKEND}),
    (97, "status", "select", "int", "Enable Product", WEBSITE, "Product Details",
     {"used_in_product_listing": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "default_value": "1",
      "source_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Status",
      "source_options": [{"value": "1", "label": "Enabled"}, {"value": "2", "label": "Disabled"}]}),
    (99, "visibility", "select", "int", "Visibility", STORE, "Product Details",
     {"is_used_in_grid": True, "is_filterable_in_grid": True, "default_value": "4",
      "source_model": "Magento\\Catalog\\Model\\Product\\Visibility",
      "source_options": [
          {"value": "1", "label": "Not Visible Individually"},
          {"value": "2", "label": "Catalog"},
          {"value": "3", "label": "Search"},
          {"value": "4", "label": "Catalog, Search"},
      ]}),
    (105, "category_ids", "categories", "static", "Categories", GLOBAL, "Product Details",
     {"backend_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Category"}),
    (114, "country_of_manufacture", "select", "varchar", "Country of Manufacture", WEBSITE,
     "Product Details",
     {"is_used_in_grid": True, "is_filterable_in_grid": True,
      "source_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Countryofmanufacture",
      "apply_to": ["simple", "bundle", "configurable"]}),
    (115, "quantity_and_stock_status", "select", "int", "Quantity", GLOBAL, "Product Details",
     {"default_value": "1",
      "backend_model": "Magento\\Catalog\\Model\\Product\\Attribute\\Backend\\Stock",
      "source_model": "Magento\\CatalogInventory\\Model\\Source\\Stock",
      "source_options": [{"value": "1", "label": "In Stock"}, {"value": "0", "label": "Out of Stock"}]}),
    (119, "url_key", "text", "varchar", "URL Key", STORE, "Search Engine Optimization",
     {"is_used_in_grid": True, "is_filterable_in_grid": True}),
    (136, "tax_class_id", "select", "int", "Tax Class", WEBSITE, "Product Details",
     {"is_searchable": True, "is_filterable": True, "is_visible_in_advanced_search": True,
      "is_used_for_promo_rules": True, "is_used_in_grid": True, "is_filterable_in_grid": True,
      "default_value": "2", "source_model": "Magento\\Tax\\Model\\TaxClass\\Source\\Product",
      "source_options": [{"value": "0", "label": "None"}, {"value": "2", "label": "Taxable Goods"}],
      "apply_to": PRICE_TYPES}),
]


def create_default_attributes(apps, schema_editor):
    """Create the system product attributes and the "Default" attribute set (4)."""
    ProductAttribute = apps.get_model("catalog", "ProductAttribute")
    AttributeSet = apps.get_model("catalog", "AttributeSet")
    AttributeSetAttribute = apps.get_model("catalog", "AttributeSetAttribute")
    default_set, _ = AttributeSet.objects.get_or_create(
        id=4, defaults={"attribute_set_name": "Default", "sort_order": 2, "entity_type_id": 4}
    )
    for position, (pk, code, frontend_input, backend_type, label, scope, group, extra) in (
        enumerate(ATTRIBUTES, start=1)
    ):
        fields = {
            "attribute_code": code,
            "frontend_input": frontend_input,
            "backend_type": backend_type,
            "default_frontend_label": label,
            "scope": scope,
            "is_user_defined": False,
            "entity_type_id": 4,
            **extra,
        }
        attribute, _ = ProductAttribute.objects.get_or_create(id=pk, defaults=fields)
        AttributeSetAttribute.objects.get_or_create(
            attribute_set=default_set,
            attribute=attribute,
            defaults={"group_name": group, "sort_order": position},
        )
    # Explicit ids leave PostgreSQL's sequences behind; move them past them (new
    # attributes get ids after Magento's, as on a fresh install).
    connection = schema_editor.connection
    for sql in connection.ops.sequence_reset_sql(no_style(), [ProductAttribute, AttributeSet]):
        schema_editor.execute(sql)



class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_store_scope_moved_out'),
    ]

    operations = [
        migrations.CreateModel(
            name='AttributeSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attribute_set_name', models.CharField(max_length=255, unique=True)),
                ('sort_order', models.IntegerField(default=0)),
                ('entity_type_id', models.PositiveSmallIntegerField(default=4)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='ProductAttribute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('attribute_code', models.CharField(max_length=255, unique=True)),
                ('frontend_input', models.CharField(default='text', max_length=50)),
                ('backend_type', models.CharField(default='varchar', max_length=8)),
                ('backend_model', models.CharField(blank=True, max_length=255)),
                ('source_model', models.CharField(blank=True, max_length=255)),
                ('frontend_class', models.CharField(blank=True, max_length=255)),
                ('default_frontend_label', models.CharField(blank=True, max_length=255)),
                ('frontend_labels', models.JSONField(blank=True, default=list)),
                ('note', models.CharField(blank=True, max_length=255)),
                ('default_value', models.TextField(blank=True)),
                ('is_required', models.BooleanField(default=False)),
                ('is_user_defined', models.BooleanField(default=True)),
                ('is_unique', models.BooleanField(default=False)),
                ('scope', models.CharField(default='store', max_length=8)),
                ('entity_type_id', models.PositiveSmallIntegerField(default=4)),
                ('is_visible', models.BooleanField(default=True)),
                ('is_searchable', models.BooleanField(default=False)),
                ('is_filterable', models.BooleanField(default=False)),
                ('is_filterable_in_search', models.BooleanField(default=False)),
                ('is_comparable', models.BooleanField(default=False)),
                ('is_visible_on_front', models.BooleanField(default=False)),
                ('is_html_allowed_on_front', models.BooleanField(default=False)),
                ('is_used_for_promo_rules', models.BooleanField(default=False)),
                ('is_visible_in_advanced_search', models.BooleanField(default=False)),
                ('used_in_product_listing', models.BooleanField(default=False)),
                ('used_for_sort_by', models.BooleanField(default=False)),
                ('is_wysiwyg_enabled', models.BooleanField(default=False)),
                ('is_used_in_grid', models.BooleanField(default=False)),
                ('is_visible_in_grid', models.BooleanField(default=False)),
                ('is_filterable_in_grid', models.BooleanField(default=False)),
                ('position', models.IntegerField(default=0)),
                ('apply_to', models.JSONField(blank=True, default=list)),
                ('validation_rules', models.JSONField(blank=True, default=list)),
                ('source_options', models.JSONField(blank=True, default=list)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='AttributeSetAttribute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('group_name', models.CharField(default='General', max_length=255)),
                ('sort_order', models.IntegerField(default=0)),
                ('attribute_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='catalog.attributeset')),
                ('attribute', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='set_entries', to='catalog.productattribute')),
            ],
            options={
                'ordering': ['attribute_set_id', 'sort_order', 'attribute_id'],
            },
        ),
        migrations.AddField(
            model_name='attributeset',
            name='attributes',
            field=models.ManyToManyField(related_name='attribute_sets', through='catalog.AttributeSetAttribute', to='catalog.productattribute'),
        ),
        migrations.CreateModel(
            name='AttributeOption',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(max_length=255)),
                ('sort_order', models.IntegerField(default=0)),
                ('store_labels', models.JSONField(blank=True, default=list)),
                ('attribute', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='options', to='catalog.productattribute')),
            ],
            options={
                'ordering': ['sort_order', 'id'],
            },
        ),
        migrations.AddConstraint(
            model_name='attributesetattribute',
            constraint=models.UniqueConstraint(fields=('attribute_set', 'attribute'), name='catalog_attribute_set_entry_uniq'),
        ),
        migrations.RunPython(create_default_attributes, migrations.RunPython.noop),
    ]
