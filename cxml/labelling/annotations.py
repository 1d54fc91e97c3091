"""Annotations read back from a labelling tool, whatever the tool: checked, merged across
annotators (majority, or drop what they disagree on), with every conflict and the agreement
reported.

Every item read ends in exactly one count of :class:`ImportSummary`: imported, rejected (with
file, item, field and reason), unlabelled (no usable annotation) or dropped (annotators
disagreed and ``resolve="drop"``).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.errors import BadInputError, DataError
from cxml.labelling.agreement import cohen_kappa, krippendorff_alpha

__all__ = [
    "Annotation",
    "ImportResult",
    "ImportSummary",
    "Item",
    "Resolve",
    "check_answer",
    "check_polarity_names",
    "load_json",
    "none_chosen_is_none",
    "polarity_name",
    "resolve_items",
]

Resolve = Literal["majority", "drop"]

#: The name of the question / control holding the polarity of one theme (tools allow only
#: lower-case letters, digits, ``_`` and ``-`` in names).
_POLARITY_PREFIX = "theme_sentiment__"


def polarity_name(theme: str) -> str:
    """The question name for the polarity of ``theme`` (same in Label Studio and Argilla).

    >>> polarity_name("Delivery & Returns")
    'theme_sentiment__delivery_returns'
    """
    return _POLARITY_PREFIX + re.sub(r"[^a-z0-9]+", "_", theme.lower()).strip("_")


def check_polarity_names(themes: Sequence[str]) -> None:
    """Refuse themes whose polarity questions would share a name."""
    seen: dict[str, str] = {}
    for theme in themes:
        other = seen.setdefault(polarity_name(theme), theme)
        if other != theme:
            raise BadInputError(
                f"themes {other!r} and {theme!r} give the same question name "
                f"{polarity_name(theme)!r}: rename one"
            )


@dataclass
class Annotation:
    """One annotator's answers for one item (None: the question was not answered)."""

    annotator: str
    sentiment: str | None = None
    themes: list[str] | None = None
    theme_sentiment: dict[str, str] = field(default_factory=dict)


@dataclass
class Item:
    """One labelled comment as the tool gives it back."""

    id: str
    text: str
    source: str
    lang: str | None = None
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class ImportSummary:
    """Counts of an import: ``items == imported + rejected + unlabelled + dropped``."""

    items: int = 0
    imported: int = 0
    unlabelled: int = 0
    dropped: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def reject(self, source: str, item: int, id: Any, field_name: str, reason: str) -> None:
        """Record item number ``item`` (from 1) of ``source`` as rejected."""
        self.rejects.append(
            {"_file": source, "_item": item, "id": id, "_field": field_name, "_reason": reason}
        )

    def identify(
        self,
        path: Path,
        number: int,
        id: Any,
        text: Any,
        seen: dict[str, str],
        *,
        fields: tuple[str, str],
        kind: str,
    ) -> str | None:
        """The id of item ``number`` of ``path`` when it has an id and a non-empty text and no
        earlier item (in ``seen``: id -> where) had that id; else None, the item rejected on
        ``fields`` (the id's name, the text's name). ``kind``: what an item is called."""
        id_field, text_field = fields
        if id is None or str(id).strip() == "":
            self.reject(str(path), number, None, id_field, f"missing (not a {kind} cxml wrote?)")
            return None
        if not isinstance(text, str) or not text.strip():
            self.reject(str(path), number, str(id), text_field, "missing or empty")
            return None
        if str(id) in seen:
            self.reject(
                str(path), number, str(id), id_field, f"duplicate {kind}: {seen[str(id)]} has it"
            )
            return None
        return str(id)

    def describe(self) -> str:
        return (
            f"{self.items:,} items read: {self.imported:,} imported, {self.rejected:,} rejected, "
            f"{self.unlabelled:,} without annotation, {self.dropped:,} dropped on conflicts"
        )


@dataclass
class ImportResult:
    """Training rows, conflicts, agreement and counts of an import.

    Attributes
    ----------
    rows : DataFrame
        ``id``, ``text``, ``lang`` (when known), ``sentiment``, ``themes`` (list),
        ``theme_sentiment`` (theme -> polarity), ``annotators`` (how many); a field the
        annotators left or could not settle is missing (NaN / None).
    conflicts : DataFrame
        One row per item and field the annotators disagree on: ``id``, ``field``
        (``sentiment``, ``theme:NAME``, ``theme_sentiment:NAME``), ``answers`` (JSON annotator
        -> value) and ``resolution`` (the value kept, or ``unresolved`` / ``dropped``).
    agreement : DataFrame
        ``field``, ``statistic`` (``cohen_kappa`` with two annotators, else
        ``krippendorff_alpha``), ``value``, ``items`` (with at least two answers),
        ``annotators``.
    summary : ImportSummary
    """

    rows: pd.DataFrame
    conflicts: pd.DataFrame
    agreement: pd.DataFrame
    summary: ImportSummary


def load_json(path: Path) -> Any:
    """The JSON in ``path``; a file that is not JSON is a :class:`DataError` naming line and
    column."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None


def check_answer(annotation: Annotation) -> str | None:
    """Why an annotation's answers are unusable (``field: reason``), or None."""
    if annotation.sentiment is not None and annotation.sentiment not in SENTIMENTS:
        return (
            f"sentiment: unknown label {annotation.sentiment!r} (expected {', '.join(SENTIMENTS)})"
        )
    for theme in annotation.themes or []:
        if not theme.strip():
            return "themes: an empty theme name"
    for theme, polarity in annotation.theme_sentiment.items():
        if polarity not in THEME_POLARITIES:
            return (
                f"theme_sentiment: unknown polarity {polarity!r} for {theme!r} "
                f"(expected {', '.join(THEME_POLARITIES)})"
            )
    return None


def none_chosen_is_none(items: list[Item]) -> None:
    """In a file where themes were asked (someone chose one), an annotator who chose none said
    the comment has none: tools leave an empty multiple choice out of the answer."""
    if any(a.themes is not None for item in items for a in item.annotations):
        for item in items:
            for answer in item.annotations:
                answer.themes = answer.themes if answer.themes is not None else []


def _majority(values: dict[str, Any]) -> tuple[Any, bool]:
    """``(value, agreed)``: the value more than half gave (None if none did), and whether all
    gave the same."""
    counts = Counter(json.dumps(v, sort_keys=True) for v in values.values())
    top, count = counts.most_common(1)[0]
    winner = json.loads(top) if count * 2 > len(values) else None
    return winner, len(counts) == 1


class _Resolver:
    """Settles one item's fields, recording each disagreement."""

    def __init__(self, how: Resolve, conflicts: list[dict[str, Any]]) -> None:
        self.how = how
        self.conflicts = conflicts
        self.disagreed = False

    def settle(self, item: Item, name: str, answers: dict[str, Any]) -> Any:
        if not answers:
            return None
        value, agreed = _majority(answers)
        if agreed:
            return value
        self.disagreed = True
        kept = "dropped" if self.how == "drop" else value if value is not None else "unresolved"
        self.conflicts.append(
            {
                "id": item.id,
                "field": name,
                "answers": json.dumps(answers, sort_keys=True, ensure_ascii=False),
                "resolution": kept if isinstance(kept, str) else json.dumps(kept),
            }
        )
        return value


def _resolve_item(item: Item, resolver: _Resolver) -> dict[str, Any]:
    sentiment = resolver.settle(
        item,
        "sentiment",
        {a.annotator: a.sentiment for a in item.annotations if a.sentiment is not None},
    )
    answered = [a for a in item.annotations if a.themes is not None]
    themes: list[str] | None = None
    if answered:
        named = sorted({t for a in answered for t in a.themes or []})
        themes = [
            t
            for t in named
            if resolver.settle(
                item, f"theme:{t}", {a.annotator: t in (a.themes or []) for a in answered}
            )
        ]
    polarities: dict[str, str] = {}
    for theme in themes or []:
        said = {
            a.annotator: a.theme_sentiment[theme]
            for a in item.annotations
            if theme in a.theme_sentiment
        }
        polarity = resolver.settle(item, f"theme_sentiment:{theme}", said)
        if polarity is not None:
            polarities[theme] = polarity
    return {
        "id": item.id,
        "text": item.text,
        "lang": item.lang,
        "sentiment": sentiment,
        "themes": themes,
        "theme_sentiment": polarities if themes is not None else None,
        "annotators": len({a.annotator for a in item.annotations}),
    }


def _agreement(items: list[Item]) -> pd.DataFrame:
    """Agreement per field: sentiment, each theme's presence, theme polarity (pooled)."""
    annotators = sorted({a.annotator for item in items for a in item.annotations})
    fields: dict[str, list[dict[str, Any]]] = defaultdict(list)
    themes = sorted({t for item in items for a in item.annotations for t in a.themes or []})
    for item in items:
        fields["sentiment"].append({a.annotator: a.sentiment for a in item.annotations})
        answered = [a for a in item.annotations if a.themes is not None]
        for theme in themes:
            fields[f"theme:{theme}"].append(
                {a.annotator: theme in (a.themes or []) for a in answered}
            )
            fields["theme_sentiment"].append(
                {a.annotator: a.theme_sentiment.get(theme) for a in item.annotations}
            )
    rows = []
    for name, units in fields.items():
        table = [[unit.get(who) for who in annotators] for unit in units]
        pairable = sum(sum(v is not None for v in unit) >= 2 for unit in table)
        if len(annotators) == 2:
            both = [(a, b) for a, b in table if a is not None and b is not None]
            value = cohen_kappa([a for a, _ in both], [b for _, b in both])
            statistic = "cohen_kappa"
        else:
            value, statistic = krippendorff_alpha(table), "krippendorff_alpha"
        rows.append(
            {
                "field": name,
                "statistic": statistic,
                "value": round(value, 4) if not np.isnan(value) else value,
                "items": pairable,
                "annotators": len(annotators),
            }
        )
    return pd.DataFrame(rows, columns=["field", "statistic", "value", "items", "annotators"])


def resolve_items(items: list[Item], summary: ImportSummary, how: Resolve) -> ImportResult:
    """Merge each item's annotations into one training row (see :class:`ImportResult`).

    ``how="majority"``: a field takes the value more than half of the annotators who answered
    it gave; without such a value it is left missing (``unresolved``). A theme is kept when
    more than half of those who answered the themes question chose it. ``how="drop"``: an item
    with any disagreement is left out (``summary.dropped``). Conflicts are listed either way.
    """
    if how not in ("majority", "drop"):
        raise BadInputError(f"resolve must be 'majority' or 'drop', got {how!r}")
    conflicts: list[dict[str, Any]] = []
    rows = []
    labelled = [item for item in items if item.annotations]
    summary.unlabelled += len(items) - len(labelled)
    for item in labelled:
        resolver = _Resolver(how, conflicts)
        row = _resolve_item(item, resolver)
        if resolver.disagreed and how == "drop":
            summary.dropped += 1
            continue
        rows.append(row)
    summary.imported += len(rows)
    columns = ["id", "text", "lang", "sentiment", "themes", "theme_sentiment", "annotators"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame["lang"].isna().all():
        frame = frame.drop(columns="lang")
    return ImportResult(
        rows=frame,
        conflicts=pd.DataFrame(conflicts, columns=["id", "field", "answers", "resolution"]),
        agreement=_agreement(labelled),
        summary=summary,
    )
