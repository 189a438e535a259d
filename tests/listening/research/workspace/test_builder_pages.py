"""Home, sign-in, the study list, and who reaches each builder page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings

from listening.models import Session, Stimulus, Study, Track
from listening.platform.throttling import login_throttle

LOGIN = "/workspace/login/"


def test_participants_see_only_their_instructions_and_a_discreet_sign_in(client: Any) -> None:
    html = client.get("/").content.decode()
    assert "please open the link you were given" in html
    assert f'href="{LOGIN}"' in html
    assert "Researchers: sign in" in html


def test_a_signed_in_researcher_is_sent_to_the_workspace(signed_in: Any) -> None:
    response = signed_in.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/workspace/"


def test_signing_in_through_the_login_page_leads_to_the_studies(
    client: Any, researcher: User
) -> None:
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()
    response = client.post(LOGIN, {"username": "ada", "password": "pw-ada-12345"})
    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200
    out = client.post("/workspace/logout/")
    assert out.status_code == 302
    assert client.get("/workspace/").status_code == 302
    assert client.get("/workspace/logout/").status_code == 405  # POST only (CSRF-protected)


def test_anonymous_visitors_are_sent_to_the_workspace_sign_in(client: Any, researcher: Any) -> None:
    study = Study.objects.create(owner=researcher, title="T")
    for url in ("/workspace/", f"/studies/{study.pk}/results/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    # The admin keeps its own login page.
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_an_account_without_rights_gets_a_clear_403(client: Any, non_researcher: User) -> None:
    client.force_login(non_researcher)
    response = client.get("/workspace/")
    assert response.status_code == 403
    assert "has no researcher rights" in response.content.decode()
    assert client.get("/").status_code == 200  # the home page, not a loop


@override_settings(LISTENING_LOGIN_FAILURES=10)
def test_the_workspace_login_is_throttled_like_the_admins(researcher: User) -> None:
    researcher.is_staff = True  # the admin's door
    researcher.save()
    for login_url in (LOGIN, "/admin/login/"):
        cache.clear()
        client = Client()
        for _ in range(10):
            wrong = {"username": "ada", "password": "wrong"}
            assert client.post(login_url, wrong, REMOTE_ADDR="10.0.0.9").status_code == 200
        right = {"username": "ada", "password": "pw-ada-12345"}
        response = client.post(login_url, right, REMOTE_ADDR="10.0.0.9")  # the 11th
        assert response.status_code == 200, login_url
        assert "Too many failed login attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session
        other = Client().post(login_url, right, REMOTE_ADDR="10.0.0.10")
        assert other.status_code == 302, login_url
    assert login_throttle.wait("ada", "10.0.0.9") > 0


def test_the_list_shows_own_and_shared_studies_with_progress(
    signed_in: Any, researcher: User, other_researcher: User
) -> None:
    own = Study.objects.create(owner=researcher, title="Own study", status=Study.Status.OPEN)
    shared = Study.objects.create(owner=other_researcher, title="Shared study", paradigm="abx")
    shared.collaborators.add(researcher)
    Study.objects.create(owner=other_researcher, title="Not mine")
    track = Track.objects.create(study=own, title="t1")
    Stimulus.objects.create(track=track, role="mix", system="none", status="ready")
    Stimulus.objects.create(track=track, role="master", system="ai", status="failed")
    # Prepared with the study's current settings (else they count as pending).
    Stimulus.objects.filter(track=track).update(fingerprint=track.fingerprint())
    Session.objects.create(study=own, state=Session.State.COMPLETE)
    Session.objects.create(study=own, state=Session.State.TRIALS)
    html = signed_in.get("/workspace/").content.decode()
    assert "Own study" in html
    assert "Shared study" in html
    assert "grace (shared)" in html
    assert "Not mine" not in html
    assert "New study" in html
    # Newest first (ties of one transaction's clock, as on PostgreSQL, by id).
    assert html.index("Shared study") < html.index("Own study")
    start = html.rindex("<tr", 0, html.index("Own study"))
    own_row = html[start : html.index("</tr>", start)]
    assert "open" in own_row
    assert "<td>1</td>" in own_row  # one completed session of two
    assert "1 of 2 ready" in own_row
    assert "1 failed" in own_row


# -- access sweep over every builder route -------------------------------------------------

PAGES = (
    "/workspace/studies/{pk}/",
    "/workspace/studies/{pk}/settings/",
    "/workspace/studies/{pk}/launch/",
)
ACTIONS = ("/workspace/studies/{pk}/open/", "/workspace/studies/{pk}/close/")


@pytest.fixture
def study(researcher: User) -> Study:
    return Study.objects.create(owner=researcher, title="Swept")


def every_route(study: Study) -> list[tuple[str, str]]:
    pages = [("get", "/workspace/"), ("get", "/workspace/studies/new/")]
    pages += [("get", p.format(pk=study.pk)) for p in PAGES]
    pages += [("post", p.format(pk=study.pk)) for p in ACTIONS]
    return pages


def test_anonymous_visitors_are_sent_to_sign_in_everywhere(client: Any, study: Study) -> None:
    for method, url in every_route(study):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOGIN), url


def test_accounts_without_rights_get_403_everywhere(
    client: Any, non_researcher: User, study: Study
) -> None:
    client.force_login(non_researcher)
    for method, url in every_route(study):
        assert getattr(client, method)(url).status_code == 403, url


def test_other_researchers_get_404_for_the_study(
    client: Any, other_researcher: User, study: Study
) -> None:
    client.force_login(other_researcher)
    for method, url in every_route(study)[2:]:
        assert getattr(client, method)(url).status_code == 404, url
    assert "Swept" not in client.get("/workspace/").content.decode()
    assert Study.objects.get(pk=study.pk).status == Study.Status.DRAFT


@pytest.mark.parametrize("persona", ["owner", "collaborator"])
def test_the_owner_and_collaborators_reach_every_page(
    client: Any, researcher: User, other_researcher: User, study: Study, persona: str
) -> None:
    study.collaborators.add(other_researcher)
    client.force_login(researcher if persona == "owner" else other_researcher)
    for method, url in every_route(study):
        if method == "get":
            assert client.get(url).status_code == 200, url
    # The actions answer (a draft without audio cannot open; it is not open to close).
    assert client.post(f"/workspace/studies/{study.pk}/open/").status_code == 400
    assert client.post(f"/workspace/studies/{study.pk}/close/").status_code == 400
