# Websites and stores move here from the catalog app: the tables and their rows stay
# (renamed in 0002); only Django's idea of which app owns them changes, and their
# content types (with the permissions that point at them) follow.

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("website", "store")


def move_content_types(apps, schema_editor, source="catalog", target="store"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="store", target="catalog")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("catalog", "0005_category_custom_attributes"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Website",
                    fields=[
                        ("id", models.PositiveIntegerField(primary_key=True, serialize=False)),
                        ("code", models.SlugField(max_length=32, unique=True)),
                        ("name", models.CharField(max_length=255)),
                    ],
                    options={"db_table": "catalog_website"},
                ),
                migrations.CreateModel(
                    name="Store",
                    fields=[
                        ("id", models.PositiveIntegerField(primary_key=True, serialize=False)),
                        ("code", models.SlugField(max_length=32, unique=True)),
                        ("name", models.CharField(max_length=255)),
                        ("is_active", models.BooleanField(default=True)),
                        (
                            "website",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="stores",
                                to="store.website",
                            ),
                        ),
                    ],
                    options={"ordering": ["id"], "db_table": "catalog_store"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
