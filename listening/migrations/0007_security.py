# Issue 14 (security): researcher rights, and the constraints and records that go with them.

import django.core.validators
from django.db import migrations, models


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
        migrations.AlterField(
            model_name='study',
            name='abx_repetitions',
            field=models.PositiveSmallIntegerField(default=4, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(50)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='excerpt_length',
            field=models.FloatField(default=10.0, help_text='Seconds.', validators=[django.core.validators.MinValueValidator(1.0), django.core.validators.MaxValueValidator(120.0)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='excerpt_start',
            field=models.FloatField(default=30.0, help_text="Seconds, in the mix's timeline.", validators=[django.core.validators.MinValueValidator(0.0)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='fade_ms',
            field=models.FloatField(default=20.0, help_text='Raised-cosine fade in and out, ms.', validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1000.0)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='loudness_target_lufs',
            field=models.FloatField(default=-23.0, validators=[django.core.validators.MinValueValidator(-70.0), django.core.validators.MaxValueValidator(0.0)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='trials_per_participant',
            field=models.PositiveIntegerField(blank=True, help_text='Empty: every track.', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000)]),
        ),
        migrations.AlterField(
            model_name='study',
            name='true_peak_ceiling_dbtp',
            field=models.FloatField(default=-1.0, validators=[django.core.validators.MinValueValidator(-20.0), django.core.validators.MaxValueValidator(0.0)]),
        ),
        migrations.RunPython(create_researchers, remove_researchers),
    ]
