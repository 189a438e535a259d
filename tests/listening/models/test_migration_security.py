"""Migration 0007_security on a database with data: rights kept, stimuli given their study.

Staff accounts were the researchers before it: they join the Researchers group. Every
stimulus gets its track's study, and a study that holds one file twice (which racing
uploads could store before) stops the migration with the pairs to delete.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

BEFORE = [("listening", "0006_cache_table")]
AFTER = [("listening", "0007_security")]


class SecurityMigrationTestCase(TransactionTestCase):
    def migrate(self, targets: list[tuple[str, str]]) -> Any:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        self.migrate(executor.loader.graph.leaf_nodes())
        super().tearDown()

    def populate(self, apps: Any, *, twice: bool) -> dict[str, Any]:
        User = apps.get_model("auth", "User")
        Study = apps.get_model("listening", "Study")
        Track = apps.get_model("listening", "Track")
        Stimulus = apps.get_model("listening", "Stimulus")
        staff = User.objects.create(username="old-researcher", is_staff=True)
        member = User.objects.create(username="member")
        study = Study.objects.create(owner=staff, title="Old", public_token="t1")
        one = Track.objects.create(study=study, title="One")
        two = Track.objects.create(study=study, title="Two")
        Stimulus.objects.create(track=one, role="mix", system="none", original_sha256="a" * 64)
        Stimulus.objects.create(
            track=two, role="mix", system="none", original_sha256=("a" if twice else "b") * 64
        )
        return {"staff": staff.pk, "member": member.pk, "study": study.pk}

    def test_it_keeps_rights_and_gives_every_stimulus_its_study(self) -> None:
        made = self.populate(self.migrate(BEFORE), twice=False)
        apps = self.migrate(AFTER)
        User = apps.get_model("auth", "User")
        Stimulus = apps.get_model("listening", "Stimulus")
        assert User.objects.get(pk=made["staff"]).groups.filter(name="Researchers").exists()
        assert not User.objects.get(pk=made["member"]).groups.exists()
        assert set(Stimulus.objects.values_list("study_id", flat=True)) == {made["study"]}

    def test_it_stops_on_a_file_held_twice_and_names_it(self) -> None:
        self.populate(self.migrate(BEFORE), twice=True)
        with pytest.raises(RuntimeError, match="hold one file twice"):
            self.migrate(AFTER)
        # Nothing of the study was deleted; the researcher deletes one and migrates again.
        apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Stimulus = apps.get_model("listening", "Stimulus")
        Stimulus.objects.filter(track__title="Two").delete()
        self.migrate(AFTER)
