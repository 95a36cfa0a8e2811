# The tables take the names of their new app: catalog_website → store_website,
# catalog_store → store_store. Foreign keys follow the rename on both databases.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0001_initial"),
        ("catalog", "0006_store_scope_moved_out"),
        ("operations", "0002_store_scope_moved_out"),
    ]

    operations = [
        migrations.AlterModelTable(name="website", table=None),
        migrations.AlterModelTable(name="store", table=None),
    ]
