from django.db import migrations

from yunshu.providers.reference import certificate_types_seed


def seed(apps, schema_editor):
    certificate_types_seed(
        apps.get_model("providers", "CertificateType"),
        apps.get_model("providers", "CatalogueVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
