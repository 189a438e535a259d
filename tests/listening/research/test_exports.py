"""Tidy exports: exact columns and row counts, read by pandas and analysed by analysis.stats."""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from analysis.report import SIMULATED_BANNER
from analysis.stats import abx_tests, analyse_study, objective_table, preference_tests
from listening.models import AbxAnswer, PreferenceAnswer, Rating, Session, Stimulus, Study
from listening.research import exports
from tests.listening.base import BaseTestCase
from tests.listening.results_fixtures import ATTRIBUTES, read_csv, ready_study, simulate

N, TRACKS = 6, 4
# Reference mode "mix": the mix plays as the hidden reference, then AI, human, two anchors.
RATED_CONDITIONS = 5


def table(study: object, name: str, fmt: str = "csv") -> str:
    return "".join(exports.export_chunks(study, name, fmt))  # type: ignore[arg-type]


class ExportTestCase(BaseTestCase):
    mushra: Study
    abx: Study
    ab: Study
    real: Session

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.mushra = ready_study(cls.researcher, n_tracks=TRACKS, title="MUSHRA")
        cls.abx = ready_study(cls.researcher, paradigm="abx", n_tracks=TRACKS, title="ABX")
        cls.ab = ready_study(cls.researcher, paradigm="ab", n_tracks=TRACKS, title="AB")
        for study in (cls.mushra, cls.abx, cls.ab):
            simulate(study, N, seed=3)
        # One session stands in for a real participant: its rows must say simulated=False.
        cls.real = Session.objects.filter(study=cls.mushra).order_by("pk")[0]
        Session.objects.filter(pk=cls.real.pk).update(simulated=False, prolific_pid="PROLIFIC1")

    def test_it_exports_one_row_per_rating_with_the_documented_columns(self) -> None:
        ratings = read_csv(table(self.mushra, "ratings"))
        assert list(ratings.columns) == list(exports.RATING_COLUMNS)
        assert len(ratings) == N * TRACKS * RATED_CONDITIONS * len(ATTRIBUTES)
        assert len(ratings) == Rating.objects.filter(trial__session__study=self.mushra).count()
        assert set(ratings["condition_kind"]) == {
            "hidden_reference",
            "anchor_3500",
            "anchor_7000",
            "system",
        }
        assert set(ratings.loc[ratings["condition_kind"] == "system", "system"]) == {"ai", "human"}
        assert ratings["score"].between(0, 100).all()
        assert set(ratings["condition_position"]) == set(range(1, RATED_CONDITIONS + 1))

    def test_it_flags_simulated_rows_only(self) -> None:
        ratings = read_csv(table(self.mushra, "ratings"))
        real = ratings["participant"] == "PROLIFIC1"
        assert real.sum() == TRACKS * RATED_CONDITIONS * len(ATTRIBUTES)
        assert not ratings.loc[real, "simulated"].any()
        assert ratings.loc[~real, "simulated"].all()
        sessions = read_csv(table(self.mushra, "sessions"))
        assert sessions["simulated"].sum() == N - 1

    def test_analyse_study_runs_on_the_exported_tables(self) -> None:
        ratings = read_csv(table(self.mushra, "ratings"))
        stimuli = read_csv(table(self.mushra, "stimuli"))
        metrics = stimuli.loc[stimuli["role"] == "master"]
        results = analyse_study(ratings, metrics=metrics, sensitivity=False, n_resamples=99)
        assert results.simulated
        assert results.screening.n_before == N
        assert set(results.primary["attribute"]) == set(ATTRIBUTES)
        assert set(results.secondary["attribute"]) == set(ATTRIBUTES)
        assert results.objective is not None
        assert "dr_value" in set(results.objective["metric"])

    def test_it_exports_webmushra_columns(self) -> None:
        mushra = read_csv(table(self.mushra, "webmushra"))
        assert list(mushra.columns)[:7] == [
            "session_test_id",
            "session_uuid",
            "trial_id",
            "rating_stimulus",
            "rating_score",
            "rating_time",
            "rating_comment",
        ]
        assert len(mushra) == N * TRACKS * RATED_CONDITIONS * len(ATTRIBUTES)
        assert set(mushra["rating_stimulus"]) == {
            "reference",
            "anchor35",
            "anchor70",
            "ai_landr",
            "human_eng-1",
        }
        assert mushra["session_uuid"].nunique() == N
        assert mushra["trial_id"].nunique() == TRACKS * len(ATTRIBUTES)
        assert (mushra["rating_time"] > 0).all()

    def test_it_exports_abx_answers(self) -> None:
        abx = read_csv(table(self.abx, "abx"))
        assert list(abx.columns) == list(exports.ABX_COLUMNS)
        # One AI-human pair per track, repeated study.abx_repetitions (2) times.
        assert len(abx) == N * TRACKS * 2
        assert len(abx) == AbxAnswer.objects.filter(trial__session__study=self.abx).count()
        assert set(abx["pair"]) == {"ai|human"}
        assert (abx["correct"] == (abx["answer_position"] == abx["x_position"])).all()
        assert (
            abx["x_system"] == abx["a_system"].where(abx["x_position"] == "A", abx["b_system"])
        ).all()
        tests = abx_tests(abx)
        assert tests.loc[tests["level"] == "pooled", "n"].item() == len(abx)

    def test_it_exports_preferences(self) -> None:
        prefs = read_csv(table(self.ab, "preferences"))
        assert list(prefs.columns) == list(exports.PREFERENCE_COLUMNS)
        assert len(prefs) == N * TRACKS * len(ATTRIBUTES)
        assert len(prefs) == PreferenceAnswer.objects.filter(trial__session__study=self.ab).count()
        ties = prefs["no_preference"]
        assert (prefs.loc[ties, "choice_system"] == "none").all()
        chosen = prefs.loc[~ties]
        side = chosen["a_system"].where(chosen["choice_position"] == "A", chosen["b_system"])
        assert (side == chosen["choice_system"]).all()
        assert set(preference_tests(prefs)["attribute"]) == set(ATTRIBUTES)

    def test_it_exports_every_stimulus_with_its_metrics(self) -> None:
        stimuli = read_csv(table(self.mushra, "stimuli"))
        assert len(stimuli) == Stimulus.objects.filter(track__study=self.mushra).count()
        assert list(stimuli.columns)[: len(exports.STIMULUS_COLUMNS)] == list(
            exports.STIMULUS_COLUMNS
        )
        for metric in ("integrated", "dr_value", "ber", "rate"):
            assert metric in stimuli.columns
        masters = stimuli.loc[stimuli["role"] == "master"]
        assert masters["integrated"].notna().all()
        assert stimuli.loc[stimuli["role"] != "master", "integrated"].isna().all()
        assert len(objective_table(masters)) > 0

    def test_it_exports_sessions_with_questionnaires_and_timings(self) -> None:
        sessions = read_csv(table(self.mushra, "sessions"))
        assert len(sessions) == N
        assert list(sessions.columns)[: len(exports.SESSION_COLUMNS)] == list(
            exports.SESSION_COLUMNS
        )
        assert "q_age_range" in sessions.columns
        assert "final_same_volume" in sessions.columns
        assert (sessions["state"] == "complete").all()
        assert (sessions["duration_s"] > 0).all()
        assert (sessions["trials_done"] == TRACKS).all()
        assert (sessions["trials_planned"] == TRACKS).all()

    def test_json_lines_hold_the_same_rows(self) -> None:
        from_csv = read_csv(table(self.mushra, "ratings"))
        from_json = pd.read_json(io.StringIO(table(self.mushra, "ratings", "jsonl")), lines=True)
        assert list(from_json.columns) == list(from_csv.columns)
        assert from_json["score"].tolist() == from_csv["score"].tolist()
        assert from_json["simulated"].tolist() == from_csv["simulated"].tolist()

    def test_the_bundle_holds_every_table_the_report_and_the_readme(self) -> None:
        buffer = io.BytesIO()
        exports.write_bundle(self.mushra, buffer)
        bundle = zipfile.ZipFile(buffer)
        names = {name.split("/", 1)[1] for name in bundle.namelist()}
        assert names == {
            *(f"{t}.csv" for t in exports.TABLES),
            "webmushra.csv",
            "report.html",
            "README.md",
        }
        root = f"study-{self.mushra.pk}-results/"
        report = bundle.read(root + "report.html").decode()
        assert SIMULATED_BANNER in report
        assert "Participants and exclusions" in report
        readme = bundle.read(root + "README.md").decode()
        for columns, _ in exports.TABLES.values():
            for column in columns:
                assert f"`{column}`" in readme
        ratings = pd.read_csv(bundle.open(root + "ratings.csv"))
        assert len(ratings) == N * TRACKS * RATED_CONDITIONS * len(ATTRIBUTES)

    def test_a_choice_study_gets_a_report_without_mushra_statistics(self) -> None:
        buffer = io.BytesIO()
        exports.write_bundle(self.abx, buffer)
        report = zipfile.ZipFile(buffer).read(f"study-{self.abx.pk}-results/report.html")
        assert b"no MUSHRA ratings" in report
        assert b"ABX" in report
        assert SIMULATED_BANNER.encode() in report
