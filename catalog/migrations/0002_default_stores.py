from django.db import migrations


def create_default_stores(apps, schema_editor):
    Website = apps.get_model("catalog", "Website")
    Store = apps.get_model("catalog", "Store")
    admin_site, _ = Website.objects.get_or_create(id=0, defaults={"code": "admin", "name": "Admin"})
    base, _ = Website.objects.get_or_create(id=1, defaults={"code": "base", "name": "Main Website"})
    Store.objects.get_or_create(id=0, defaults={"code": "admin", "name": "Admin", "website": admin_site})
    Store.objects.get_or_create(id=1, defaults={"code": "default", "name": "Default Store View", "website": base})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_stores")]
    operations = [migrations.RunPython(create_default_stores, migrations.RunPython.noop)]
