"""Survey responses in: Qualtrics' three header rows, choice text or recode values, NPS and
CSAT, time zones, encodings, and the generic one-header survey file."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_fixtures import assert_imported, qualtrics_export, survey_csv

from cxml.connectors import import_export
from cxml.connectors.qualtrics import CSAT_LABELS
from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid
from cxml.errors import BadInputError, DataError


def _line_of(path: Path, needle: str, encoding: str = "utf-8") -> int:
    text = path.read_text(encoding=encoding)
    return text[: text.index(needle)].count("\n") + 1


def test_a_choice_text_export_gives_back_every_answer(tmp_path: Path) -> None:
    export = qualtrics_export(tmp_path, 30, zone="America/Denver")
    result = import_export("qualtrics", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    summary = result.summary
    assert (summary.read, summary.imported, summary.deleted, summary.rejected) == (33, 30, 1, 2)
    assert summary.balanced and summary.notes["survey previews, tests and spam dropped"] == 1
    path = export.files[0]
    rejects = result.rejects.set_index("_line")
    assert (
        rejects.loc[_line_of(path, "R_empty"), "_reason"] == "no answer: neither text nor a score"
    )
    reason = rejects.loc[_line_of(path, "R_scores"), "_reason"]
    assert reason.startswith("no answer text") and "nps 10" in reason
    assert list(result.frame.columns[:4]) == ["id", "text", "lang", "rating"]


def test_recode_values_in_a_utf16_tsv_need_the_csat_order(tmp_path: Path) -> None:
    export = qualtrics_export(tmp_path, 20, numeric=True, tsv=True, encoding="utf-16")
    result = import_export("qualtrics", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)  # 1 = Extremely satisfied read as 5
    assert result.summary.rejected == 2 and result.summary.deleted == 1
    fields = {k: v for k, v in export.fields.items() if k != "csat_order"}
    with pytest.raises(BadInputError, match="csat_order=best-first or worst-first"):
        import_export("qualtrics", export.files, fields=fields)
    worst_first = import_export(
        "qualtrics", export.files, fields=fields | {"csat_order": "worst-first"}
    )
    flipped = worst_first.frame.set_index("id")["csat"]
    assert (flipped + export.truth.set_index("id")["csat"] == 6).all()


def test_a_cp1252_export_is_detected_and_read(tmp_path: Path) -> None:
    export = qualtrics_export(tmp_path, 10, encoding="cp1252", zone="Asia/Seoul")
    result = import_export("qualtrics", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    assert "café à 5€" in result.frame["text"].iloc[0]


@pytest.mark.parametrize(
    ("answer", "target", "score"),
    [("10 - Extremely likely", "nps", 10), ("0 - Not at all likely", "nps", 0), ("7", "nps", 7),
     ("Very satisfied", "csat", 5), ("Neither satisfied nor dissatisfied", "csat", 3),
     ("Extremely dissatisfied", "rating", 1), ("4.0", "csat", 4), ("-99", "nps", None)],
)  # fmt: skip
def test_scores_from_choice_text_or_numbers(
    tmp_path: Path, answer: str, target: str, score: int | None
) -> None:
    path = tmp_path / "s.csv"
    pd.DataFrame({"id": ["a"], "text": ["ok"], "score": [answer]}).to_csv(path, index=False)
    result = import_export("qualtrics", [path], fields={target: "score"})
    assert result.summary.rejected == 0
    value = result.frame[target].iloc[0]
    assert (None if pd.isna(value) else int(value)) == score


@pytest.mark.parametrize(
    ("answer", "target"),
    [("11", "nps"), ("3.5", "nps"), ("Very satisfied", "nps"), ("0", "csat"), ("6", "csat"),
     ("great", "rating"), ("-1", "rating")],
)  # fmt: skip
def test_scores_off_their_scale_are_rejected(tmp_path: Path, answer: str, target: str) -> None:
    path = tmp_path / "s.csv"
    pd.DataFrame({"id": ["a"], "text": ["ok"], "score": [answer]}).to_csv(path, index=False)
    result = import_export("qualtrics", [path], fields={target: "score"})
    assert list(result.rejects["_field"]) == [target] and result.frame.empty


def test_csat_labels_are_ordered_from_dissatisfied_to_satisfied() -> None:
    assert CSAT_LABELS["extremely satisfied"] == CSAT_LABELS["very satisfied"] == 5
    assert CSAT_LABELS["extremely dissatisfied"] == CSAT_LABELS["very dissatisfied"] == 1
    assert all((v >= 4) == (" dis" not in f" {k}" and k != "neutral" and "neither" not in k)
               for k, v in CSAT_LABELS.items())  # fmt: skip


def _three_rows(path: Path, rows: list[list[str]], zone: str = "America/Denver") -> Path:
    header = [
        ["RecordedDate", "ResponseId", "Q1", "Q2_TEXT"],
        ["Recorded Date", "Response ID", "How likely are you to recommend us?", "Why?"],
        [f'{{"ImportId":"recordedDate","timeZone":"{zone}"}}', '{"ImportId":"_recordId"}',
         '{"ImportId":"QID1"}', '{"ImportId":"QID2_TEXT"}'],
    ]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(header + rows)
    return path


def test_response_dates_move_from_the_exports_zone_to_utc(tmp_path: Path) -> None:
    path = _three_rows(
        tmp_path / "r.csv",
        [["2026-01-15 08:00:00", "R_1", "9", "fine"],
         ["2026-07-15 08:00:00", "R_2", "9", "fine"],
         ["2026-03-08 02:30:00", "R_3", "9", "in the gap"],
         ["2026-11-01 01:30:00", "R_4", "9", "twice"],
         ["2026-07-15 08:00:00+02:00", "R_5", "9", "own offset"]],
    )  # fmt: skip
    result = import_export("qualtrics", [path], fields={"nps": "QID1"})  # text: the only one
    times = result.frame.set_index("id")["created_at"].to_dict()
    assert times == {"R_1": "2026-01-15T15:00:00+00:00", "R_2": "2026-07-15T14:00:00+00:00",
                     "R_5": "2026-07-15T06:00:00+00:00"}  # fmt: skip
    assert list(result.rejects["_line"]) == [6, 7]
    assert set(result.rejects["_field"]) == {"created_at"}


def test_questions_are_found_by_id_text_or_the_start_of_their_text(tmp_path: Path) -> None:
    path = _three_rows(tmp_path / "r.csv", [["2026-01-15 08:00:00", "R_1", "9", "fine"]])
    for source in ("QID1", "qid1", "Q1", "How likely are you to recommend us?", "How likely..."):
        result = import_export("qualtrics", [path], fields={"nps": source, "text": "QID2"})
        assert result.frame["nps"].tolist() == [9], source
    with pytest.raises(BadInputError, match=r"names no column.*Q2_TEXT \(QID2_TEXT\)"):
        import_export("qualtrics", [path], fields={"nps": "QID9"})
    with pytest.raises(BadInputError, match="matches several columns"):
        import_export("qualtrics", [path], fields={"nps": "R..."})
    with pytest.raises(BadInputError, match="--field rating=nps or --field rating=csat"):
        import_export("qualtrics", [path], fields={"nps": "QID1", "csat": "Q1"})
    with pytest.raises(BadInputError, match="--field segment"):
        import_export("qualtrics", [path], fields={"segment": "Q1"})


def test_a_survey_without_a_text_column_says_how_to_name_one(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    pd.DataFrame({"respondent": ["a"], "score": [3]}).to_csv(path, index=False)
    with pytest.raises(BadInputError, match="--field text="):
        import_export("qualtrics", [path], fields={"rating": "score"})


def test_the_generic_survey_shape_takes_its_own_column_names(tmp_path: Path) -> None:
    export = survey_csv(tmp_path, 15)
    result = import_export("qualtrics", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    assert result.summary.notes == {}  # the times carried their offset
    naive = tmp_path / "naive.csv"
    pd.DataFrame(
        {"id": ["a", "b"], "text": ["x", "y"], "created_at": ["2026-01-01 10:00"] * 2}
    ).to_csv(naive, index=False)
    result = import_export("qualtrics", [naive])
    assert result.frame["created_at"].tolist() == ["2026-01-01T10:00:00+00:00"] * 2
    assert sum(v for k, v in result.summary.notes.items() if "read as UTC" in k) == 2
    result = import_export("qualtrics", [naive], fields={"time_zone": "Asia/Seoul"})
    assert result.frame["created_at"].tolist() == ["2026-01-01T01:00:00+00:00"] * 2


#: Cells an import takes, and cells that reject their row (by column).
_GOOD = {
    "id": ["a", "b", "c", ""],
    "text": ["late", "café €", 'say "hi"', "two\nlines", ",", "x\x00y"],
    "rating": ["", "0", "10", "7 - ok", "Very satisfied", "-99", "5.0"],
    "created_at": ["", "2026-03-02 09:15:00", "2026-03-02T09:15:00+09:00"],
}
_BAD = {
    "text": ["", " ", "\x00", "\u200b", "-99"],
    "rating": ["11", "-1", "x", "3.5", "Very happy"],
    "created_at": ["2026-02-30 00:00", "1500-01-01", "12345", "not a date"],
}
#: A good row, and maybe the one column that spoils it with its bad cell.
_ROWS = st.tuples(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _GOOD.items()}),
    st.none()
    | st.sampled_from(sorted(_BAD)).flatmap(
        lambda k: st.tuples(st.just(k), st.sampled_from(_BAD[k]))
    ),
)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    rows=st.lists(_ROWS, min_size=1, max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
    qualtrics=st.booleans(),
)
def test_hostile_survey_rows_are_imported_or_rejected_and_the_counts_add_up(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[dict[str, str], tuple[str, str] | None]],
    encoding: str,
    qualtrics: bool,
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "survey.csv"
    lines = [list(_GOOD)]
    if qualtrics:
        lines.append(["Response ID", "Why?", "How satisfied?", "Recorded Date"])
        ids = ["_recordId", "QID2_TEXT", "QID1", 'recordedDate","timeZone":"UTC']
        lines.append([f'{{"ImportId":"{i}"}}' for i in ids])
    for cells, spoiled in rows:
        values = cells | dict([spoiled] if spoiled else [])
        lines.append([values[k] for k in _GOOD])
    with path.open("w", encoding=encoding, errors="replace", newline="") as fh:
        csv.writer(fh).writerows(lines)
    fields = {"rating": "QID1" if qualtrics else "rating"}
    try:
        result = import_export("qualtrics", [path], fields=fields)
    except DataError as exc:
        assert str(path) in str(exc)
        return
    summary = result.summary
    assert summary.balanced and summary.read == len(rows)
    assert summary.rejected == len(result.rejects) == sum(summary.reasons.values())
    assert list(result.rejects["_field"]) == [spoiled[0] for _, spoiled in rows if spoiled]
    assert summary.imported == len({c["id"] or i for i, (c, s) in enumerate(rows) if s is None})
    if len(result.frame):
        written, _ = result.write(folder / "out.csv")
        _, check, _ = read_valid(written, COMMENTS)
        assert check.good == len(result.frame), check.describe()


def test_the_cli_imports_a_qualtrics_export_that_data_validate_accepts(tmp_path: Path) -> None:
    export = qualtrics_export(tmp_path / "export", 20)
    args = ["data", "import", "qualtrics", str(export.files[0]), "--out", "comments.csv"]
    for name, source in export.fields.items():
        args += ["--field", f"{name}={source}"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "23 records: 20 imported, 0 older versions superseded, 1 deleted, 2 rejected" in shown
    done = run_cli("data", "validate", "comments.csv", "--kind", "comments")
    assert done.returncode == 0, done.stderr
    assert "20 rows: 20 good, 0 rejected" in done.stdout + done.stderr
    assert pd.read_csv("comments.csv")["nps"].between(0, 10).all()
