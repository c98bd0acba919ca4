"""The staff models move here from ``loyalty_site`` (now only wiring): their tables are renamed,
not copied, and their content types follow, so permissions given to groups and users stay."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TABLES = ["adjustmentrequest", "storemanager", "tierdraft"]
MODELS = [*TABLES, "staffportal"]


def rename_tables(old: str, new: str) -> list:
    return [
        migrations.RunSQL(
            f"ALTER TABLE {old}_{table} RENAME TO {new}_{table}",
            f"ALTER TABLE {new}_{table} RENAME TO {old}_{table}",
        )
        for table in TABLES
    ]


def move_content_types(apps, schema_editor, old="loyalty_site", new="staff"):
    content_type = apps.get_model("contenttypes", "ContentType")
    taken = set(content_type.objects.filter(app_label=new).values_list("model", flat=True))
    content_type.objects.filter(app_label=old, model__in=set(MODELS) - taken).update(app_label=new)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, old="staff", new="loyalty_site")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("loyalty_site", "0002_staff_groups"),
        ("members", "0005_user_signup_referral_code"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StaffPortal',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ],
                    options={
                        'permissions': [('view_reports', 'Can see program figures and reports'), ('edit_tier_draft', 'Can draft and publish tier thresholds and multipliers'), ('resend_member_mail', 'Can resend mail to a member'), ('access_all_stores', "Can see every store's purchases and keys")],
                        'managed': False,
                        'default_permissions': (),
                    },
                ),
                migrations.CreateModel(
                    name='TierDraft',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tiers', models.JSONField(default=dict)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('published_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('published_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-updated_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='AdjustmentRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('points', models.IntegerField(help_text='Signed: a positive number adds points, a negative one removes.')),
                        ('reason', models.CharField(max_length=255)),
                        ('status', models.CharField(choices=[('pending', 'Waiting for approval'), ('applied', 'Applied'), ('rejected', 'Rejected')], default='pending', max_length=10)),
                        ('needs_approval', models.BooleanField(default=False)),
                        ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_note', models.CharField(blank=True, max_length=255)),
                        ('approved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.ledgerentry')),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member')),
                        ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-requested_at', '-id'],
                        'permissions': [('approve_adjustmentrequest', "Can approve another staff member's large adjustment"), ('request_large_adjustment', 'Can request adjustments above the approval threshold')],
                        'indexes': [models.Index(fields=['status', 'requested_at'], name='loyalty_sit_status_01b2cd_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('points', 0), _negated=True), name='adjustment_request_not_zero'), models.CheckConstraint(condition=models.Q(('approved_by__isnull', True), models.Q(('approved_by', models.F('requested_by')), _negated=True), _connector='OR'), name='adjustment_approver_is_not_requester'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'applied'), _negated=True), ('entry__isnull', False), _connector='OR'), name='adjustment_applied_has_entry')],
                    },
                ),
                migrations.CreateModel(
                    name='StoreManager',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='managers', to='members.store')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='managed_stores', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'constraints': [models.UniqueConstraint(fields=('user', 'store'), name='store_manager_unique')],
                    },
                ),
            ],
            database_operations=rename_tables("loyalty_site", "staff"),
        ),
        migrations.RenameIndex(
            model_name="adjustmentrequest",
            new_name="adjustment_status_requested",
            old_name="loyalty_sit_status_01b2cd_idx",
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
