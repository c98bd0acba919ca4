"""The staff models now belong to the staff app (``loyalty_site.staff``, migration
``staff.0001``), which renames their tables; here they leave this app's state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty_site", "0002_staff_groups"),
        ("staff", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AdjustmentRequest"),
                migrations.DeleteModel(name="StoreManager"),
                migrations.DeleteModel(name="TierDraft"),
                migrations.DeleteModel(name="StaffPortal"),
            ],
        ),
    ]
