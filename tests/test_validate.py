"""Row validation against the data contracts: every bad row named, no good row lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxml.config import DataConfig
from cxml.contracts.fields import COMMENTS, TICKETS
from cxml.data import TableReader, read_valid, write_table
from cxml.errors import BadInputError, ConfigError, DataError


def _read(frame: pd.DataFrame, name: str = "in.csv", **kwargs: object):
    path = write_table(frame, name)
    kwargs.setdefault("rejects", f"{name}.rejects.csv")
    return read_valid(path, COMMENTS, **kwargs)  # type: ignore[arg-type]


def test_good_rows_pass_and_bad_rows_are_rejected_with_row_field_and_reason() -> None:
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "1", "6", "7"],
            "text": ["Great", "", "Fast delivery", "   ", "dup", "환불이 빨라요", "ok"],
            "sentiment": ["positive", "negative", "happy", "neutral", "positive", "positive", None],
            "created_at": ["2026-01-02", "2026-01-03", "yesterday", "2026-01-04", "", "", ""],
        }
    )
    good, summary, rejects = _read(frame)
    assert good["id"].tolist() == ["1", "6", "7"]
    assert good["lang"].tolist() == ["en", "ko", "en"]
    assert summary.rows == 7 and summary.good == 3 and summary.rejected == 4
    assert rejects is not None and rejects.name == "in.csv.rejects.csv"
    table = pd.read_csv(rejects)
    by_row = dict(zip(table["_row"], table["_reason"], strict=True))
    assert by_row[2] == "text: empty text"
    assert "sentiment: 'happy' is not one of negative, neutral, positive" in by_row[3]
    assert "created_at: not a date/time (got 'yesterday'" in by_row[3]
    assert by_row[4] == "text: empty text"
    assert by_row[5] == "id: duplicate id, first seen on row 1"
    assert '"text": "dup"' in table.loc[table["_row"] == 5, "_raw"].item()


def test_required_label_missing_is_rejected_not_dropped() -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "sentiment": ["positive", np.nan]})
    good, _, rejects = _read(frame, require=["sentiment"])
    assert good["text"].tolist() == ["a"]
    assert pd.read_csv(rejects)["_reason"].tolist() == ["sentiment: missing value"]


def test_ids_are_generated_from_row_numbers_when_absent() -> None:
    good, _, _ = _read(pd.DataFrame({"text": ["a", "b"]}))
    assert good["id"].tolist() == ["row-1", "row-2"]


def test_column_mapping_and_missing_mapped_column() -> None:
    frame = pd.DataFrame({"Ticket": ["1"], "Customer Remarks": ["Slow app"]})
    config = DataConfig(columns={"id": "Ticket", "text": "Customer Remarks"})
    good, _, _ = _read(frame, config=config)
    assert good[["id", "text"]].values.tolist() == [["1", "Slow app"]]
    wrong = DataConfig(columns={"text": "Remarks"})
    with pytest.raises(
        DataError, match=r"in\.csv: data\.columns maps 'text' to the column 'Remarks'"
    ):
        _read(frame, config=wrong)


def test_required_field_without_column_names_the_file_and_field() -> None:
    with pytest.raises(DataError, match=r"no column for required field\(s\) \['text'\]"):
        _read(pd.DataFrame({"body": ["x"]}))


def test_unknown_mapped_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown field"):
        TableReader("x.csv", COMMENTS, config=DataConfig(columns={"txt": "Remarks"}))


def test_huge_text_is_truncated_and_counted_not_lost() -> None:
    huge = "slow delivery " * 80_000  # about 1 MB
    good, summary, rejects = _read(pd.DataFrame({"text": [huge, "fine"]}), name="h.jsonl")
    assert len(good) == 2 and rejects is None
    assert len(good["text"][0]) == 20_000
    assert summary.truncated == 1


def test_nan_and_numbers_in_text_fields(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text('{"id": 7, "text": 42}\n{"id": 8, "text": null}\n{"id": 9, "text": "NaN"}\n')
    good, summary, _ = read_valid(path, COMMENTS)
    assert good["id"].tolist() == ["7", "9"]
    assert good["text"].tolist() == ["42", "NaN"]
    assert summary.reasons["text"] == 1


def test_languages_mixed_detected_aliased_or_rejected() -> None:
    frame = pd.DataFrame(
        {
            "text": ["Delivery was late", "배송이 늦었어요", "앱 login 오류", "Ola", "Hi", "Moin"],
            "lang": [None, None, "KOR", "xx", "English", "de-AT"],
        }
    )
    good, _, rejects = _read(frame)
    assert good["lang"].tolist() == ["en", "ko", "ko", "en", "de"]
    assert "unknown language 'xx'" in pd.read_csv(rejects)["_reason"][0]


def test_labels_and_label_maps_parse_from_csv_strings() -> None:
    frame = pd.DataFrame(
        {
            "text": ["a", "b", "c", "d"],
            "themes": ['["delivery", "price_value"]', "delivery;billing_payment", None, "[bad"],
            "theme_sentiment": ['{"delivery": "Negative"}', "", None, '{"x": "great"}'],
        }
    )
    good, _, rejects = _read(frame)
    assert good["themes"][0] == ["delivery", "price_value"]
    assert good["themes"][1] == ["billing_payment", "delivery"]
    assert good["theme_sentiment"][0] == {"delivery": "negative"}
    reason = pd.read_csv(rejects)["_reason"][0]
    assert "themes: not a JSON list" in reason and "theme_sentiment: polarities" in reason


def test_ticket_numbers_and_dates(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "created_at": ["2026-03-01T10:00:00Z", "2026-03-01 11:00", "", "2026-03-01"],
            "replies": ["2", "two", "1", "1.5"],
            "rating": ["5", "4", "3", "9"],
        }
    )
    good, _, rejects = read_valid(write_table(frame, "t.csv"), TICKETS, rejects="r.csv")
    assert good["ticket_id"].tolist() == ["t1"]
    reasons = pd.read_csv(rejects).set_index("_row")["_reason"]
    assert "replies: not a number (got 'two')" in reasons[2]
    assert "created_at: missing value" in reasons[3]
    assert "replies: not a whole number" in reasons[4] and "rating: outside 1..5" in reasons[4]


def test_duplicates_are_found_across_chunks() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c", "a"], "text": ["1", "2", "3", "4"]})
    reader = TableReader(write_table(frame, "d.csv"), COMMENTS, chunksize=2)
    rejected = pd.concat([r for _, r in reader])
    assert rejected["_row"].tolist() == [4]
    assert reader.summary.describe() == "4 rows: 3 good, 1 rejected (id: 1)"


def test_rejects_file_of_an_earlier_run_is_replaced() -> None:
    _read(pd.DataFrame({"text": ["", "ok"]}))
    assert len(pd.read_csv("in.csv.rejects.csv")) == 1
    assert _read(pd.DataFrame({"text": ["fine", "ok"]}))[2] is None
    assert len(pd.read_csv("in.csv.rejects.csv")) == 0  # replaced: it belongs to the last run


def test_odd_unicode_is_cleaned_or_rejected_per_row_as_empty_text() -> None:
    texts = ["ok\x00 fine", "tab\tand\r\nlines", "\u200b \n\ufeff", "\x00\x07", "", "fine \u200d"]
    path = Path("u.jsonl")
    records = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    records.append({"id": "s", "text": "bad \ud800 half", "other": "\udc00"})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    good, summary, rejects = read_valid(path, COMMENTS, rejects="r.csv")
    assert good["text"].tolist() == [
        *("ok fine", "tab\tand\r\nlines", "fine \u200d", "bad \ufffd half")
    ]
    assert good["other"].tolist()[-1] == "\ufffd"
    table = pd.read_csv(rejects)
    assert table["_row"].tolist() == [3, 4, 5] and set(table["_reason"]) == {"text: empty text"}
    assert summary.rows == 7 == summary.good + summary.rejected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("header.csv", "id,text\n"),
        ("blank.csv", "id,text\n\n\n"),
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n \n"),
    ],
)
def test_a_file_without_rows_is_an_error_naming_it(name: str, content: str) -> None:
    Path(name).write_text(content)
    with pytest.raises(DataError, match=rf"{name}: no rows to read"):
        read_valid(name, COMMENTS)


def test_counts_add_up_with_skipped_blank_lines() -> None:
    Path("b.csv").write_text('id,text\n1,a\n\n2,\n3,"x","y"\n\n4,b\n')
    _, summary, _ = read_valid("b.csv", COMMENTS, config=DataConfig(max_lost_share=0.5))
    assert (summary.rows, summary.good, summary.rejected) == (6, 2, 2)
    assert summary.skipped == {"blank line": 2} and (summary.lines, summary.unreadable) == (6, 1)
    assert summary.describe() == (
        "6 rows: 2 good, 2 rejected (text: 1, (record): 1), 2 skipped (blank line: 2)"
    )


def test_more_unreadable_lines_than_allowed_is_an_error_naming_the_lines() -> None:
    lines = [f"{i},text {i}" for i in range(200)]
    lines[50] = '50,"a","b"'
    lines[120] = '120,"bad"quote'
    Path("m.csv").write_text("id,text\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"m\.csv: 2 of 200 lines \(1\.0%\) .* line 52"):
        read_valid("m.csv", COMMENTS, config=DataConfig(max_lost_share=0.005))
    _, summary, _ = read_valid("m.csv", COMMENTS)  # 1 % is allowed by default
    assert summary.unreadable == 2 and summary.good == 198


def test_huge_csv_cells_are_cut_like_json_lines() -> None:
    huge = "slow delivery " * 20_000
    Path("h.csv").write_text(f'id,text\n1,"{huge}"\n2,fine\n')
    good, summary, _ = read_valid("h.csv", COMMENTS, config=DataConfig(max_text_chars=1000))
    assert summary.rejected == 0 and summary.truncated == 1
    assert good["text"].str.len().tolist() == [1000, 4]


def test_reading_writes_nothing_unless_a_rejects_file_is_named() -> None:
    Path("feedback.rejects.csv").write_text("id,text\n1,good\n2,\n3,\n")
    before = Path("feedback.rejects.csv").read_bytes()
    good, summary, rejects = read_valid("feedback.rejects.csv", COMMENTS)
    assert rejects is None and len(good) == 1
    assert [p.name for p in Path.cwd().iterdir()] == ["feedback.rejects.csv"]
    assert Path("feedback.rejects.csv").read_bytes() == before
    assert summary.explain() == [
        "text: 2 rejected, e.g.",
        '  row 2: text: empty text | {"id": "2"}',
        '  row 3: text: empty text | {"id": "3"}',
    ]
    with pytest.raises(BadInputError, match="the rejects file would be the same file as"):
        read_valid("feedback.rejects.csv", COMMENTS, rejects="./feedback.rejects.csv")
    assert Path("feedback.rejects.csv").read_bytes() == before
