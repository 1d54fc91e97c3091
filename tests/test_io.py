"""Readers (CSV, JSON Lines, Parquet, Excel), encoding detection and atomic writers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxml.data import TableWriter, iter_table, read_table, write_table
from cxml.data.io import count_rows, detect_encoding, table_schema, write_text
from cxml.errors import DataError

ROWS = pd.DataFrame(
    {
        "id": ["a1", "a2", "a3"],
        "text": ["Quick refund, thanks", "환불이 너무 늦어요", 'He said "fine", then left'],
        "rating": [5, 1, 3],
    }
)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_round_trip_every_format(suffix: str) -> None:
    path = write_table(ROWS, f"t{suffix}")
    frame, rejects = read_table(path)
    assert rejects == []
    assert frame["_row"].tolist() == [1, 2, 3]
    assert frame["text"].tolist() == ROWS["text"].tolist()
    assert [str(v) for v in frame["id"]] == ROWS["id"].tolist()


def test_nested_cells_survive_every_format() -> None:
    nested = pd.DataFrame(
        {"themes": [["delivery", "price_value"], []], "scores": [{"a": 0.5}, {"b": 0.25}]}
    )
    for suffix in (".jsonl", ".parquet"):
        frame, _ = read_table(write_table(nested, f"n{suffix}"))
        assert list(frame["themes"][0]) == ["delivery", "price_value"]
        assert dict(frame["scores"][1]) == {"b": 0.25}
    frame, _ = read_table(write_table(nested, "n.csv"))
    assert json.loads(frame["themes"][0]) == ["delivery", "price_value"]


@pytest.mark.parametrize(
    ("encoding", "expected", "fallback"),
    [
        ("utf-8", "utf-8", False),
        ("utf-8-sig", "utf-8-sig", False),
        ("cp949", "cp949", False),
        ("euc-kr", "cp949", False),
        ("latin-1", "cp1252", True),
    ],
)
def test_detects_encoding(encoding: str, expected: str, fallback: bool, tmp_path: Path) -> None:
    text = "id,text\n1,배송이 빨라서 좋았어요\n" if "k" in encoding or "949" in encoding else ""
    if not text:
        text = "id,text\n1,Très bien merci. Café crème à côté\n"
    if encoding.startswith("utf"):
        text = "id,text\n1,배송이 빨라요 and très bien\n"
    path = tmp_path / "enc.csv"
    path.write_bytes(text.encode(encoding))
    assert detect_encoding(path.read_bytes()) == (expected, fallback)
    frame, rejects = read_table(path)
    assert rejects == []
    assert frame["text"][0] == text.splitlines()[1].split(",", 1)[1]


def test_latin1_fallback_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes("id,text\n1,Crème brûlée was cold\n".encode("latin-1"))
    frame, _ = read_table(path)
    assert frame["text"][0] == "Crème brûlée was cold"
    assert "not UTF-8 or CP949" in caplog.text


def test_wrong_declared_encoding_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes("id,text\n1,환불 문의드립니다\n".encode("cp949"))
    with pytest.raises(DataError, match=r"k\.csv.*not utf-8"):
        read_table(path, encoding="utf-8")


def test_malformed_csv_lines_become_rejects_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        'id,text\n1,fine\n2,"too",many,fields\n3,"bad"quote\n4,also fine\n5,"cut off at the en',
        encoding="utf-8",
    )
    frame, rejects = read_table(path)
    assert frame["text"].tolist() == ["fine", "also fine"]
    assert frame["_row"].tolist() == [1, 4]
    assert [r["_row"] for r in rejects] == [2, 3, 5]
    assert "expected 2 fields, found 4" in rejects[0]["_reason"]
    assert rejects[2]["_raw"].startswith('5,"cut off')


def test_truncated_jsonl_keeps_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "1", "text": "ok"}\n[1, 2]\n{"id": "2", "text": "ok too"}\n{"id": "3", "te'
    )
    frame, rejects = read_table(path)
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["_row"].tolist() == [1, 3]
    assert [(r["_row"], r["_reason"].split(":")[0]) for r in rejects] == [
        (2, "expected a JSON object at line 2, got list"),
        (4, "invalid JSON at line 4"),
    ]


def test_truncated_parquet_is_a_clear_error(tmp_path: Path) -> None:
    path = write_table(ROWS, tmp_path / "p.parquet")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"p\.parquet: not a readable Parquet file"):
        read_table(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "e.csv")
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "data.bin").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        read_table(tmp_path / "data.bin")


def test_duplicate_header_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,text,text\n1,a,b\n")
    with pytest.raises(DataError, match="'text' appears twice"):
        read_table(tmp_path / "d.csv")


def test_chunks_are_bounded_and_numbered(tmp_path: Path) -> None:
    big = pd.DataFrame({"id": [str(i) for i in range(2500)], "text": ["x"] * 2500})
    for suffix in (".csv", ".jsonl", ".parquet"):
        path = write_table(big, tmp_path / f"big{suffix}")
        sizes, rows = [], []
        for chunk in iter_table(path, chunksize=1000):
            sizes.append(len(chunk.frame))
            rows.extend(chunk.frame["_row"])
        assert sizes == [1000, 1000, 500]
        assert rows == list(range(1, 2501))
        assert count_rows(path) == 2500


def test_writer_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), TableWriter(target) as writer:
        writer.write(ROWS)
        raise RuntimeError("crash half-way")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_writer_appends_chunks_and_checks_columns(tmp_path: Path) -> None:
    with TableWriter(tmp_path / "o.parquet") as writer:
        writer.write(ROWS.iloc[:2])
        writer.write(ROWS.iloc[2:])
        with pytest.raises(ValueError, match="differ"):
            writer.write(ROWS[["text"]])
    frame, _ = read_table(tmp_path / "o.parquet")
    assert frame["id"].tolist() == ["a1", "a2", "a3"]
    assert np.issubdtype(frame["rating"].dtype, np.integer)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_detected_by_bom_or_nul_bytes(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes('id,text\n1,"Très bien, 배송이 빨라요"\n2,ok\n'.encode(encoding))
    frame, rejects = read_table(path)
    assert rejects == [] and list(frame.columns) == ["_row", "id", "text"]
    assert frame["text"].tolist() == ["Très bien, 배송이 빨라요", "ok"]


def test_a_stray_quote_loses_one_line_and_the_lines_it_swallowed_are_read_again(
    tmp_path: Path,
) -> None:
    lines = [f"{i},fine {i}" for i in range(1, 2001)]
    lines[10] = '11,"stray quote'
    lines[1500] = '1501,"another'  # closes the first quote: ',' expected after '"'
    path = tmp_path / "q.csv"
    path.write_text("id,text\n" + "\n".join(lines) + "\n", encoding="utf-8")
    frame, rejects = read_table(path, chunksize=500)
    assert [r["_row"] for r in rejects] == [11, 1501]
    assert len(frame) == 1998 and frame["_row"].tolist()[10:12] == [12, 13]
    first, second = rejects[0]["_reason"], rejects[1]["_reason"]
    assert "line 12: a quote opened there swallowed the 1,490 line(s) up to line 1502" in first
    assert rejects[0]["_raw"] == '11,"stray quote'
    assert "line 1502" in second and "unexpected end of data" in second


def test_huge_cells_are_read_not_rejected(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    huge = "slow delivery " * 20_000  # 280 KB, over csv's default limit of 128 KB
    path.write_text(f'id,text\n1,"{huge}"\n2,ok\n', encoding="utf-8")
    frame, rejects = read_table(path)
    assert rejects == [] and frame["text"].tolist() == [huge, "ok"]


def test_blank_lines_are_skipped_and_counted_with_the_lines_read(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("id,text\n1,a\n\n2,b\n\n")
    (tmp_path / "b.jsonl").write_text('{"id": 1}\n\n  \n{"id": 2}\n')
    for name, lines in (("b.csv", 4), ("b.jsonl", 4)):
        chunks = list(iter_table(tmp_path / name))
        assert sum(len(c.frame) for c in chunks) == 2
        assert sum(c.skipped["blank line"] for c in chunks) == 2
        assert sum(c.lines for c in chunks) == lines


def test_lone_surrogates_from_json_escapes_are_read_as_replacement_characters(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "a \\ud800", "tags": ["\\udc00"]}\n{"text": "\\ud83d\\ude00"}\n')
    frame, _ = read_table(path)
    assert frame["text"].tolist() == ["a \ufffd", "\U0001f600"]
    assert list(frame["tags"][0]) == ["\ufffd"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_writers_never_fail_on_lone_surrogates(suffix: str, tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a\ud800", "b"], "tags": [["x\udfff"], []]}, dtype=object)
    frame, _ = read_table(write_table(frame, tmp_path / f"s{suffix}"))
    assert frame["id"].tolist() == ["a\ufffd", "b"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx", ".html"])
def test_outputs_get_the_permissions_of_any_new_file(suffix: str, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        if suffix == ".html":  # reports and taxonomies
            path = write_text(tmp_path / "r.html", "<p>\ud800</p>")
        else:
            path = write_table(ROWS, tmp_path / f"p{suffix}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_failing_close_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_table(ROWS, tmp_path / "o.csv")
    assert list(tmp_path.iterdir()) == []


def test_one_schema_for_chunks_that_differ() -> None:
    chunks = [
        pd.DataFrame({"id": ["1", "2"], "note": [None, None], "n": [1, 2], "mix": [1, 2]}),
        pd.DataFrame({"id": ["3"], "note": ["x"], "new": [0.5], "n": [1.5], "mix": ["a"]}),
        pd.DataFrame({"id": ["4"], "mix": [[1, 2]]}),
    ]
    schema = table_schema(chunks)
    assert schema.names == ["id", "note", "new", "n", "mix"]
    assert [str(t).replace("large_", "") for t in schema.types] == [
        *("string", "string", "double", "double", "string")
    ]
    for suffix in (".parquet", ".jsonl", ".csv"):
        with TableWriter(f"d{suffix}", schema=schema) as writer:
            for chunk in chunks:
                writer.write(chunk)
        frame, _ = read_table(f"d{suffix}")
        assert list(frame.columns) == ["_row", *schema.names]
        assert [None if pd.isna(v) else v for v in frame["note"]] == [None, None, "x", None]
        assert [str(v) for v in frame["mix"]] == ["1", "2", "a", "[1, 2]"]


def test_a_carriage_return_inside_a_cell_reads_back_as_written() -> None:
    frame = pd.DataFrame({"id": ["0\r0", "x"], "text": ["plain", "two\rparts"]})
    write_table(frame, "out.csv")
    assert b'"0\r0"' in Path("out.csv").read_bytes()
    back, rejects = read_table("out.csv")
    assert rejects == []
    assert back[["id", "text"]].values.tolist() == frame.values.tolist()
