# Websites and stores now belong to the store app (store/migrations/0001): the
# catalog's foreign keys point there and its own copies leave Django's state. Nothing
# changes in the database.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_category_custom_attributes"),
        ("store", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="website",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="store.website",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="store",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="store.store",
                    ),
                ),
                migrations.AlterField(
                    model_name="productstorevalue",
                    name="store",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="store.store",
                    ),
                ),
                migrations.DeleteModel(name="Store"),
                migrations.DeleteModel(name="Website"),
            ],
            database_operations=[],
        ),
    ]
