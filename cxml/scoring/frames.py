"""The Python API for notebooks: score DataFrames with the registered models.

    >>> import cxml
    >>> scored = cxml.analyze_comments(comments_df)        # doctest: +SKIP
    >>> at_risk = cxml.score_tickets(tickets_df)           # doctest: +SKIP

Rows go through the same validation, models and input shaping as batch files, so every path
gives the same scores for the same rows. The result keeps the caller's index (and adds no ``id``
column the caller did not have). Rows that fail validation are left out of the result, with a
warning; ``result.attrs["rejects"]`` lists them (records with the row number from 1, the index
label ``_index``, field, reason and raw row; plain Python values, so pandas operations on the
result keep working). Rows in a language a model never saw are scored, with a warning that
``result.attrs["notes"]`` keeps (:mod:`cxml.scoring.languages`). A frame without rows, or
whose rows are all rejected, gives a result without rows that has every output column.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from cxml.config import DataConfig
from cxml.contracts.fields import COMMENTS, TICKETS, Schema
from cxml.contracts.tickets import ticket_inputs
from cxml.contracts.times import parse_instant
from cxml.data.io import ROW
from cxml.data.validate import Validator
from cxml.monitoring.log import PredictionLog
from cxml.scoring.batch import (
    COMMENT_INPUTS,
    load_comment_models,
    load_ticket_model,
    model_inputs,
    score_frame,
)
from cxml.scoring.languages import lang_counts, unseen_lang_notes
from cxml.tracking.loader import LoadedModel

__all__ = ["analyze_comments", "score_tickets"]


def _validated(
    frame: pd.DataFrame,
    schema: Schema,
    config: DataConfig | None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    config = config or DataConfig()
    validator = Validator(
        schema,
        source="(DataFrame)",
        columns=config.columns,
        max_text_chars=config.max_text_chars,
        dayfirst=config.dayfirst,
        as_of=as_of,
    )
    numbered = frame.reset_index(drop=True).assign(**{ROW: range(1, len(frame) + 1)})
    good, rejected = validator.validate(numbered)
    if len(rejected):
        warnings.warn(
            f"{len(rejected)} of {len(frame)} rows were left out ({validator.summary.describe()}); "
            'see result.attrs["rejects"]',
            stacklevel=3,
        )
    flags = dict(validator.summary.flags)
    if flags:
        found = ", ".join(f"{count} {flag}" for flag, count in flags.items())
        warnings.warn(
            f"times out of order ({found}): their durations are treated as missing; "
            'see result.attrs["flags"]',
            stacklevel=3,
        )
    labels = frame.index.tolist()
    rejects = rejected.to_dict(orient="records")
    for record in rejects:
        record["_index"] = labels[record[ROW] - 1]
    if config.columns.get(schema.id_field, schema.id_field) not in frame.columns:
        good = good.drop(columns=schema.id_field)  # generated row-N ids, not the caller's
    good.index = frame.index[good[ROW].to_numpy(dtype=int) - 1]
    good.attrs["rejects"] = rejects
    good.attrs["flags"] = flags
    return good


def _log(
    prediction_log: PredictionLog,
    scored: pd.DataFrame,
    loaded: list[LoadedModel],
    inputs: pd.DataFrame,
    id_field: str,
    moment: pd.Timestamp | None = None,
) -> None:
    """Append scored rows to the prediction log (ids: the caller's, else none)."""
    ids = scored[id_field].tolist() if id_field in scored else [None] * len(scored)
    prediction_log.append_scored(scored, loaded, inputs, ids, source="python", scored_at=moment)


def analyze_comments(
    comments: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    config: DataConfig | None = None,
    log: str | None = None,
    evidence: bool = False,
) -> pd.DataFrame:
    """Add ``sentiment``, ``sentiment_score``, ``themes``, ``theme_scores``, ``theme_sentiment``.

    Parameters
    ----------
    comments : DataFrame
        A ``text`` column (or one mapped in ``config.columns``), optional ``id`` and ``lang``.
    models : sequence of str, default=None
        Model URIs; None means the champions of ``cxml-sentiment`` and ``cxml-themes``.
    config : DataConfig, default=None
        Column mapping and text limit.
    log : str, default=None
        A prediction log (folder or fsspec URL) that gets the scored rows (``source="python"``;
        see :class:`~cxml.monitoring.log.PredictionLog`).
    evidence : bool, default=False
        Add ``evidence``: per comment, prediction -> the spans of its text behind it
        (:mod:`cxml.comments.evidence`).
    """
    prediction_log = PredictionLog(log) if log else None
    good = _validated(comments, COMMENTS, config)
    loaded = load_comment_models(models)
    out = score_frame(good, loaded, COMMENT_INPUTS, evidence=evidence)
    if prediction_log is not None:
        _log(prediction_log, out, loaded, model_inputs(good, COMMENT_INPUTS), COMMENTS.id_field)
    out.attrs["rejects"] = good.attrs["rejects"]
    out.attrs["notes"] = unseen_lang_notes(lang_counts(good), loaded)
    for note in out.attrs["notes"]:
        warnings.warn(note, stacklevel=2)
    return out


def score_tickets(
    tickets: pd.DataFrame,
    *,
    model: str | None = None,
    as_of: pd.Timestamp | str | None = None,
    config: DataConfig | None = None,
    log: str | None = None,
) -> pd.DataFrame:
    """Add ``bad_rating_probability``, ``at_risk`` and ``reasons`` to each ticket.

    Parameters
    ----------
    tickets : DataFrame
        Tickets in the canonical schema (or mapped with ``config.columns``).
    model : str, default=None
        Model URI; None means the ``cxml-csat`` champion.
    as_of : Timestamp or str, default=None
        The scoring moment of open tickets (default: now); ISO 8601 text or a datetime, UTC
        when it has no offset (:func:`cxml.contracts.times.parse_instant`).
    config : DataConfig, default=None
        Column mapping and date reading.
    log : str, default=None
        A prediction log (folder or fsspec URL) that gets the scored rows (``source="python"``,
        scored at ``as_of``; see :class:`~cxml.monitoring.log.PredictionLog`).

    Returns
    -------
    DataFrame
        The tickets with the outputs; ``attrs["rejects"]`` lists the rows left out and
        ``attrs["flags"]`` counts kept rows whose times are out of order (a reply or solve
        before creation, a creation after ``as_of``), whose durations are treated as missing.
    """
    moment = pd.Timestamp.now(tz="UTC") if as_of is None else parse_instant(as_of, name="as_of")
    prediction_log = PredictionLog(log) if log else None
    good = _validated(tickets, TICKETS, config, moment)
    loaded = [load_ticket_model(model)]
    out = score_frame(good, loaded, lambda f: ticket_inputs(f, moment))
    if prediction_log is not None:
        inputs = ticket_inputs(good, moment)
        _log(prediction_log, out, loaded, inputs, TICKETS.id_field, moment)
    out.attrs["rejects"] = good.attrs["rejects"]
    out.attrs["flags"] = good.attrs["flags"]
    return out
