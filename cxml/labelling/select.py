"""Pick the comments worth labelling: those the current models are least sure of, spread over
the sentence-vector space so that one batch does not hold twenty copies of the same doubt.

Uncertainty is a number in [0, 1] per comment and model (1 = no idea, 0 = certain):

* sentiment, ``"margin"``: ``1 - (p1 - p2)``, the gap between the two most probable classes;
  ``"entropy"``: the entropy of the class probabilities divided by ``log(n_classes)``;
* themes: per theme, how close its probability is to the theme's decision threshold, on a scale
  that is 1 at the threshold and 0 at 0 or 1 (``1 - 2 |p - 0.5|`` for a threshold of 0.5); a
  comment takes its most doubtful theme.

With several models, a comment's uncertainty is their mean. Diversity: the ``pool_factor * n``
most uncertain comments are the pool; the first pick is the most uncertain, each next one the
pool comment that maximises ``uncertainty x cosine distance to the nearest pick`` (a weighted
farthest-first traversal). Ties go by a hash of the comment id, so the choice is the same for
any row order, with no random numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxml.errors import BadInputError
from cxml.tracking.loader import LoadedModel

__all__ = [
    "Selection",
    "entropy_uncertainty",
    "margin_uncertainty",
    "model_predictions",
    "pick_diverse",
    "select_comments",
    "theme_uncertainty",
]

Strategy = Literal["margin", "entropy"]


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """``1 - (p1 - p2)`` per row: the two most probable classes' gap, reversed.

    >>> margin_uncertainty(np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])).round(3).tolist()
    [0.8, 0.0]
    """
    top = np.sort(np.asarray(proba, dtype=float), axis=1)[:, ::-1]
    second = top[:, 1] if top.shape[1] > 1 else np.zeros(len(top))
    return np.clip(1.0 - (top[:, 0] - second), 0.0, 1.0)


def entropy_uncertainty(proba: np.ndarray) -> np.ndarray:
    """Entropy of each row divided by ``log(n_classes)``: 1 for uniform, 0 for one certain class.

    >>> entropy_uncertainty(np.array([[0.5, 0.5], [1.0, 0.0]])).tolist()
    [1.0, 0.0]
    """
    p = np.asarray(proba, dtype=float)
    if p.shape[1] < 2:
        return np.zeros(len(p))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.clip(terms.sum(axis=1) / np.log(p.shape[1]), 0.0, 1.0)


def theme_uncertainty(proba: np.ndarray, thresholds: np.ndarray | float = 0.5) -> np.ndarray:
    """Per row, the doubt of its most doubtful theme: 1 when a probability sits on its theme's
    threshold, falling linearly to 0 at 0 (below it) or at 1 (above it).

    >>> theme_uncertainty(np.array([[0.5, 0.9], [0.1, 0.95]])).round(3).tolist()
    [1.0, 0.2]
    >>> theme_uncertainty(np.array([[0.3]]), np.array([0.2])).round(3).tolist()
    [0.875]
    """
    p = np.asarray(proba, dtype=float)
    if p.size == 0:
        return np.zeros(len(p))
    t = np.broadcast_to(np.clip(np.asarray(thresholds, dtype=float), 1e-9, 1 - 1e-9), p.shape)
    scale = np.where(p < t, t, 1.0 - t)
    return np.clip(1.0 - np.abs(p - t) / scale, 0.0, 1.0).max(axis=1)


def _tiebreak(ids: Sequence[str]) -> np.ndarray:
    """A number per id from its hash: the order of ties that does not depend on row order."""
    return np.array([int(hashlib.sha1(str(i).encode()).hexdigest()[:12], 16) for i in ids])


def pick_diverse(
    uncertainty: np.ndarray,
    vectors: np.ndarray,
    n: int,
    *,
    ids: Sequence[str] | None = None,
    pool_factor: int = 5,
) -> np.ndarray:
    """Row indices of ``n`` uncertain and mutually distant rows, in the order they were picked.

    Parameters
    ----------
    uncertainty : ndarray of shape (n_rows,)
        Each row's uncertainty in [0, 1].
    vectors : ndarray of shape (n_rows, dim)
        Sentence vectors (cosine distance; need not be normalised).
    n : int
        How many rows to pick (all of them when there are fewer).
    ids : sequence of str, default=None
        Row ids, to break ties the same way whatever the row order (default: the row number).
    pool_factor : int, default=5
        The pool is the ``pool_factor * n`` most uncertain rows; 1 means uncertainty alone.

    Examples
    --------
    Two near-identical uncertain rows and a distant, slightly less uncertain one: the second
    pick is the distant one.

    >>> vectors = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    >>> pick_diverse(np.array([0.9, 0.9, 0.8]), vectors, 2, ids=["a", "b", "c"]).tolist()
    [0, 2]
    """
    u = np.asarray(uncertainty, dtype=float)
    keys = _tiebreak(ids if ids is not None else [str(i) for i in range(len(u))])
    order = np.lexsort((keys, -u))  # most uncertain first, ties by id hash
    pool = order[: min(len(u), max(n, pool_factor * n))]
    if len(pool) == 0 or n <= 0:
        return np.zeros(0, dtype=int)
    v = np.asarray(vectors, dtype=float)[pool]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    picked = [0]
    nearest = 1.0 - v @ v[0]  # cosine distance of each pool row to its nearest pick
    while len(picked) < min(n, len(pool)):
        gain = u[pool] * np.clip(nearest, 0.0, None)
        gain[picked] = -1.0
        best = int(np.argmax(gain))  # first maximum: pool order already breaks ties
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - v @ v[best])
    return pool[np.array(picked)]


def _inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in ("text", "lang") if c in frame]].reset_index(drop=True)


def _sentiment(model: LoadedModel, frame: pd.DataFrame, strategy: Strategy) -> pd.DataFrame:
    estimator = model.estimator
    if estimator is None or not hasattr(estimator, "predict_proba"):
        raise BadInputError(
            f"model {model.uri!r} does not give class probabilities (not a cxml sentiment model)"
        )
    proba = np.asarray(estimator.predict_proba(frame["text"].tolist()), dtype=float)
    classes = [str(c) for c in estimator.classes_]
    doubt = margin_uncertainty(proba) if strategy == "margin" else entropy_uncertainty(proba)
    return pd.DataFrame(
        {
            "sentiment": [classes[i] for i in proba.argmax(axis=1)],
            "sentiment_proba": [
                dict(zip(classes, r.round(4).tolist(), strict=True)) for r in proba
            ],
            "uncertainty": doubt,
        }
    )


def _themes(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    out = model.predict(_inputs(frame)).reset_index(drop=True)
    estimator = model.estimator
    classifier = getattr(estimator, "themes", estimator)
    names = [str(c) for c in getattr(classifier, "classes_", [])]
    if not names:  # not a cxml model: the themes its scores name
        names = sorted({k for scores in out["theme_scores"] for k in scores})
    thresholds = np.asarray(getattr(classifier, "thresholds_", np.full(len(names), 0.5)))
    proba = np.array([[float(s.get(k, 0.0)) for k in names] for s in out["theme_scores"]])
    proba = proba.reshape(len(out), len(names))
    return pd.DataFrame(
        {
            "themes": out["themes"].map(list),
            "theme_scores": out["theme_scores"],
            "theme_sentiment": out.get("theme_sentiment", pd.Series([{}] * len(out))),
            "uncertainty": theme_uncertainty(proba, thresholds),
        }
    )


def model_predictions(
    models: Sequence[LoadedModel], frame: pd.DataFrame, *, strategy: Strategy = "margin"
) -> pd.DataFrame:
    """What the models say of each comment, and how unsure they are.

    Returns one row per row of ``frame`` (which has ``text`` and optionally ``lang``): for a
    sentiment model ``sentiment`` and ``sentiment_proba`` (class -> probability), for a themes
    model ``themes``, ``theme_scores`` and ``theme_sentiment``; ``uncertainty`` (the mean over
    the models), ``confidence`` (``1 - uncertainty``) and ``model_version`` (``name/version``
    of each model, ``+``-joined).
    """
    if not models:
        raise BadInputError("no model to select comments with")
    parts, doubts = [], []
    for model in models:
        if model.task == "sentiment":
            part = _sentiment(model, frame, strategy)
        elif model.task == "themes":
            part = _themes(model, frame)
        else:
            raise BadInputError(f"model {model.uri!r} is a {model.task!r} model, not a comment one")
        doubts.append(part.pop("uncertainty").to_numpy())
        parts.append(part)
    out = pd.concat(parts, axis=1)
    out = out.loc[:, ~out.columns.duplicated()]
    out["uncertainty"] = np.mean(doubts, axis=0).round(6)
    out["confidence"] = (1.0 - out["uncertainty"]).round(6)
    out["model_version"] = "+".join(f"{m.name}/{m.version}" for m in models)
    return out


@dataclass
class Selection:
    """The comments picked for labelling and how they were picked.

    Attributes
    ----------
    rows : DataFrame
        ``id``, ``text``, ``lang`` (when known), ``rank`` (1 = picked first), the models'
        predictions (:func:`model_predictions`), in pick order.
    candidates : int
        Rows that could be picked (read, less excluded and repeated ids).
    excluded : int
        Rows left out because their id is already labelled.
    repeated : int
        Rows left out because an earlier row had the same id.
    """

    rows: pd.DataFrame
    candidates: int
    excluded: int
    repeated: int


def select_comments(
    frame: pd.DataFrame,
    models: Sequence[LoadedModel],
    n: int,
    *,
    exclude: Iterable[Any] = (),
    vectors: np.ndarray | None = None,
    encoder: str = "use",
    strategy: Strategy = "margin",
    pool_factor: int = 5,
) -> Selection:
    """Pick ``n`` comments of ``frame`` (``id``, ``text``, optional ``lang``) to label.

    Parameters
    ----------
    frame : DataFrame
        Validated comments; ids are compared as text.
    models : sequence of LoadedModel
        Sentiment and / or themes models (see :func:`model_predictions`).
    n : int
        How many to pick.
    exclude : iterable, default=()
        Ids already labelled: never picked.
    vectors : ndarray of shape (n_rows, dim), default=None
        Sentence vectors of ``frame``'s rows; None encodes the texts with ``encoder``.
    encoder : str, default="use"
        Sentence encoder (:func:`cxml.text.encoders.encode`) when ``vectors`` is None.
    strategy : {"margin", "entropy"}, default="margin"
        Sentiment uncertainty.
    pool_factor : int, default=5
        See :func:`pick_diverse`.
    """
    if n < 1:
        raise BadInputError(f"n must be at least 1, got {n}")
    ids = frame["id"].astype(str).reset_index(drop=True)
    done = {str(i) for i in exclude}
    excluded = ids.isin(done).to_numpy()
    repeated = ids.duplicated().to_numpy() & ~excluded
    keep = ~(excluded | repeated)
    rows = frame.reset_index(drop=True)[keep].reset_index(drop=True)
    rows["id"] = rows["id"].astype(str)
    if len(rows) == 0:
        picked_rows = rows.assign(rank=pd.Series(dtype=int))
        return Selection(picked_rows, 0, int(excluded.sum()), int(repeated.sum()))
    if vectors is None:
        from cxml.text.encoders import encode

        vectors = encode(rows["text"].tolist(), encoder)
    else:
        vectors = np.asarray(vectors)[keep]
    predicted = model_predictions(models, rows, strategy=strategy)
    order = pick_diverse(
        predicted["uncertainty"].to_numpy(),
        vectors,
        n,
        ids=rows["id"].tolist(),
        pool_factor=pool_factor,
    )
    base = rows[[c for c in ("id", "text", "lang") if c in rows]].iloc[order]
    chosen = pd.concat(
        [base.reset_index(drop=True), predicted.iloc[order].reset_index(drop=True)], axis=1
    )
    chosen.insert(3 if "lang" in chosen else 2, "rank", np.arange(1, len(chosen) + 1))
    return Selection(chosen, len(rows), int(excluded.sum()), int(repeated.sum()))
