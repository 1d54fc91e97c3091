"""The connectors' core: JSON pages of any saved shape, and imports whose counts add up."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.connectors import import_export
from cxml.connectors.pages import read_pages
from cxml.connectors.result import Collector, Where
from cxml.errors import BadInputError, DataError


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_saved_page_gives_its_records_and_what_came_beside_them(tmp_path: Path) -> None:
    body = {"tickets": [{"id": 1}, {"id": 2}], "metric_sets": [{"ticket_id": 1}], "count": 2}
    path = _write(tmp_path / "page.json", json.dumps(body, indent=2))
    [page] = list(read_pages(path, ["tickets", "results"]))
    assert page.records == [{"id": 1}, {"id": 2}]
    assert page.extra == {"metric_sets": [{"ticket_id": 1}], "count": 2}
    assert page.where == Where(str(path), 1)


def test_an_array_and_a_single_object_are_pages_too(tmp_path: Path) -> None:
    array = _write(tmp_path / "a.json", json.dumps([{"id": 1}, {"id": 2}]))
    single = _write(tmp_path / "s.json", json.dumps({"id": 3}))
    assert [p.records for p in read_pages(array, ["tickets"])] == [[{"id": 1}, {"id": 2}]]
    assert [p.records for p in read_pages(single, ["tickets"])] == [[{"id": 3}]]


def test_json_lines_mix_records_pages_blank_and_broken_lines(tmp_path: Path) -> None:
    lines = ['{"id": 1}', "", '{"tickets": [{"id": 2}, {"id": 3}]}', "{not json", "[1, 2]"]
    path = _write(tmp_path / "t.jsonl", "\n".join(lines) + "\n")
    pages = list(read_pages(path, ["tickets"]))
    assert [p.where.line for p in pages] == [1, 3, 4, 5]
    assert [p.records for p in pages[:2]] == [[{"id": 1}], [{"id": 2}, {"id": 3}]]
    assert "not JSON" in pages[2].error and pages[2].records == ["{not json"]
    assert pages[3].records == [1, 2] and not pages[3].error


def test_a_utf16_page_with_bom_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.json", "\ufeff" + json.dumps({"tickets": [{"id": "é"}]}), "utf-16")
    assert next(read_pages(path, ["tickets"])).records == [{"id": "é"}]


@pytest.mark.parametrize(
    ("text", "where"),
    [('{\n  "tickets": [\n    {"id": 1},\n  ]\n}', "line 4"), ("   \n", "empty")],
)
def test_a_file_that_is_no_json_stops_naming_the_line(
    tmp_path: Path, text: str, where: str
) -> None:
    path = _write(tmp_path / "bad.json", text)
    with pytest.raises(DataError, match=where) as raised:
        list(read_pages(path, ["tickets"]))
    assert str(path) in str(raised.value)


def test_the_latest_version_wins_and_deleted_ids_are_dropped() -> None:
    collector = Collector("zendesk", "tickets", [Path("x.json")])
    collector.read(6)
    collector.add("1", "2026-01-02", {"ticket_id": "1", "priority": "low"})
    collector.add("1", "2026-01-01", {"ticket_id": "1", "priority": "high"})  # older: superseded
    collector.add("2", "2026-01-01", {"ticket_id": "2", "priority": "high"})
    collector.delete("2", "2026-01-03")
    collector.add("3", None, {"ticket_id": "3"})
    collector.reject(Where("x.json", 1, 4), "created_at", "not a time", {"id": 4})
    result = collector.result()
    assert result.frame["ticket_id"].tolist() == ["1", "3"]
    assert result.frame["priority"].tolist()[0] == "low"
    summary = result.summary
    assert (summary.imported, summary.superseded, summary.deleted, summary.rejected) == (2, 2, 1, 1)
    assert summary.balanced
    assert result.rejects.iloc[0].to_dict() == {
        "_file": "x.json",
        "_line": 1,
        "_record": 4,
        "_field": "created_at",
        "_reason": "not a time",
        "_raw": "{'id': 4}",
    }
    assert "priority" in summary.found and "text" in summary.missing


def test_a_deleted_ticket_restored_later_is_kept() -> None:
    collector = Collector("zendesk", "tickets", [])
    collector.read(2)
    collector.delete("7", 1)
    collector.add("7", 2, {"ticket_id": "7"})
    summary = collector.result().summary
    assert (summary.imported, summary.deleted, summary.superseded) == (1, 0, 1)


_ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete", "reject"]),
        st.integers(0, 5),
        st.none() | st.integers(0, 3),
    ),
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(_ACTIONS)
def test_every_record_read_lands_in_exactly_one_count(actions: list[tuple[str, int, int]]) -> None:
    collector = Collector("zendesk", "tickets", [])
    for action, key, version in actions:
        collector.read()
        if action == "add":
            collector.add(key, version, {"ticket_id": str(key), "replies": version})
        elif action == "delete":
            collector.delete(key, version)
        else:
            collector.reject(Where("f", 1), "id", "no id", key)
    result = collector.result()
    assert result.summary.balanced
    assert len(result.frame) == result.summary.imported
    assert result.frame["ticket_id"].is_unique
    assert len(result.rejects) == result.summary.rejected


def test_write_puts_rejects_beside_the_output_and_never_over_the_input(tmp_path: Path) -> None:
    source = _write(tmp_path / "export.json", "{}")
    collector = Collector("zendesk", "tickets", [source])
    collector.read(2)
    collector.add("1", None, {"ticket_id": "1", "created_at": "2026-01-01T00:00:00+00:00"})
    collector.reject(Where(str(source), 1), "id", "no id", "{}")
    result = collector.result()
    out, rejects = result.write(tmp_path / "tickets.csv")
    assert pd.read_csv(out)["ticket_id"].tolist() == [1]
    assert rejects == tmp_path / "tickets.csv.rejects.csv"
    assert pd.read_csv(rejects)["_reason"].tolist() == ["no id"]
    with pytest.raises(BadInputError, match="same file"):
        result.write(source)
    assert source.read_text() == "{}"


def test_an_unknown_vendor_is_refused_by_name() -> None:
    with pytest.raises(BadInputError, match="unknown export 'hubspot'"):
        import_export("hubspot", ["x.json"])
