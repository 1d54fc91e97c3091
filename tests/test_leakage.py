"""The leakage audit of ``cxml train csat``: survey fields under any name stop training (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import vendor_fixtures
from helpers import run_cli
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import TimeSeriesSplit

from cxml.config import CsatConfig, DataConfig, TicketFeaturesConfig, load_config
from cxml.connectors import import_export
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.data.synth import make_tickets
from cxml.errors import ConfigError
from cxml.training.csat import bad_labels
from cxml.training.leakage import (
    AUDIT_ARTIFACT,
    LeakageAudit,
    LeakageError,
    audit_leakage,
    time_folds,
    univariate_auc,
)

#: Each vendor's post-survey fields, by the column its importer writes them to.
SURVEY_FIELDS = {
    "zendesk": {
        "survey_comment": "satisfaction_rating.comment",
        "rated_at": "satisfaction_rating.updated_at",
    },
    "freshdesk": {"survey_comment": "satisfaction rating feedback", "rated_at": "its created_at"},
    "intercom": {
        "survey_comment": "conversation_rating.remark",
        "rated_at": "conversation_rating.created_at",
    },
}
#: Where a post-survey column could be mapped for the model to read it.
AS_FIELD = [
    ("survey_comment", "text"),
    ("rated_at", "first_response_at"),
    ("rated_at", "solved_at"),
]


def unanswered(tickets: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``tickets`` where 30 % of the solved tickets' surveys went unanswered (no rating, comment
    or rating time), as in a real export."""
    solved = tickets["solved_at"].notna().to_numpy()
    unrated = solved & (np.random.default_rng(seed).random(len(tickets)) < 0.3)
    return tickets.assign(
        **{c: tickets[c].mask(unrated) for c in ("rating", "survey_comment", "rated_at")}
    )


def make_export(n: int = 900, seed: int = 3, *, binary: bool = False) -> pd.DataFrame:
    """Generated tickets as a connector writes them (``status``, ``rated_at``,
    ``survey_comment``), surveys partly unanswered; ``binary``: good / bad ratings and group /
    assignee stations."""
    tickets = make_tickets(n, seed=seed, open_share=0.1, binary_ratings=binary, stations=binary)
    tickets["rated_at"] = tickets["survey_answered_at"]
    tickets["status"] = np.where(tickets["solved_at"].notna(), "solved", "open")
    dropped = ["survey_sent_at", "survey_answered_at", "true_bad_probability"]
    return unanswered(tickets.drop(columns=dropped), seed)


def audit(
    export: pd.DataFrame, columns: dict[str, str], features: TicketFeaturesConfig | None = None
) -> LeakageAudit:
    """Write ``export``, read it through ``columns`` as training does, and audit it."""
    export.to_csv("export.csv", index=False)
    config = DataConfig(columns=columns)
    frame, _, _ = read_valid(Path("export.csv"), TICKETS, config=config, rejects="r.csv")
    rated = frame["rating"].notna().to_numpy()
    bad = bad_labels(frame.loc[rated, "rating"], CsatConfig().labels.bad_ratings)
    return audit_leakage(
        frame, rated, bad, features=features or TicketFeaturesConfig(), columns=columns
    )


def checks(result: LeakageAudit, field: str) -> set[str]:
    return {f.check for f in result.suspects if f.field == field}


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    return make_export()


@pytest.fixture(scope="module", params=sorted(SURVEY_FIELDS))
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, pd.DataFrame]:
    """A generated export of the vendor (``tests/vendor_fixtures.py``) through its importer."""
    vendor: str = request.param
    folder = tmp_path_factory.mktemp(vendor)
    if vendor == "zendesk":
        written = vendor_fixtures.zendesk_export(folder, 600, ratings_file=True)
        files, related = written.pages, written.related
    else:
        make = getattr(vendor_fixtures, f"{vendor}_export")
        written = make(folder, 600)
        files, related = written.files, written.related
    frame = import_export(vendor, files, related=related).frame
    assert frame["survey_comment"].notna().any() and frame["rated_at"].notna().any()
    return vendor, unanswered(frame, seed=5)


def test_univariate_auc_of_a_binary_feature_is_its_plain_auc() -> None:
    """Scored by its bin's bad rate among older rows, a 0/1 feature ranks the newer rows as the
    feature itself does, so the AUC is scikit-learn's on the raw feature."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, 600).astype(float)
    bad = (rng.random(600) < np.where(x == 1, 0.4, 0.1)).astype(int)
    folds = [(np.arange(300), np.arange(300, 600))]
    assert univariate_auc(x, bad, folds) == pytest.approx(roc_auc_score(bad[300:], x[300:]))
    weighted = [(np.arange(200), np.arange(200, 400)), (np.arange(400), np.arange(400, 600))]
    expected = np.mean([roc_auc_score(bad[t], x[t]) for _, t in weighted])
    assert univariate_auc(x, bad, weighted) == pytest.approx(expected)


def test_univariate_auc_bins_missing_values_apart() -> None:
    bad = np.tile([0, 1], 100)
    x = np.where(bad == 1, np.nan, 5.0)  # only bad tickets miss the value
    assert univariate_auc(x, bad, [(np.arange(100), np.arange(100, 200))]) == 1.0


def test_time_folds_learn_from_older_tickets_only() -> None:
    created = pd.Series(pd.date_range("2026-01-01", periods=60, freq="h", tz="UTC"))
    shuffled = created.sample(frac=1, random_state=1).reset_index(drop=True)
    folds = time_folds(shuffled, 5)
    expected = TimeSeriesSplit(n_splits=5).split(np.arange(60))
    for (older, newer), (a, b) in zip(folds, expected, strict=True):
        assert shuffled[older].max() < shuffled[newer].min()
        assert sorted(shuffled[older]) == list(created[a]) and sorted(shuffled[newer]) == list(
            created[b]
        )


@pytest.mark.parametrize(("seed", "binary"), [(1, False), (2, True)], ids=["1-5", "good-bad"])
def test_generated_tickets_never_trip_the_audit(seed: int, binary: bool) -> None:
    plain = make_tickets(
        1500, seed=seed, open_share=0.1, lang="mixed", binary_ratings=binary, stations=binary
    )
    assert audit(plain, {}).findings == []
    result = audit(make_export(1500, seed=seed, binary=binary), {})
    assert result.findings == []
    assert result.fields["solved_at"]["filled_unrated"] == 1.0  # compared with solved tickets
    assert result.fields["text"]["univariate_auc"] < 0.8


def test_a_survey_comment_as_the_text_is_named(export: pd.DataFrame) -> None:
    renamed = export.drop(columns="text").rename(columns={"survey_comment": "remarks"})
    result = audit(renamed, {"text": "remarks"})
    assert checks(result, "text") == {"presence", "univariate_auc"}
    figures = result.fields["text"]
    assert figures["column"] == "remarks" and figures["filled_unrated"] == 0.0
    with pytest.raises(LeakageError) as caught:
        result.refuse("export.csv")
    message = str(caught.value)
    assert "text (column 'remarks')" in message and "--allow-leak text" in message
    assert "0.0% of" in message and "ROC-AUC of 0." in message
    allowed = TicketFeaturesConfig(allow_leaks=["text"])
    let_through = audit(renamed, {"text": "remarks"}, allowed)
    let_through.refuse("export.csv")
    assert let_through.allowed == ["text"] and let_through.tags() == {"cxml.leaks_allowed": "text"}


def test_a_survey_time_as_the_first_response_is_named(export: pd.DataFrame) -> None:
    renamed = export.drop(columns="first_response_at").rename(columns={"rated_at": "answered"})
    result = audit(renamed, {"first_response_at": "answered"})
    assert {"after_solving", "presence"} <= checks(result, "first_response_at")
    assert result.fields["first_response_at"]["after_solving"] == 1.0


def test_a_survey_time_as_the_solve_time_is_named_by_status(export: pd.DataFrame) -> None:
    renamed = export.drop(columns="solved_at").rename(columns={"rated_at": "answered"})
    result = audit(renamed, {"solved_at": "answered"})
    assert checks(result, "solved_at") == {"presence"}
    assert result.fields["solved_at"]["compared_with"] == "unrated solved (by status)"


def test_every_ticket_rated_says_presence_cannot_tell(export: pd.DataFrame) -> None:
    rated = export[export["rating"].notna()].drop(columns="text")
    result = audit(rated.rename(columns={"survey_comment": "remarks"}), {"text": "remarks"})
    assert any(note.startswith("every ticket is rated") for note in result.notes)
    assert "filled_unrated" not in result.fields["text"]
    assert checks(result, "text") == {"univariate_auc"}  # its signal still gives it away


@pytest.mark.parametrize(("column", "field"), AS_FIELD, ids=[f"{c} as {f}" for c, f in AS_FIELD])
def test_each_vendor_survey_field_is_refused_as_a_feature(
    imported: tuple[str, pd.DataFrame], column: str, field: str
) -> None:
    vendor, frame = imported
    result = audit(frame.drop(columns=field), {field: column})
    found = checks(result, field)
    assert "name" in found, f"{vendor} {SURVEY_FIELDS[vendor][column]} as {field}"
    assert found - {"name"}, f"{vendor} {SURVEY_FIELDS[vendor][column]}: the data alone tells"


@pytest.mark.parametrize("column", ["survey_comment", "rated_at"])
@pytest.mark.parametrize("kind", ["categorical", "numeric", "counts"])
def test_survey_columns_declared_as_features_are_config_errors(column: str, kind: str) -> None:
    with pytest.raises(ConfigError, match="only after the customer answered the survey"):
        load_config(CsatConfig, None, [f"features.{kind}=[{column}]"])


@pytest.mark.slow
def test_training_stops_with_exit_2_unless_allowed(export: pd.DataFrame, tmp_path: Path) -> None:
    export.drop(columns="text").to_csv("export.csv", index=False)
    base = ["train", "csat", "--data", "export.csv", "--set", "split.refit=false"]
    refused = run_cli(*base, "--column", "text=survey_comment")
    assert refused.returncode == 2, refused.stderr
    assert "suspected leakage" in refused.stderr and "survey_comment" in refused.stderr
    assert "--allow-leak text" in refused.stderr
    assert not (tmp_path / "mlflow.db").exists()  # stopped before any run started
    Path("leaky.yaml").write_text("data:\n  columns: {text: survey_comment}\n")
    assert run_cli(*base, "--config", "leaky.yaml").returncode == 2
    allowed = run_cli(*base, "--column", "text=survey_comment", "--allow-leak", "text")
    assert allowed.returncode == 0, allowed.stderr
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.search_runs(experiment_names=["cxml-csat"], output_format="list")[0]
    assert run.data.tags["cxml.leaks_allowed"] == "text"
    assert json.loads(run.data.params["features.allow_leaks"]) == ["text"]
    logged = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/{AUDIT_ARTIFACT}")
    assert {(f["field"], f["allowed"]) for f in logged["findings"]} == {("text", True)}
