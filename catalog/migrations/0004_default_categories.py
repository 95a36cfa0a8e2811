from django.core.management.color import no_style
from django.db import migrations


def create_default_categories(apps, schema_editor):
    """Create Magento's tree root (1) and the default category (2)."""
    Category = apps.get_model("catalog", "Category")
    Category.objects.get_or_create(
        id=1, defaults={"name": "Root Catalog", "parent": None, "level": 0, "path": "1", "position": 0}
    )
    Category.objects.get_or_create(
        id=2, defaults={"name": "Default Category", "parent_id": 1, "level": 1, "path": "1/2", "position": 1}
    )
    # Explicit ids leave PostgreSQL's sequence behind; move it past them.
    connection = schema_editor.connection
    for sql in connection.ops.sequence_reset_sql(no_style(), [Category]):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_catalog_entities")]
    operations = [migrations.RunPython(create_default_categories, migrations.RunPython.noop)]
