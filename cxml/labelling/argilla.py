"""Argilla (v2): records with the models' answers as suggestions, the dataset settings they need,
and annotated records read back.

A record is what ``rg.Record.to_dict()`` gives and ``rg.Record.from_dict()`` takes (and what
``dataset.records.to_json(path)`` writes, a list of them): ``{"id", "fields", "metadata",
"suggestions": {question: {"value", "score", "agent"}}, "responses": {question: [{"value",
"user_id"}]}, "vectors"}``. Questions: ``sentiment`` (label), ``themes`` (multi-label), one
``theme_sentiment__<theme>`` (label) per theme (:func:`~cxml.labelling.annotations.polarity_name`).
Responses whose ``status`` is ``discarded`` or ``draft`` are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.errors import DataError
from cxml.labelling.annotations import (
    Annotation,
    ImportSummary,
    Item,
    check_answer,
    check_polarity_names,
    load_json,
    none_chosen_is_none,
    polarity_name,
)

__all__ = ["read_export", "records", "settings"]

_SKIPPED = ("discarded", "draft")


def settings(themes: Sequence[str] = (), *, sentiment: bool = True) -> dict[str, Any]:
    """The dataset's fields, questions and metadata, one JSON object (``type`` names the
    ``rg`` class: ``text`` TextField, ``label`` LabelQuestion, ``multi_label``
    MultiLabelQuestion, ``integer`` / ``float`` / ``terms`` metadata properties).

    >>> [q["name"] for q in settings(["delivery"])["questions"]]
    ['sentiment', 'themes', 'theme_sentiment__delivery']
    """
    check_polarity_names(themes)
    questions: list[dict[str, Any]] = []
    if sentiment:
        questions.append(
            {"name": "sentiment", "type": "label", "title": "Overall sentiment",
             "labels": list(SENTIMENTS), "required": False}
        )  # fmt: skip
    if themes:
        questions.append(
            {"name": "themes", "type": "multi_label", "title": "Themes",
             "labels": list(themes), "required": False}
        )  # fmt: skip
    questions += [
        {"name": polarity_name(t), "type": "label", "labels": list(THEME_POLARITIES),
         "title": f"How does the comment feel about {t}? (only if chosen)", "required": False}
        for t in themes
    ]  # fmt: skip
    return {
        "guidelines": "Correct the suggestions: overall sentiment, the themes the comment "
        "mentions, and how it feels about each theme chosen.",
        "fields": [{"name": "text", "type": "text", "title": "Comment", "required": True}],
        "questions": questions,
        "metadata": [
            {"name": "rank", "type": "integer"},
            {"name": "uncertainty", "type": "float"},
            {"name": "lang", "type": "terms"},
        ],
    }


def _suggestions(row: pd.Series) -> dict[str, dict[str, Any]]:
    agent = str(row["model_version"])
    out: dict[str, dict[str, Any]] = {}
    if isinstance(row.get("sentiment"), str):
        proba = row.get("sentiment_proba") or {}
        score = proba.get(row["sentiment"])
        out["sentiment"] = {"value": row["sentiment"], "score": score, "agent": agent}
    themes = row.get("themes")
    if isinstance(themes, list) and themes:
        scores = row.get("theme_scores") or {}
        out["themes"] = {
            "value": list(themes),
            "score": [scores.get(t) for t in themes],
            "agent": agent,
        }
        for theme, polarity in (row.get("theme_sentiment") or {}).items():
            out[polarity_name(theme)] = {"value": polarity, "score": None, "agent": agent}
    return out


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One Argilla record per selected comment (:class:`~cxml.labelling.select.Selection`
    rows), the models' answers as suggestions (``agent`` = the model versions)."""
    out = []
    for _, row in rows.iterrows():
        metadata: dict[str, Any] = {
            "rank": int(row["rank"]),
            "uncertainty": float(row["uncertainty"]),
        }
        if isinstance(row.get("lang"), str):
            metadata["lang"] = row["lang"]
        out.append(
            {
                "id": str(row["id"]),
                "fields": {"text": row["text"]},
                "metadata": metadata,
                "suggestions": _suggestions(row),
                "responses": {},
                "vectors": {},
            }
        )
    return out


def _answers(responses: Any) -> tuple[dict[str, Annotation], str]:
    """Each user's answers, or ``({}, "field: reason")``."""
    if not isinstance(responses, dict):
        return {}, "responses: not an object"
    users: dict[str, Annotation] = {}
    polarities: dict[str, dict[str, str]] = {}
    for question, answers in responses.items():
        if not isinstance(answers, list):
            return {}, f"responses.{question}: not a list"
        for k, answer in enumerate(answers):
            spot = f"responses.{question}[{k}]"
            if not isinstance(answer, dict) or answer.get("user_id") in (None, ""):
                return {}, f"{spot}.user_id: missing"
            if answer.get("status") in _SKIPPED:
                continue
            who, value = str(answer["user_id"]), answer.get("value")
            user = users.setdefault(who, Annotation(annotator=who))
            if question == "themes":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    return {}, f"{spot}.value: themes must be a list of labels"
                user.themes = sorted(set(value))
            elif not isinstance(value, str):
                return {}, f"{spot}.value: expected one label, got {value!r}"
            elif question == "sentiment":
                user.sentiment = value
            elif question.startswith(polarity_name("")):
                polarities.setdefault(who, {})[question] = value
            else:
                return {}, f"responses.{question}: unknown question"
    for who, user in users.items():
        said = polarities.get(who, {})
        user.theme_sentiment = {
            t: said[polarity_name(t)] for t in user.themes or [] if polarity_name(t) in said
        }
    return users, ""


def _item(
    path: Path, number: int, record: Any, summary: ImportSummary, seen: dict[str, str]
) -> Item | None:
    if not isinstance(record, dict):
        summary.reject(str(path), number, None, "record", "not an object")
        return None
    fields = record.get("fields")
    text = fields.get("text") if isinstance(fields, dict) else None
    id_ = summary.identify(
        path, number, record.get("id"), text, seen, fields=("id", "fields.text"), kind="record"
    )
    if id_ is None:
        return None
    users, problem = _answers(record.get("responses") or {})
    problem = problem or next((p for u in users.values() if (p := check_answer(u))), "")
    if problem:
        summary.reject(str(path), number, id_, problem.split(":")[0], problem)
        return None
    seen[id_] = f"{path.name}:{number}"
    metadata = record.get("metadata")
    lang = metadata.get("lang") if isinstance(metadata, dict) else None
    lang = lang if isinstance(lang, str) else None
    return Item(
        id=id_, text=str(text), source=seen[id_], lang=lang, annotations=list(users.values())
    )


def read_export(paths: Sequence[Path], summary: ImportSummary) -> list[Item]:
    """The items of Argilla record exports (a JSON list of records, or a folder holding
    ``records.json`` as ``Dataset.to_disk`` writes), each returned or rejected in ``summary``
    with its file, item number, field and reason; an id already read is a duplicate."""
    items: list[Item] = []
    seen: dict[str, str] = {}
    for given in paths:
        path = given / "records.json" if given.is_dir() else given
        found = load_json(path)
        if not isinstance(found, list):
            raise DataError(f"{path}: not an Argilla records export (expected a list of records)")
        file_items = []
        for number, record in enumerate(found, start=1):
            summary.items += 1
            item = _item(path, number, record, summary, seen)
            if item is not None:
                file_items.append(item)
        none_chosen_is_none(file_items)
        items += file_items
    return items
