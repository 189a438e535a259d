"""The Audio tab: tracks, uploads through the API's admission, manifests, progress, retry."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from listening.models import Stimulus, Study, Track
from tests.listening.base import RATE, versions, wav_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def study(researcher):
    return Study.objects.create(
        owner=researcher, title="Masters", excerpt_start=1.0, excerpt_length=3.0
    )


@pytest.fixture
def audio():
    return versions("rock", 3, 6.0)


def _url(study, part=""):
    return f"/workspace/studies/{study.pk}/audio/{part}"


def _upload(client, study, track, name, data, role="mix", system="", provider=""):
    return client.post(
        _url(study, "upload/"),
        {
            "track": track.pk,
            "role": role,
            "system": system,
            "provider": provider,
            "file": SimpleUploadedFile(name, data),
        },
    )


def test_it_adds_a_track_with_a_canonical_genre(signed_in, study):
    response = signed_in.post(_url(study, "tracks/"), {"title": "Song", "genre": "Rock"})
    assert response.status_code == 200
    track = study.tracks.get()
    assert response.json()["track"] == {"id": track.pk, "title": "Song"}
    again = signed_in.post(_url(study, "tracks/"), {"title": "Song", "genre": "rock"})
    assert again.status_code == 400
    assert again.json()["errors"]


def test_uploads_are_admitted_prepared_and_refused_with_reasons(
    signed_in, study, audio, django_capture_on_commit_callbacks
):
    track = Track.objects.create(study=study, title="Song", genre="rock")
    with django_capture_on_commit_callbacks(execute=True):
        mix = _upload(signed_in, study, track, "mix.wav", wav_bytes(audio["mix"]))
        ai = _upload(signed_in, study, track, "ai.wav", wav_bytes(audio["ai"]), "master", "ai", "X")
    assert mix.json()["ok"], mix.json()
    assert ai.json()["ok"], ai.json()
    progress = signed_in.get(_url(study, "progress/")).json()
    assert progress["state"] == "ready"
    files = {r["file"] for r in progress["stimuli"] if r["role"] != "anchor"}
    assert files == {"mix.wav", "ai.wav"}
    # Refusals name the file and the reason; nothing is stored.
    same = wav_bytes(audio["ai"])
    duplicate = _upload(signed_in, study, track, "again.wav", same, "master", "ai")
    assert duplicate.status_code == 400
    assert "already in this study" in " ".join(duplicate.json()["errors"])
    mono = _upload(
        signed_in, study, track, "mono.wav", wav_bytes(audio["human"][:, :1]), "master", "human"
    )
    assert mono.status_code == 400
    assert "mono" in " ".join(mono.json()["errors"])
    no_system = _upload(signed_in, study, track, "h.wav", wav_bytes(audio["human"]), "master")
    assert no_system.status_code == 400
    assert "system" in " ".join(no_system.json()["errors"])
    assert Stimulus.objects.filter(track=track, role__in=["mix", "master"]).count() == 2


def test_the_workspace_refuses_as_the_api_does(signed_in, researcher, study, audio):
    """One admission: the same file gets the same message from the API and the workspace."""
    track = Track.objects.create(study=study, title="Song", genre="rock")
    api = APIClient()
    api.force_login(researcher)
    cases = [
        ("slow.wav", wav_bytes(audio["mix"][::8], rate=RATE // 8)),  # 5.5 kHz: refused rate
        ("mono.wav", wav_bytes(audio["mix"][:, :1])),
        ("noise.wav", b"RIFF not audio at all"),
    ]
    for name, data in cases:
        ours = _upload(signed_in, study, track, name, data).json()["errors"]
        theirs = api.post(
            "/api/stimuli/",
            {"track": track.pk, "role": "mix", "file": SimpleUploadedFile(name, data)},
            format="multipart",
        )
        assert theirs.status_code == 400
        assert ours == theirs.json()["errors"]["file"], name
    assert not Stimulus.objects.exists()


def test_a_track_of_another_study_is_refused(signed_in, researcher, study, audio):
    other = Study.objects.create(owner=researcher, title="Other")
    track = Track.objects.create(study=other, title="Elsewhere")
    response = _upload(signed_in, study, track, "mix.wav", wav_bytes(audio["mix"]))
    assert response.status_code == 400
    assert response.json()["errors"] == ["choose a track of this study"]


def test_a_manifest_creates_its_tracks_and_lists_mixes_first(signed_in, study):
    manifest = (
        "Track,Genre,File,Role,System,Provider\n"
        "Song,Rock,song/ai.wav,master,ai,LANDR\n"
        "Song,Rock,song/mix.wav,mix,,\n"
        "Tune,Jazz,tune/mix.wav,mix,,\n"
    )
    response = signed_in.post(
        _url(study, "manifest/"),
        {"manifest": SimpleUploadedFile("manifest.csv", manifest.encode())},
    )
    assert response.status_code == 200, response.json()
    rows = response.json()["rows"]
    assert [r["file"] for r in rows] == ["song/mix.wav", "tune/mix.wav", "song/ai.wav"]
    tracks = {t.title: t for t in study.tracks.all()}
    assert {r["track"] for r in rows} == {tracks["Song"].pk, tracks["Tune"].pk}
    assert rows[2]["provider"] == "LANDR"


def test_a_bad_manifest_is_refused_as_the_importer_refuses_it(signed_in, study):
    response = signed_in.post(
        _url(study, "manifest/"),
        {"manifest": SimpleUploadedFile("manifest.csv", b"track,file\nSong,a.wav\n")},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "manifest.csv: missing column(s) genre, role, system, provider; expected track, "
        "genre, file, role, system, provider"
    ]
    assert not study.tracks.exists()


def test_progress_matches_the_api(signed_in, researcher, study, audio):
    track = Track.objects.create(study=study, title="Song", genre="rock")
    _upload(signed_in, study, track, "mix.wav", wav_bytes(audio["mix"]))
    ours = signed_in.get(_url(study, "progress/")).json()
    api = APIClient()
    api.force_login(researcher)
    theirs = api.get(f"/api/studies/{study.pk}/progress/").json()
    assert {k: v for k, v in ours.items() if k in theirs and k != "stimuli"} == {
        k: v for k, v in theirs.items() if k != "stimuli"
    }
    assert [{k: r[k] for k in theirs["stimuli"][0]} for r in ours["stimuli"]] == theirs["stimuli"]


def test_retry_prepares_a_failed_track_again(
    signed_in, study, audio, django_capture_on_commit_callbacks
):
    track = Track.objects.create(study=study, title="Song", genre="rock")
    with django_capture_on_commit_callbacks(execute=True):
        _upload(signed_in, study, track, "mix.wav", wav_bytes(audio["mix"]))
        _upload(signed_in, study, track, "ai.wav", wav_bytes(audio["ai"]), "master", "ai")
    Stimulus.objects.filter(track=track).update(status="failed", error="worker lost")
    failed = signed_in.get(_url(study, "progress/")).json()
    assert failed["failed"] == Stimulus.objects.filter(track=track).count()
    assert {r["error"] for r in failed["stimuli"]} == {"worker lost"}
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(_url(study, f"tracks/{track.pk}/retry/"))
    assert response.json() == {"ok": True, "queued_tracks": 1}
    progress = signed_in.get(_url(study, "progress/")).json()
    assert progress["state"] == "ready", progress


def test_prepare_now_queues_outdated_tracks_and_refuses_open_studies(
    signed_in, study, audio, django_capture_on_commit_callbacks
):
    track = Track.objects.create(study=study, title="Song", genre="rock")
    _upload(signed_in, study, track, "mix.wav", wav_bytes(audio["mix"]))  # not run: not captured
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(_url(study, "prepare/"))
    assert response.json() == {"ok": True, "queued_tracks": 1}
    assert signed_in.get(_url(study, "progress/")).json()["state"] == "ready"
    Study.objects.filter(pk=study.pk).update(status=Study.Status.OPEN)
    refused = signed_in.post(_url(study, "prepare/"))
    assert refused.status_code == 400
    assert "locked" in refused.json()["errors"][0]


def test_the_page_lists_the_study_and_its_tabs(signed_in, study):
    Track.objects.create(study=study, title="Song", genre="rock")
    response = signed_in.get(_url(study))
    assert response.status_code == 200
    assert response.context["study_tabs"]
    assert response.context["progress"]["tracks"][0]["title"] == "Song"


@pytest.mark.parametrize("who", ["anonymous", "non_researcher", "other_researcher"])
def test_it_is_unreachable_without_rights(client, who, request, study):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    expected = {"anonymous": 302, "non_researcher": 403, "other_researcher": 404}[who]
    track = Track.objects.create(study=study, title="Song")
    assert client.get(_url(study)).status_code == expected
    assert client.get(_url(study, "progress/")).status_code == expected
    for part in ("tracks/", "upload/", "manifest/", "prepare/", f"tracks/{track.pk}/retry/"):
        assert client.post(_url(study, part)).status_code == expected, part


def test_collaborators_reach_it(client, other_researcher, study):
    study.collaborators.add(other_researcher)
    client.force_login(other_researcher)
    assert client.get(_url(study)).status_code == 200
    assert client.get(_url(study, "progress/")).status_code == 200
