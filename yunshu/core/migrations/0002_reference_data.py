from django.db import migrations


def load(apps, schema_editor):
    from yunshu.core.reference import load_reference_data

    load_reference_data(apps)
    AuditHead = apps.get_model("core", "AuditHead")
    AuditHead.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
