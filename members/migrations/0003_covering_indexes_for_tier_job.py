import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Covering indexes for the tier job's per-member sums. The new purchase index is built
    before the two it replaces are dropped, so lookups by member always have an index."""

    dependencies = [
        ("members", "0002_jobrun_expiryreminder"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="purchase",
            index=models.Index(
                fields=["member", "purchased_at"],
                include=("amount", "refunded_amount"),
                name="purchase_member_window",
            ),
        ),
        migrations.RemoveIndex(
            model_name="purchase",
            name="members_pur_member__b78120_idx",
        ),
        # The foreign key's own index on member_id is a prefix of the new one. Dropping only
        # the index keeps the constraint, which Django's AlterField would drop and validate
        # again over the whole table.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="purchase",
                    name="member",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="purchases",
                        to="members.member",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "members_purchase_member_id_e9b9c2f9"',
                    'CREATE INDEX "members_purchase_member_id_e9b9c2f9" ON "members_purchase" ("member_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(
                    ("kind__in", ["earn", "bonus", "reversal"]),
                    ("source_type__in", ["purchase", "campaign"]),
                ),
                fields=["member", "created_at"],
                include=("points",),
                name="ledger_member_qualifying",
            ),
        ),
    ]
