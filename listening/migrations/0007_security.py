# Issue 14 (security): researcher rights, and the constraints and records that go with them.

import django.core.validators
import django.db.models.deletion
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


def refuse_files_held_twice(apps, schema_editor):
    """Stop, before any change of schema, if a study holds one file twice, naming them.

    The unique constraint added below cannot be created while it does (two racing uploads
    could store a file so before this migration): the researcher deletes one stimulus of
    each pair and migrates again.
    """
    Stimulus = apps.get_model("listening", "Stimulus")
    seen = {}
    twice = []
    rows = Stimulus.objects.exclude(original_sha256="").order_by("pk")
    for pk, study_id, sha in rows.values_list("pk", "track__study_id", "original_sha256"):
        first = seen.setdefault((study_id, sha), pk)
        if first != pk:
            twice.append(f"study {study_id}: stimuli {first} and {pk} (sha256 {sha[:12]}...)")
    if twice:
        raise RuntimeError(
            "These studies hold one file twice; delete one stimulus of each pair (in the "
            "admin) and migrate again:\n  " + "\n  ".join(twice)
        )


def stimuli_know_their_study(apps, schema_editor):
    """Copy each stimulus's study from its track."""
    Stimulus = apps.get_model("listening", "Stimulus")
    Track = apps.get_model("listening", "Track")
    for track_id, study_id in Track.objects.values_list("pk", "study_id"):
        Stimulus.objects.filter(track_id=track_id).update(study_id=study_id)


class Migration(migrations.Migration):
    # Not one transaction: on PostgreSQL, rows updated by a data step leave deferred foreign
    # key checks pending, and the ALTER TABLE after it would then fail. Each data step runs
    # in a transaction of its own.
    atomic = False

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
        migrations.RunPython(create_researchers, remove_researchers, atomic=True),
        migrations.RunPython(refuse_files_held_twice, migrations.RunPython.noop, atomic=True),
        migrations.AddField(
            model_name="stimulus",
            name="study",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="stimuli",
                to="listening.study",
            ),
        ),
        migrations.RunPython(stimuli_know_their_study, migrations.RunPython.noop, atomic=True),
        migrations.AlterField(
            model_name="stimulus",
            name="study",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="stimuli",
                to="listening.study",
            ),
        ),
        migrations.RemoveConstraint(model_name="stimulus", name="stimulus_file_once_per_track"),
        migrations.RemoveConstraint(model_name="stimulus", name="stimulus_one_mix_per_track"),
        migrations.AddConstraint(
            model_name="stimulus",
            constraint=models.UniqueConstraint(
                condition=models.Q(("role", "mix")),
                fields=("track",),
                name="stimulus_one_mix_per_track",
                violation_error_message="The track already has a mix.",
            ),
        ),
        migrations.AddConstraint(
            model_name="stimulus",
            constraint=models.UniqueConstraint(
                condition=models.Q(("original_sha256", ""), _negated=True),
                fields=("study", "original_sha256"),
                name="stimulus_file_once_per_study",
                violation_error_message="The same file is already in this study.",
            ),
        ),
        migrations.CreateModel(
            name='TaskWorker',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('worker_id', models.CharField(max_length=64, unique=True)),
                ('hostname', models.CharField(max_length=255)),
                ('pid', models.PositiveIntegerField()),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('seen_at', models.DateTimeField()),
            ],
            options={
                'ordering': ('started_at',),
            },
        ),
    ]
