# Issue 14 (security): researcher rights, and the constraints and records that go with them.

from django.db import migrations


def create_researchers(apps, schema_editor):
    """Create the Researchers group with its permission; existing staff accounts join it.

    Until now any staff account was a researcher: they keep their rights. Accounts
    that were not staff had none in the admin and get none now anywhere.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    content_type, _ = ContentType.objects.get_or_create(app_label="listening", model="study")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="conduct_research",
        defaults={"name": "Can create and run studies"},
    )
    group, _ = Group.objects.get_or_create(name="Researchers")
    group.permissions.add(permission)
    for user in User.objects.filter(is_staff=True, is_active=True):
        user.groups.add(group)


def remove_researchers(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Researchers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("listening", "0006_cache_table"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="study",
            options={
                "ordering": ("-created_at",),
                "permissions": (("conduct_research", "Can create and run studies"),),
                "verbose_name_plural": "studies",
            },
        ),
        migrations.RunPython(create_researchers, remove_researchers),
    ]
