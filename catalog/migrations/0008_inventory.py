# Stock as Magento keeps it: MSI sources (the `default` one created here) and source
# items, and each product's legacy stock item. The products' `stock_item` JSON (kept
# as sent until now) becomes their stock item and their `default` source item; each
# product gets its `url_key` column, filled from a `url_key` custom attribute if it
# had one, else generated from its name (a duplicate gets the product id appended,
# so that existing data never fails the new unique index).

from decimal import Decimal, InvalidOperation

import django.db.models.deletion
from django.db import migrations, models

# A pure function (no models): the formatting the service applies to new products.
from catalog.url_keys import format_url_key


SYSTEM_CODES = {"url_key", "category_ids"}


def _number(value):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() and abs(number) < 10**8 else Decimal(0)


def move_stock_and_url_keys(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    Source = apps.get_model("catalog", "Source")
    SourceItem = apps.get_model("catalog", "SourceItem")
    StockItem = apps.get_model("catalog", "StockItem")
    Source.objects.get_or_create(
        source_code="default",
        defaults={
            "name": "Default Source",
            "enabled": True,
            "description": "Default Source",
            "latitude": 0,
            "longitude": 0,
            "country_id": "US",
            "postcode": "00000",
            "use_default_carrier_config": True,
        },
    )
    taken = set()
    for product in Product.objects.order_by("id").iterator():
        data = product.legacy_stock_data if isinstance(product.legacy_stock_data, dict) else {}
        qty = _number(data.get("qty", 0))
        in_stock = bool(data.get("is_in_stock")) and qty > 0
        StockItem.objects.create(product=product, qty=qty, is_in_stock=in_stock)
        if product.type_id in ("simple", "virtual", "downloadable"):
            SourceItem.objects.create(
                product=product, source_id="default", quantity=qty, status=int(in_stock)
            )
        attributes = [a for a in product.custom_attributes or [] if isinstance(a, dict)]
        given = next((a.get("value") for a in attributes if a.get("attribute_code") == "url_key"), None)
        key = format_url_key(str(given)) if given else ""
        key = key or format_url_key(product.name) or format_url_key(product.sku) or "product"
        if key in taken:
            key = f"{key}-{product.id}"
        taken.add(key)
        product.url_key = key
        product.custom_attributes = [
            a for a in attributes if a.get("attribute_code") not in SYSTEM_CODES
        ]
        product.save(update_fields=["url_key", "custom_attributes"])


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_attributes'),
    ]

    operations = [
        migrations.CreateModel(
            name='Source',
            fields=[
                ('source_code', models.CharField(max_length=255, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=255)),
                ('enabled', models.BooleanField(default=True)),
                ('description', models.TextField(blank=True, null=True)),
                ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=8, null=True)),
                ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                ('country_id', models.CharField(max_length=2)),
                ('region_id', models.PositiveIntegerField(blank=True, null=True)),
                ('region', models.CharField(blank=True, max_length=255, null=True)),
                ('city', models.CharField(blank=True, max_length=255, null=True)),
                ('street', models.CharField(blank=True, max_length=255, null=True)),
                ('postcode', models.CharField(max_length=255)),
                ('contact_name', models.CharField(blank=True, max_length=255, null=True)),
                ('email', models.CharField(blank=True, max_length=255, null=True)),
                ('phone', models.CharField(blank=True, max_length=255, null=True)),
                ('fax', models.CharField(blank=True, max_length=255, null=True)),
                ('use_default_carrier_config', models.BooleanField(default=True)),
            ],
            options={
                'ordering': ['source_code'],
            },
        ),
        migrations.RenameField(
            model_name='product',
            old_name='stock_item',
            new_name='legacy_stock_data',
        ),
        migrations.AddField(
            model_name='product',
            name='url_key',
            field=models.CharField(blank=True, max_length=255, null=True, unique=True),
        ),
        migrations.CreateModel(
            name='StockItem',
            fields=[
                ('item_id', models.AutoField(primary_key=True, serialize=False)),
                ('stock_id', models.PositiveSmallIntegerField(default=1)),
                ('qty', models.DecimalField(blank=True, decimal_places=4, default=0, max_digits=12, null=True)),
                ('is_in_stock', models.BooleanField(default=False)),
                ('is_qty_decimal', models.BooleanField(default=False)),
                ('show_default_notification_message', models.BooleanField(default=False)),
                ('use_config_min_qty', models.BooleanField(default=True)),
                ('min_qty', models.DecimalField(decimal_places=4, default=0, max_digits=12)),
                ('use_config_min_sale_qty', models.PositiveSmallIntegerField(default=1)),
                ('min_sale_qty', models.DecimalField(decimal_places=4, default=1, max_digits=12)),
                ('use_config_max_sale_qty', models.BooleanField(default=True)),
                ('max_sale_qty', models.DecimalField(decimal_places=4, default=10000, max_digits=12)),
                ('use_config_backorders', models.BooleanField(default=True)),
                ('backorders', models.PositiveSmallIntegerField(default=0)),
                ('use_config_notify_stock_qty', models.BooleanField(default=True)),
                ('notify_stock_qty', models.DecimalField(decimal_places=4, default=1, max_digits=12)),
                ('use_config_qty_increments', models.BooleanField(default=True)),
                ('qty_increments', models.DecimalField(decimal_places=4, default=0, max_digits=12)),
                ('use_config_enable_qty_inc', models.BooleanField(default=True)),
                ('enable_qty_increments', models.BooleanField(default=False)),
                ('use_config_manage_stock', models.BooleanField(default=True)),
                ('manage_stock', models.BooleanField(default=True)),
                ('low_stock_date', models.DateTimeField(blank=True, null=True)),
                ('is_decimal_divided', models.BooleanField(default=False)),
                ('stock_status_changed_auto', models.PositiveSmallIntegerField(default=0)),
                ('product', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='stock_item', to='catalog.product')),
            ],
            options={
                'ordering': ['item_id'],
            },
        ),
        migrations.CreateModel(
            name='SourceItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('quantity', models.DecimalField(decimal_places=4, default=0, max_digits=12)),
                ('status', models.PositiveSmallIntegerField(choices=[(0, 'Out of stock'), (1, 'In stock')], default=0)),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='source_items', to='catalog.product')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='catalog.source')),
            ],
            options={
                'ordering': ['id'],
                'indexes': [models.Index(fields=['source', 'status'], name='catalog_source_item_src_idx')],
                'constraints': [models.UniqueConstraint(fields=('product', 'source'), name='catalog_source_item_sku_source_uniq')],
            },
        ),
        migrations.RunPython(move_stock_and_url_keys, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='product',
            name='legacy_stock_data',
        ),
    ]
