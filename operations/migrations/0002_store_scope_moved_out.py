# An operation's store is now store.Store (the same table): state only. It must run
# before the catalog forgets its own Store (catalog 0006), which operations 0001's
# foreign key still names.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0001_initial"),
        ("store", "0001_initial"),
    ]
    run_before = [("catalog", "0006_store_scope_moved_out")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="operation",
                    name="store",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="store.store",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
