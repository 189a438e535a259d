"""Researcher rights are an explicit permission, checked the same way everywhere.

Being logged in is not enough, nor is staff status: the API, the admin, the results
pages and ``import_study --owner`` all ask :func:`listening.models.rights.is_researcher`
(the ``listening.conduct_research`` permission, given by the Researchers group;
superusers have every right).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from listening.models import Study
from listening.models.rights import PERMISSION, is_researcher
from listening.research.researchers import GROUP, grant_researcher
from tests.listening.base import BaseTestCase, upload, versions, wav_bytes


class ResearcherRightsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # An ordinary account (say, someone given a login for another purpose): no rights.
        self.member = User.objects.create_user("member", password="pw")
        # Staff status alone (the admin's door) is no researcher right either.
        self.staff = User.objects.create_user("staff-only", password="pw", is_staff=True)
        self.root = User.objects.create_superuser("root", password="pw")
        self.track = self.add_track("Song")

    def test_the_predicate(self) -> None:
        assert is_researcher(self.researcher)
        assert is_researcher(self.root)  # superusers keep full rights
        assert not is_researcher(self.member)
        assert not is_researcher(self.staff)
        self.researcher.is_active = False
        assert not is_researcher(self.researcher)
        assert (
            Group.objects.get(name=GROUP)
            .permissions.filter(codename=PERMISSION.split(".")[1])
            .exists()
        )

    def test_accounts_without_the_right_cannot_use_the_api(self) -> None:
        for user in (self.member, self.staff):
            api = self.login(user)
            created = api.post("/api/studies/", {"title": "Mine"}, format="json")
            assert created.status_code == 403, created.data
            assert created.data["code"] == "permission_denied"
            assert api.get("/api/studies/").status_code == 403
            assert api.get("/api/tracks/").status_code == 403
            track = api.post("/api/tracks/", {"study": self.study.pk, "title": "T"}, format="json")
            assert track.status_code == 403
            data = wav_bytes(versions()["mix"])
            sent = api.post(
                "/api/stimuli/",
                {"track": self.track.pk, "role": "mix", "file": upload("mix.wav", data)},
                format="multipart",
            )
            assert sent.status_code == 403
        assert not Study.objects.filter(title="Mine").exists()
        assert not self.track.stimuli.exists()

    def test_the_right_is_given_by_the_group_or_superuser_status(self) -> None:
        api = self.login(self.member)
        assert api.get("/api/studies/").status_code == 403
        grant_researcher(self.member)
        member = User.objects.get(pk=self.member.pk)  # permissions are cached per instance
        assert member.groups.filter(name=GROUP).exists()
        api = self.login(member)
        assert api.post("/api/studies/", {"title": "Mine"}, format="json").status_code == 201
        assert self.login(self.root).get("/api/studies/").status_code == 200

    def test_a_collaborator_without_the_right_loses_access(self) -> None:
        self.study.collaborators.add(self.member)
        api = self.login(self.member)
        assert api.get(f"/api/studies/{self.study.pk}/").status_code == 403
        response = self.client.get(f"/studies/{self.study.pk}/results/")
        assert response.status_code == 403
        assert list(Study.objects.for_user(self.member)) == []

    def test_the_admin_needs_the_right_as_well_as_staff_status(self) -> None:
        self.login(self.staff)
        assert self.client.get("/admin/listening/study/").status_code == 403
        assert self.client.get("/admin/listening/study/add/").status_code == 403
        index = self.client.get("/admin/")
        assert b"/admin/listening/" not in index.content
        self.login(self.researcher)
        assert self.client.get("/admin/listening/study/").status_code == 200

    def test_results_pages_need_the_right(self) -> None:
        self.login(self.member)
        for path in ("", "ratings.csv", "bundle.zip", "report.html"):
            response = self.client.get(f"/studies/{self.study.pk}/results/{path}")
            assert response.status_code == 403, path
        anonymous = self.client_class()
        response = anonymous.get(f"/studies/{self.study.pk}/results/")
        assert response.status_code == 302
        assert response["Location"].startswith("/workspace/login/?next=")

    def test_import_study_owner_must_be_a_researcher(self) -> None:
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        (folder / "mix.wav").write_bytes(wav_bytes(versions()["mix"]))
        (folder / "manifest.csv").write_text(
            "track,genre,file,role,system,provider\nSong,pop,mix.wav,mix,,\n"
        )
        with pytest.raises(CommandError, match="'member' has no researcher rights"):
            call_command(
                "import_study", str(folder), owner="member", verbosity=0, stdout=io.StringIO()
            )
        assert not Study.objects.filter(owner=self.member).exists()
        call_command(
            "import_study", str(folder), owner="researcher", prepare="no", verbosity=0,
            stdout=io.StringIO(),
        )  # fmt: skip
        assert Study.objects.filter(owner=self.researcher, title=folder.name).exists()
