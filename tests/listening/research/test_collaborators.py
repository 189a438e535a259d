"""Sharing a study: collaborators are named by exact username, and nothing lists accounts.

A name that is not a researcher's gets the same neutral answer whether or not an
account by that name exists, so researcher forms cannot be used to find out who has an
account; the admin's study form no longer lists every username to every researcher.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from listening.models import Study
from tests.listening.base import BaseTestCase


class CollaboratorsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # An account that exists but is no researcher, and one nobody should learn about.
        User.objects.create_user("member", password="pw")
        User.objects.create_user("zz-hidden-account", password="pw", is_staff=True)
        self.detail = f"/api/studies/{self.study.pk}/"

    def share(self, names: list[str]) -> object:
        api = self.login(self.researcher)
        return api.patch(self.detail, {"collaborators": names}, format="json")

    def test_the_api_adds_a_researcher_by_exact_username(self) -> None:
        response = self.share(["outsider"])
        assert response.status_code == 200, response.data  # type: ignore[attr-defined]
        assert set(self.study.collaborators.values_list("username", flat=True)) == {"outsider"}
        response = self.share(["OUTSIDER"])
        assert response.status_code == 400  # type: ignore[attr-defined]

    def test_the_api_answers_alike_for_missing_and_non_researcher_accounts(self) -> None:
        missing = self.share(["nosuchuser"])
        member = self.share(["member"])
        for response, name in ((missing, "nosuchuser"), (member, "member")):
            assert response.status_code == 400  # type: ignore[attr-defined]
            errors = response.data["errors"]["collaborators"]  # type: ignore[attr-defined]
            assert errors == [f"No researcher account {name!r} can be added."]
            assert "does not exist" not in response.data["detail"]  # type: ignore[attr-defined]
        assert list(self.study.collaborators.all()) == [self.collaborator]

    def test_a_name_no_account_can_have_gets_the_same_answer(self) -> None:
        for name in ("a\x00b", "a b", "x" * 200):  # a NUL: PostgreSQL answered 500
            response = self.share([name])
            assert response.status_code == 400  # type: ignore[attr-defined]
            errors = response.data["errors"]["collaborators"]  # type: ignore[attr-defined]
            assert errors == [f"No researcher account {name!r} can be added."]

    def test_the_admin_study_form_lists_no_accounts(self) -> None:
        self.login(self.researcher)
        change = f"/admin/listening/study/{self.study.pk}/change/"
        for path in ("/admin/listening/study/add/", change):
            page = self.client.get(path)
            assert page.status_code == 200
            assert b"zz-hidden-account" not in page.content
            assert b"member" not in page.content
            assert b"outsider" not in page.content

    def test_the_admin_shares_by_username_with_a_neutral_error(self) -> None:
        self.login(self.researcher)
        path = f"/admin/listening/study/{self.study.pk}/change/"
        form = self.client.get(path).context["adminform"].form
        data = {
            name: value
            for name, value in form.initial.items()
            if value is not None and not isinstance(value, list | dict)
        }
        data.update(
            {
                "title": self.study.title,
                "attributes": '["overall quality"]',
                "questionnaire": "[]",
                "screening": '{"tests": []}',
                "tracks-TOTAL_FORMS": "0",
                "tracks-INITIAL_FORMS": "0",
            }
        )
        response = self.client.post(path, {**data, "collaborators": "collaborator, nosuchuser"})
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["collaborators"]
        assert errors == ["No researcher account 'nosuchuser' can be added."]
        response = self.client.post(path, {**data, "collaborators": "outsider collaborator"})
        assert response.status_code == 302, response.context["adminform"].form.errors
        study = Study.objects.get(pk=self.study.pk)
        assert set(study.collaborators.values_list("username", flat=True)) == {
            "outsider",
            "collaborator",
        }

    def test_only_the_owner_changes_collaborators_in_the_admin(self) -> None:
        self.login(self.collaborator)
        page = self.client.get(f"/admin/listening/study/{self.study.pk}/change/")
        form = page.context["adminform"].form
        assert "collaborators" not in form.fields
        assert b"collaborator" in page.content  # shown, read-only
