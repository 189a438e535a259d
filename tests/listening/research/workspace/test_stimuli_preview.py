"""The Preview tab: a trial played as a participant would, recording nothing, researchers only."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from django.apps import apps
from django.test import Client

from listening.models import Stimulus
from listening.research.workspace.preview import SESSION_KEY
from tests.listening.participant_fixtures import Participant, build_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def study(researcher):
    return build_study(researcher, tracks=1)


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("listening").get_models()}


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _keys(data) -> list[str]:
    keys = [c["key"] for c in data["conditions"]]
    if data.get("reference"):
        keys.append(data["reference"]["key"])
    return keys


def _urls(study, client: Client) -> dict[str, str]:
    """Every preview URL of the study's first track (the trial page run once by ``client``)."""
    track = study.tracks.get()
    base = f"/workspace/studies/{study.pk}/preview/"
    return {"list": base, "trial": f"{base}{track.pk}/", "answers": f"{base}answers"}


def test_it_plays_the_participants_trial_json_with_preview_urls(signed_in, study):
    track = study.tracks.get()
    response = signed_in.get(f"/workspace/studies/{study.pk}/preview/{track.pk}/")
    assert response.status_code == 200
    data = response.context["trial"]
    participant = Participant(study)
    participant.to_training()
    real = participant.trial_data("training")
    # The same description (same keys in the JSON), only its URLs swapped.
    assert set(data) == set(real)
    assert data["paradigm"] == real["paradigm"]
    assert len(data["conditions"]) == len(real["conditions"])
    assert data["attributes"] == real["attributes"]
    assert data["audio_url_template"] == f"/workspace/studies/{study.pk}/preview/audio/{{key}}"
    answers = f"/workspace/studies/{study.pk}/preview/answers"
    assert data["save_url"] == data["events_url"] == answers
    assert data["state_url"] is None
    # The participant's template and player scripts.
    html = response.content.decode()
    assert 'id="trial-root"' in html
    assert "participant/boot.js" in html
    # Reveal names every label with its version.
    reveal = response.context["reveal"]
    assert [r["label"] for r in reveal][: len(data["conditions"])] == [
        c["label"] for c in data["conditions"]
    ]
    assert {r["provider"] for r in reveal} >= {s.provider for s in track.masters}


def test_a_full_preview_writes_nothing(signed_in, study):
    track = study.tracks.get()
    before = _counts()
    signed_in.get(f"/workspace/studies/{study.pk}/preview/")
    response = signed_in.get(f"/workspace/studies/{study.pk}/preview/{track.pk}/")
    data = response.context["trial"]
    for key in _keys(data):
        audio = signed_in.get(data["audio_url_template"].replace("{key}", key))
        assert audio.status_code == 200
        _body(audio)
    first = data["conditions"][0]["key"]
    bodies = [
        {"type": "rating", "trial": data["trial"]["id"], "condition": first,
         "attribute": data["attributes"][0]["id"], "value": 70},
        {"type": "submit", "trial": data["trial"]["id"]},
        {"trial": data["trial"]["id"], "events": [{"type": "play", "condition": first}]},
    ]  # fmt: skip
    for body in bodies:
        saved = signed_in.post(data["save_url"], json.dumps(body), content_type="application/json")
        assert saved.status_code == 200
        assert saved.json() == {"recorded": False}
    assert _counts() == before
    study.refresh_from_db()
    assert study.sessions.count() == 0


def test_the_preview_serves_the_participants_prepared_files(signed_in, study):
    track = study.tracks.get()
    data = signed_in.get(f"/workspace/studies/{study.pk}/preview/{track.pk}/").context["trial"]
    served = signed_in.session[SESSION_KEY][str(study.pk)]
    participant = Participant(study)
    participant.to_training()
    real = participant.trial_data("training")
    from listening.models import Condition

    heard = {}  # stimulus pk -> (body, headers) a participant received
    for key in _keys(real):
        response = participant.client.get(f"/a/{key}")
        heard[Condition.objects.get(key=key).stimulus_id] = (_body(response), response)
    for key in _keys(data):
        response = signed_in.get(data["audio_url_template"].replace("{key}", key))
        body = _body(response)
        stimulus_pk, name = served[key]
        stimulus = Stimulus.objects.get(pk=stimulus_pk)
        # The very file the participants' code picked (one of the stimulus's dithered copies).
        assert name in stimulus.prepared_pool
        with stimulus.prepared.storage.open(name) as f:
            assert body == f.read()
        theirs, their_response = heard[stimulus_pk]
        for header in ("Content-Type", "Cache-Control", "X-Content-Type-Options", "Accept-Ranges"):
            assert response[header] == their_response[header]
        assert "Content-Disposition" not in response
        assert len(body) == len(theirs)  # the pool's copies are padded to one size
        ours, rate = sf.read(io.BytesIO(body))
        other, other_rate = sf.read(io.BytesIO(theirs))
        assert rate == other_rate
        assert ours.shape == other.shape
        # Copies differ only by their TPDF dither: at most 2 LSB at the playback bit depth.
        lsb = 2.0 ** (1 - study.playback_bit_depth)
        assert np.max(np.abs(ours - other)) <= 2 * lsb + 1e-12
    # Range requests answer as for participants.
    key = _keys(data)[0]
    partial = signed_in.get(
        data["audio_url_template"].replace("{key}", key), headers={"Range": "bytes=0-99"}
    )
    assert partial.status_code == 206
    assert len(_body(partial)) == 100


def test_an_unknown_or_foreign_key_is_404(signed_in, study):
    assert signed_in.get(f"/workspace/studies/{study.pk}/preview/audio/nope").status_code == 404
    participant = Participant(study)
    participant.to_training()
    real = participant.trial_data("training")
    # A participant's key is not a preview key: no way to fetch a participant's files here.
    key = real["conditions"][0]["key"]
    assert signed_in.get(f"/workspace/studies/{study.pk}/preview/audio/{key}").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "non_researcher", "other_researcher"])
def test_it_is_unreachable_without_rights(client, researcher, who, request, study):
    owner = Client()
    owner.force_login(researcher)
    urls = _urls(study, owner)
    data = owner.get(urls["trial"]).context["trial"]
    audio = data["audio_url_template"].replace("{key}", data["conditions"][0]["key"])
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    expected = {"anonymous": 302, "non_researcher": 403, "other_researcher": 404}[who]
    for url in (urls["list"], urls["trial"], audio):
        response = client.get(url)
        assert response.status_code == expected, url
        if who == "anonymous":
            assert "login" in response["Location"]
    response = client.post(urls["answers"], "{}", content_type="application/json")
    assert response.status_code == expected


def test_collaborators_and_owners_reach_it(client, researcher, other_researcher, study):
    study.collaborators.add(other_researcher)
    for user in (researcher, other_researcher):
        client.force_login(user)
        urls = _urls(study, client)
        assert client.get(urls["list"]).status_code == 200
        data = client.get(urls["trial"]).context["trial"]
        audio = data["audio_url_template"].replace("{key}", data["conditions"][0]["key"])
        assert client.get(audio).status_code == 200
        saved = client.post(urls["answers"], "{}", content_type="application/json")
        assert saved.status_code == 200


def test_a_track_not_ready_is_listed_with_its_reason_and_not_played(signed_in, study):
    track = study.tracks.get()
    Stimulus.objects.filter(track=track, role="master").update(status="failed", error="boom")
    listing = signed_in.get(f"/workspace/studies/{study.pk}/preview/")
    assert "not prepared yet" in listing.content.decode()
    assert signed_in.get(f"/workspace/studies/{study.pk}/preview/{track.pk}/").status_code == 404
