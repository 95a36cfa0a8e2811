# Store groups, as in Magento: each website's stores belong to a group with a root
# category and a default store view. The default install's groups are created with
# Magento's ids and codes (group 0 `default` for the admin website, group 1
# `main_website_store` with root category 2); existing stores and websites keep their
# ids and are attached to them.

import django.db.models.deletion
from django.db import migrations, models


DEFAULT_GROUPS = (
    # id, code, name, website, root category, default store
    (0, "default", "Default", 0, 0, 0),
    (1, "main_website_store", "Main Website Store", 1, 2, 1),
)


def create_default_groups(apps, schema_editor):
    Website = apps.get_model("store", "Website")
    Store = apps.get_model("store", "Store")
    StoreGroup = apps.get_model("store", "StoreGroup")
    for group_id, code, name, website_id, root, store_id in DEFAULT_GROUPS:
        if not Website.objects.filter(pk=website_id).exists():
            continue
        default_store = Store.objects.filter(pk=store_id, website_id=website_id).first()
        group, _ = StoreGroup.objects.get_or_create(
            id=group_id,
            defaults={
                "code": code,
                "name": name,
                "website_id": website_id,
                "root_category_id": root,
                "default_store": default_store,
            },
        )
        Website.objects.filter(pk=website_id, default_group__isnull=True).update(
            default_group=group
        )
        Store.objects.filter(website_id=website_id, group__isnull=True).update(group=group)


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0002_table_names"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="website",
            options={"ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="StoreGroup",
            fields=[
                ("id", models.PositiveIntegerField(primary_key=True, serialize=False)),
                ("code", models.SlugField(max_length=32, unique=True)),
                ("name", models.CharField(max_length=255)),
                ("root_category_id", models.PositiveIntegerField(default=0)),
                (
                    "default_store",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="store.store",
                    ),
                ),
                (
                    "website",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="groups",
                        to="store.website",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="store",
            name="group",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stores",
                to="store.storegroup",
            ),
        ),
        migrations.AddField(
            model_name="website",
            name="default_group",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="store.storegroup",
            ),
        ),
        migrations.RunPython(create_default_groups, migrations.RunPython.noop),
    ]
