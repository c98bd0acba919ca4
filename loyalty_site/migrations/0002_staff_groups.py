"""The staff roles as groups: program manager, support agent, store manager."""

from django.db import migrations


def make_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from loyalty_site.staff.roles import staff_roles_sync

    # Permissions are normally created after all migrations; create them now so the groups
    # can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    staff_roles_sync(apps)


def remove_groups(apps, schema_editor):
    from loyalty_site.staff.roles import PROGRAM_MANAGER, STORE_MANAGER, SUPPORT_AGENT

    apps.get_model("auth", "Group").objects.filter(
        name__in=[PROGRAM_MANAGER, SUPPORT_AGENT, STORE_MANAGER]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty_site", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("members", "0001_initial"),
    ]

    operations = [migrations.RunPython(make_groups, remove_groups)]
