"""Label Studio: tasks with the models' predictions as pre-annotations, the labelling config
that shows them, and the annotated JSON export read back.

Formats (Label Studio docs, "Import pre-annotated data" and "Label Studio JSON format of annotated
tasks"): a task is ``{"data": {...}, "meta": {...}, "predictions": [{"model_version", "score",
"result": [...]}]}``; a ``choices`` result is ``{"from_name", "to_name", "type": "choices",
"value": {"choices": [...]}}``; an export is a list of tasks, each with ``annotations``
(``completed_by``, ``was_cancelled``, ``result``). Controls: ``sentiment`` (single choice),
``themes`` (multiple) and, shown only when its theme is chosen, one ``theme_sentiment__<theme>``
per theme (:func:`~cxml.labelling.annotations.polarity_name`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

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

__all__ = ["label_config", "read_export", "tasks"]

_TEXT = "text"


def _choices(name: str, values: Sequence[str], *, multiple: bool, extra: str = "") -> list[str]:
    kind = "multiple" if multiple else "single"
    head = f'  <Choices name={quoteattr(name)} toName="{_TEXT}" choice="{kind}" showInline="true"'
    return [
        f"{head}{extra}>",
        *(f"    <Choice value={quoteattr(v)}/>" for v in values),
        "  </Choices>",
    ]


def label_config(themes: Sequence[str] = (), *, sentiment: bool = True) -> str:
    """The labelling config (XML) for comments: overall sentiment, themes, and each chosen
    theme's polarity.

    >>> print(label_config(["delivery"]))  # doctest: +NORMALIZE_WHITESPACE
    <View>
      <Text name="text" value="$text"/>
      <Header value="Overall sentiment"/>
      <Choices name="sentiment" toName="text" choice="single" showInline="true">
        <Choice value="negative"/>
        <Choice value="neutral"/>
        <Choice value="positive"/>
      </Choices>
      <Header value="Themes"/>
      <Choices name="themes" toName="text" choice="multiple" showInline="true">
        <Choice value="delivery"/>
      </Choices>
      <Header value="How does the comment feel about delivery?"/>
      <Choices name="theme_sentiment__delivery" toName="text" choice="single" showInline="true"
        visibleWhen="choice-selected" whenTagName="themes" whenChoiceValue="delivery">
        <Choice value="negative"/>
        <Choice value="neutral"/>
        <Choice value="positive"/>
        <Choice value="conflict"/>
      </Choices>
    </View>
    """
    check_polarity_names(themes)
    lines = ["<View>", f'  <Text name="{_TEXT}" value="${_TEXT}"/>']
    if sentiment:
        lines += ['  <Header value="Overall sentiment"/>']
        lines += _choices("sentiment", SENTIMENTS, multiple=False)
    if themes:
        lines += ['  <Header value="Themes"/>', *_choices("themes", themes, multiple=True)]
    for theme in themes:
        question = quoteattr(f"How does the comment feel about {theme}?")
        when = (
            '\n    visibleWhen="choice-selected" whenTagName="themes" '
            f"whenChoiceValue={quoteattr(theme)}"
        )
        lines += [f"  <Header value={question}/>"]
        lines += _choices(polarity_name(theme), THEME_POLARITIES, multiple=False, extra=when)
    return "\n".join([*lines, "</View>"]) + "\n"


def _result(name: str, choices: list[str], score: float | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": name,
        "from_name": name,
        "to_name": _TEXT,
        "type": "choices",
        "value": {"choices": choices},
    }
    if score is not None:
        result["score"] = round(float(score), 4)
    return result


def _predictions(row: pd.Series) -> list[dict[str, Any]]:
    results = []
    if isinstance(row.get("sentiment"), str):
        proba = row.get("sentiment_proba") or {}
        results.append(_result("sentiment", [row["sentiment"]], proba.get(row["sentiment"])))
    themes = row.get("themes")
    if isinstance(themes, list) and themes:
        scores = row.get("theme_scores") or {}
        results.append(_result("themes", list(themes)))
        for theme, polarity in (row.get("theme_sentiment") or {}).items():
            results.append(_result(polarity_name(theme), [polarity], scores.get(theme)))
    return results


def tasks(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One Label Studio task per selected comment (:class:`~cxml.labelling.select.Selection`
    rows): ``data`` (``text``, ``id``, ``lang``), ``meta`` (``rank``, ``uncertainty``) and the
    models' answers as one prediction (``score`` = the models' confidence)."""
    out = []
    for _, row in rows.iterrows():
        data = {"text": row["text"], "id": str(row["id"])}
        if isinstance(row.get("lang"), str):
            data["lang"] = row["lang"]
        task: dict[str, Any] = {
            "data": data,
            "meta": {"rank": int(row["rank"]), "uncertainty": float(row["uncertainty"])},
        }
        results = _predictions(row)
        if results:
            task["predictions"] = [
                {
                    "model_version": str(row["model_version"]),
                    "score": round(float(row["confidence"]), 4),
                    "result": results,
                }
            ]
        out.append(task)
    return out


def _annotator(annotation: dict[str, Any]) -> str | None:
    """``completed_by``: a user id, or (some exports) an object with ``id`` / ``email``."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return None if who is None or isinstance(who, bool) else str(who)


def _annotation(annotation: Any, index: int) -> tuple[Annotation | None, str]:
    """One annotation's answers, or ``(None, "field: reason")``; cancelled ones are
    ``(None, "")``."""
    where = f"annotations[{index}]"
    if not isinstance(annotation, dict):
        return None, f"{where}: not an object"
    if annotation.get("was_cancelled"):
        return None, ""
    who = _annotator(annotation)
    if who is None:
        return None, f"{where}.completed_by: missing"
    results = annotation.get("result")
    if not isinstance(results, list):
        return None, f"{where}.result: missing or not a list"
    answer = Annotation(annotator=who)
    polarities: dict[str, str] = {}
    for k, result in enumerate(results):
        spot = f"{where}.result[{k}]"
        value = result.get("value") if isinstance(result, dict) else None
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            return None, f"{spot}.value.choices: missing or not a list of labels"
        name = result.get("from_name")
        if name == "sentiment":
            if len(choices) != 1:
                return None, f"{spot}: sentiment needs one choice, got {choices}"
            answer.sentiment = choices[0]
        elif name == "themes":
            answer.themes = sorted(set(choices))
        elif isinstance(name, str) and name.startswith(polarity_name("")):
            if len(choices) != 1:
                return None, f"{spot}: {name} needs one choice, got {choices}"
            polarities[name] = choices[0]
        else:
            return None, f"{spot}.from_name: unknown control {name!r}"
    # a polarity counts for a theme the annotator chose (a hidden control may keep an old answer)
    answer.theme_sentiment = {
        t: polarities[polarity_name(t)]
        for t in answer.themes or []
        if polarity_name(t) in polarities
    }
    return answer, ""


def read_export(paths: Sequence[Path], summary: ImportSummary) -> list[Item]:
    """The items of Label Studio JSON exports (a list of tasks each), every one either returned
    or rejected in ``summary`` with its file, item number, field and reason.

    A task must have ``data.id`` and ``data.text``; an id already read (in any of the files) is
    a duplicate task and rejected; cancelled annotations are skipped.
    """
    items: list[Item] = []
    seen: dict[str, str] = {}
    for path in paths:
        tasks_ = load_json(path)
        if not isinstance(tasks_, list):
            raise DataError(f"{path}: not a Label Studio JSON export (expected a list of tasks)")
        file_items: list[Item] = []
        for number, task in enumerate(tasks_, start=1):
            summary.items += 1
            item = _item(path, number, task, summary, seen)
            if item is not None:
                file_items.append(item)
        none_chosen_is_none(file_items)
        items += file_items
    return items


def _item(
    path: Path, number: int, task: Any, summary: ImportSummary, seen: dict[str, str]
) -> Item | None:
    source = f"{path.name}:{number}"
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        summary.reject(str(path), number, None, "data", "missing or not an object")
        return None
    text = data.get("text")
    id_ = summary.identify(
        path, number, data.get("id"), text, seen, fields=("data.id", "data.text"), kind="task"
    )
    if id_ is None:
        return None
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        summary.reject(str(path), number, id_, "annotations", "not a list")
        return None
    answers: dict[str, Annotation] = {}
    for index, raw in enumerate(annotations):
        answer, problem = _annotation(raw, index)
        problem = problem or (check_answer(answer) if answer is not None else None) or ""
        if problem:
            summary.reject(str(path), number, id_, problem.split(":")[0], problem)
            return None
        if answer is not None:
            answers[answer.annotator] = answer  # an annotator's later annotation replaces theirs
    seen[id_] = source
    lang = data.get("lang") if isinstance(data.get("lang"), str) else None
    return Item(
        id=id_, text=str(text), source=source, lang=lang, annotations=list(answers.values())
    )
