"""The results dashboard, the export downloads (pages, API, admin) and who may see them."""

from __future__ import annotations

import io
import zipfile

from django.http import FileResponse, StreamingHttpResponse

from listening.models import Study
from tests.listening.base import BaseTestCase
from tests.listening.results_fixtures import read_csv, ready_study, simulate, streamed

N, TRACKS = 3, 2


class ResultsViewsTestCase(BaseTestCase):
    results: Study
    base: str
    api: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.results = ready_study(cls.researcher, n_tracks=TRACKS)
        cls.results.collaborators.add(cls.collaborator)
        simulate(cls.results, N, seed=1)
        cls.base = f"/studies/{cls.results.pk}/results/"
        cls.api = f"/api/studies/{cls.results.pk}/exports/"

    def page_urls(self) -> list[str]:
        tables = ["ratings", "abx", "preferences", "stimuli", "sessions"]
        return [
            self.base,
            self.base + "bundle.zip",
            self.base + "report.html",
            self.base + "webmushra.csv",
            *(self.base + f"{t}.csv" for t in tables),
            *(self.base + f"{t}.jsonl" for t in tables),
        ]

    def api_urls(self) -> list[str]:
        return [self.api + "ratings.csv", self.api + "sessions.jsonl", self.api + "bundle.zip"]

    def test_it_shows_the_dashboard(self) -> None:
        for user in (self.researcher, self.collaborator):
            self.login(user)
            response = self.client.get(self.base)
            assert response.status_code == 200
            progress = response.context["progress"]
            assert progress["started"] == N
            assert progress["completed"] == N
            assert progress["simulated"] == N
            assert progress["median_minutes"] > 0
            labels = {(r["attribute"], r["condition"]) for r in response.context["means"]}
            assert ("clarity", "AI master (LANDR)") in labels
            assert ("clarity", "Hidden reference") in labels
            assert b"simulated session" in response.content
            assert b"bundle.zip" in response.content

    def test_the_planning_section_uses_the_studys_own_variance_components(self) -> None:
        self.login(self.researcher)
        assert self.client.get(self.base).context["plan"] is None  # computed on request only
        response = self.client.get(self.base, {"difference": "6", "power": "0.8"})
        assert response.status_code == 200
        plan = response.context["plan"]
        assert "reason" not in plan, plan
        assert plan["participants_so_far"] == N
        assert plan["tracks_so_far"] == TRACKS
        assert plan["tracks"] == [4, 6, 8, 10, 12, 16, 20, 30]
        powers = [row["power"] for row in plan["rows"]]
        # More participants never lower the power of a design with the same tracks.
        for column in range(len(plan["tracks"])):
            assert [p[column] for p in powers] == sorted(p[column] for p in powers)
        assert b"Planning: how many participants and tracks?" in response.content
        bad = self.client.get(self.base, {"difference": "abc"})
        assert bad.status_code == 200
        assert bad.context["plan"] is None

    def test_it_shows_the_report_of_the_same_tables(self) -> None:
        self.login(self.collaborator)
        response = self.client.get(self.base + "report.html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert response["Cache-Control"] == "private, no-store"
        html = response.content.decode()
        assert f"Listening-test report: {self.results.title}" in html
        assert "simulated" in html.lower()  # every session here is simulated: the banner shows
        assert "http://" not in html
        assert "https://cdn" not in html
        assert "report.html" in self.client.get(self.base).content.decode()

    def test_it_checks_ownership(self) -> None:
        self.login(self.outsider)
        for url in [*self.page_urls(), *self.api_urls()]:
            assert self.client.get(url).status_code == 404, url

    def test_anonymous_users_are_sent_to_login_or_refused(self) -> None:
        for url in self.page_urls():
            response = self.client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/workspace/login/?next=")
        for url in self.api_urls():
            assert self.client.get(url).status_code == 403, url

    def test_it_streams_csv_and_json_lines(self) -> None:
        self.login(self.researcher)
        response = self.client.get(self.base + "ratings.csv")
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        ratings = read_csv(streamed(response))
        assert len(ratings) == N * TRACKS * 5 * 2
        response = self.client.get(self.base + "sessions.jsonl")
        assert isinstance(response, StreamingHttpResponse)
        assert len(streamed(response).splitlines()) == N

    def test_it_refuses_unknown_tables(self) -> None:
        self.login(self.researcher)
        assert self.client.get(self.base + "users.csv").status_code == 404
        assert self.client.get(self.base + "webmushra.jsonl").status_code == 404
        assert self.client.get(self.api + "users.csv").status_code == 404

    def test_the_api_streams_exports(self) -> None:
        client = self.login(self.researcher)
        response = client.get(self.api + "ratings.csv")
        assert response.status_code == 200
        assert isinstance(response, StreamingHttpResponse)
        assert len(read_csv(streamed(response))) == N * TRACKS * 5 * 2
        response = client.get(self.api + "webmushra.csv", HTTP_ACCEPT="text/csv")
        assert response.status_code == 200
        assert streamed(response).startswith(b"session_test_id,session_uuid,trial_id")

    def test_the_bundle_downloads_from_the_page_and_the_admin(self) -> None:
        self.login(self.researcher)
        response = self.client.get(self.base + "bundle.zip")
        assert isinstance(response, FileResponse)
        names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
        assert any(n.endswith("report.html") for n in names)
        response = self.client.post(
            "/admin/listening/study/",
            {"action": "download_results_bundle", "_selected_action": [self.results.pk]},
        )
        assert response["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
        assert any(n.endswith("README.md") for n in names)
