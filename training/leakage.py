"""The leakage audit ``cxml train csat`` runs before fitting: is a feature a trace of the survey?

The config refuses feature columns named like the survey (:func:`cxml.config.is_post_survey`).
This audit reads the training file, rated and unrated rows, so it also finds a survey field under
another name: a survey comment mapped as the text, a survey date mapped as ``first_response_at``.
For every field the model reads (the text, the categorical, count and numeric columns, the times
behind the durations and the calendar) it checks:

``name``
    the field is mapped from a column named like the survey (``data.columns: {text:
    survey_comment}``): the config's rule, applied to the column mapping;
``presence``
    filled on rated tickets but almost never on unrated ones (at most :data:`PRESENCE_RATIO` of
    the rated share). A field a ticket has from its creation is compared with every unrated
    ticket, ``first_response_at`` with the unrated solved ones (``solved_at`` or a ``status`` in
    :data:`SOLVED_STATUSES`), ``solved_at`` with the unrated ones whose ``status`` says solved (a
    survey goes to solved tickets only). Needs :data:`MIN_COMPARED` such tickets;
``after_solving``
    a time (``created_at``, ``first_response_at``) later than ``solved_at`` on more than
    :data:`AFTER_SOLVING_SHARE` of the rows that have both;
``univariate_auc``
    alone, it predicts a bad rating implausibly well: a time-ordered out-of-fold ROC-AUC
    (:func:`univariate_auc`) above :data:`MAX_UNIVARIATE_AUC`; for the text (:func:`text_auc`,
    on the tickets that have one: a comment left on a third of them carries its signal there)
    above :data:`MAX_TEXT_AUC`.

A finding on a field listed in ``features.allow_leaks`` is kept, marked allowed; any other stops
training with :class:`LeakageError` (exit code 2). ``docs/leakage.md`` says how the thresholds
were measured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import TimeSeriesSplit

from cxml.catalog import backends
from cxml.config import TicketFeaturesConfig, is_post_survey
from cxml.contracts.times import utc_ns
from cxml.errors import BadInputError
from cxml.tickets.features import TEXT_SCORE, TicketFeaturizer

__all__ = [
    "AFTER_SOLVING_SHARE",
    "AUDIT_ARTIFACT",
    "MAX_TEXT_AUC",
    "MAX_UNIVARIATE_AUC",
    "PRESENCE_RATIO",
    "Finding",
    "LeakageAudit",
    "LeakageError",
    "audit_leakage",
    "read_fields",
    "text_auc",
    "time_folds",
    "univariate_auc",
]

Check = Literal["name", "presence", "after_solving", "univariate_auc"]

#: A field filled on unrated tickets at most this share of its fill on rated ones is suspect.
PRESENCE_RATIO = 0.1
#: ``status`` values of a solved ticket (as the connectors write them).
SOLVED_STATUSES = ("solved", "closed", "resolved")
#: Fewest unrated tickets (or rows with both times) a comparison needs.
MIN_COMPARED = 30
#: Fewest rated tickets with a value before presence means anything.
MIN_FILLED = 10
#: A time later than ``solved_at`` on more than this share of rows is suspect.
AFTER_SOLVING_SHARE = 0.5
#: A field that alone reaches a larger time-ordered ROC-AUC is suspect (measured: docs/leakage.md).
MAX_UNIVARIATE_AUC = 0.85
#: The same for the text, measured on the tickets that have one.
MAX_TEXT_AUC = 0.80
#: Expanding-window folds of the univariate check.
FOLDS = 5
#: Where the audit goes in the training run.
AUDIT_ARTIFACT = "data/leakage_audit.json"

#: Model features made from a field of another name.
_SOURCES = {
    "first_response_hours": "first_response_at",
    "hours_open": "solved_at",
    "created_hour": "created_at",
    "created_weekday": "created_at",
    "out_of_hours": "created_at",
    "ping_pong": "reassignments",
}
_TIMES = ("created_at", "first_response_at", "solved_at")
_MAX_LEVELS = 64
_QUANTILE_BINS = 20
_PRIOR_WEIGHT = 20.0


@dataclass(frozen=True)
class Finding:
    """One suspected leak: ``field`` failed ``check`` (``value`` against ``threshold``)."""

    field: str
    check: Check
    value: float
    threshold: float
    reason: str
    allowed: bool = False


@dataclass
class LeakageAudit:
    """What :func:`audit_leakage` measured and found.

    Attributes
    ----------
    fields : dict of str to dict
        Per field the model reads: its column in the file and each check's figure (``filled_rated``,
        ``filled_unrated``, ``unrated_compared``, ``after_solving``, ``univariate_auc``).
    findings : list of Finding
        Suspected leaks, allowed or not.
    notes : list of str
        Checks that could not run, and why.
    """

    fields: dict[str, dict[str, Any]]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def suspects(self) -> list[Finding]:
        """The findings not allowed by ``features.allow_leaks``."""
        return [f for f in self.findings if not f.allowed]

    @property
    def allowed(self) -> list[str]:
        """Fields with a finding that ``features.allow_leaks`` let through."""
        return sorted({f.field for f in self.findings if f.allowed})

    def as_dict(self) -> dict[str, Any]:
        """The audit as JSON-ready data (logged as :data:`AUDIT_ARTIFACT`)."""
        return {
            "thresholds": {
                "presence_ratio": PRESENCE_RATIO,
                "after_solving_share": AFTER_SOLVING_SHARE,
                "max_univariate_auc": MAX_UNIVARIATE_AUC,
                "max_text_auc": MAX_TEXT_AUC,
                "min_compared": MIN_COMPARED,
            },
            "fields": self.fields,
            "findings": [asdict(f) for f in self.findings],
            "allowed": self.allowed,
            "notes": self.notes,
        }

    def tags(self) -> dict[str, str]:
        """Run tags: ``cxml.leaks_allowed`` names the fields let through despite a finding."""
        return {"cxml.leaks_allowed": ",".join(self.allowed)} if self.allowed else {}

    def refuse(self, source: object) -> None:
        """Raise :class:`LeakageError` when a finding is not allowed."""
        if self.suspects:
            raise LeakageError(source, self.suspects, self.fields)


class LeakageError(BadInputError):
    """Training stopped: a feature looks like a trace of the survey answer (exit code 2)."""

    def __init__(
        self, source: object, findings: list[Finding], fields: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.findings = findings
        lines = [
            f"{source}: suspected leakage; training stopped before fitting. Each field below "
            "looks like a trace of the survey answer, which an open ticket does not have yet:"
        ]
        for finding in findings:
            column = fields.get(finding.field, {}).get("column")
            where = f" (column {column!r})" if column and column != finding.field else ""
            lines.append(f"  - {finding.field}{where}: {finding.reason}")
        names = sorted({f.field for f in findings})
        lines.append(
            "Map each to a column known while the ticket is open, or leave it out of features; "
            "if you are sure it is known before the survey, allow it explicitly: "
            + " ".join(f"--allow-leak {n}" for n in names)
            + f" (or add {', '.join(names)} to features.allow_leaks). See docs/leakage.md."
        )
        super().__init__("\n".join(lines))


def read_fields(features: TicketFeaturesConfig) -> list[str]:
    """The fields the ticket model reads, as ``features`` declares them.

    >>> read_fields(TicketFeaturesConfig(counts=[], categorical=["channel"], text=None))
    ['created_at', 'first_response_at', 'solved_at', 'channel']
    """
    names = [*_TIMES] if features.durations else []
    if features.calendar:
        names.append("created_at")
    names += [*features.counts, *features.categorical, *features.numeric]
    if features.text is not None:
        names.append("text")
    return list(dict.fromkeys(names))


def time_folds(created: pd.Series, folds: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds in time order: positions of the older tickets to learn from and of
    the next block to score (scikit-learn's ``TimeSeriesSplit`` over the rows by ``created_at``).

    >>> created = pd.Series(["2026-03-04", "2026-03-01", "2026-03-03", "2026-03-02"])
    >>> [(a.tolist(), b.tolist()) for a, b in time_folds(created, 3)]
    [([1], [3]), ([1, 3], [2]), ([1, 3, 2], [0])]
    """
    order = np.argsort(utc_ns(created), kind="stable")
    return [(order[a], order[b]) for a, b in TimeSeriesSplit(n_splits=folds).split(order)]


def _fold_auc(
    bad: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> float:
    """Mean ROC-AUC over the folds whose blocks hold both labels, weighted by their rows."""
    aucs, rows = [], []
    for train, test in folds:
        if len(np.unique(bad[train])) < 2 or len(np.unique(bad[test])) < 2:
            continue
        aucs.append(roc_auc_score(bad[test], score(train, test)))
        rows.append(len(test))
    return float(np.average(aucs, weights=rows)) if aucs else float("nan")


def _bins(train: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin numbers of ``train`` and ``values``: each level of ``train`` when it has few, else
    quantile bins of it; missing values get the last bin."""
    known = train[~np.isnan(train)]
    edges = np.unique(known)
    exact = len(edges) <= _MAX_LEVELS
    if not exact:
        edges = np.unique(np.quantile(known, np.linspace(0, 1, _QUANTILE_BINS + 1)[1:-1]))
    missing = len(edges) + 1
    side: Literal["left", "right"] = "left" if exact else "right"
    out = []
    for x in (train, values):
        bins = np.searchsorted(edges, x, side=side)
        bins[np.isnan(x)] = missing
        out.append(bins)
    return out[0], out[1], missing + 1


def univariate_auc(
    values: np.ndarray, bad: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float:
    """ROC-AUC of one numeric feature alone, out of fold: each block is scored by the bad rate of
    its value's bin among the older tickets (each level when there are at most 64, else 20
    quantile bins; missing is a bin; rates shrunk to the older tickets' rate by 20 tickets).

    >>> bad = np.tile([0, 1], 50)
    >>> folds = [(np.arange(50), np.arange(50, 100))]
    >>> univariate_auc(bad.astype(float), bad, folds), univariate_auc(np.zeros(100), bad, folds)
    (1.0, 0.5)
    """
    x = np.asarray(values, dtype=np.float64)

    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        fitted, scored, n = _bins(x[train], x[test])
        prior = bad[train].mean()
        seen = np.bincount(fitted, minlength=n)
        rated_bad = np.bincount(fitted, weights=bad[train], minlength=n)
        return ((rated_bad + _PRIOR_WEIGHT * prior) / (seen + _PRIOR_WEIGHT))[scored]

    return _fold_auc(bad, folds, score)


def text_auc(
    texts: list[str],
    bad: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    random_state: int | None = None,
) -> float:
    """ROC-AUC of the text alone, out of fold, scored by the default ticket text model
    (:class:`~cxml.config.TicketFeaturesConfig`'s ``text``: word TF-IDF and a linear model) fitted
    on the older tickets. A fixed instrument, whatever the configured text model, so the
    threshold means the same for every config."""
    text = TicketFeaturesConfig().text
    assert text is not None
    entry = backends.get(text.backend)
    data = np.asarray(texts, dtype=object)

    def score(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = entry.build(text.params, random_state=random_state)
        model.fit(list(data[train]), bad[train])
        return np.asarray(model.predict_proba(list(data[test]))[:, 1])

    return _fold_auc(bad, folds, score)


def _filled(values: pd.Series) -> np.ndarray:
    """Whether each value is there (not missing, not blank text)."""
    filled = values.notna()
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        filled &= values.astype(str).str.strip().ne("")
    return filled.to_numpy(dtype=bool, copy=True)


def _said_solved(frame: pd.DataFrame) -> np.ndarray:
    """Tickets whose ``status`` (as the connectors write it) says they are solved."""
    if "status" not in frame:
        return np.zeros(len(frame), dtype=bool)
    status = frame["status"].astype(str).str.strip().str.lower()
    return status.isin(SOLVED_STATUSES).to_numpy(dtype=bool, copy=True)


def _presence(frame: pd.DataFrame, rated: np.ndarray, name: str) -> dict[str, Any] | str:
    """The presence figures of ``name``, or why they cannot tell."""
    unrated = ~rated
    kind = "unrated"
    if name == "solved_at":  # a survey goes to solved tickets only: compare with solved ones
        unrated &= _said_solved(frame)
        kind = "unrated solved (by status)"
    elif name == "first_response_at":
        solved = _said_solved(frame)
        if "solved_at" in frame:
            solved |= _filled(frame["solved_at"])
        unrated &= solved
        kind = "unrated solved"
    compared = int(unrated.sum())
    if compared < MIN_COMPARED:
        return f"{name}: presence not compared ({compared} {kind} tickets, under {MIN_COMPARED})"
    filled = _filled(frame[name])
    return {
        "filled_rated": float(filled[rated].mean()),
        "filled_unrated": float(filled[unrated].mean()),
        "filled_rated_rows": int(filled[rated].sum()),
        "unrated_compared": compared,
        "compared_with": kind,
    }


def _presence_finding(name: str, figures: Mapping[str, Any], rated: int) -> Finding | None:
    on_rated, on_unrated = figures["filled_rated"], figures["filled_unrated"]
    if figures["filled_rated_rows"] < MIN_FILLED or on_unrated > PRESENCE_RATIO * on_rated:
        return None
    ratio = on_unrated / on_rated
    return Finding(
        name,
        "presence",
        ratio,
        PRESENCE_RATIO,
        f"filled on {on_rated:.1%} of {rated:,} rated tickets but {on_unrated:.1%} of "
        f"{figures['unrated_compared']:,} {figures['compared_with']} ones: its presence follows "
        "the survey "
        f"(suspect at {PRESENCE_RATIO:.0%} of the rated share or less)",
    )


def _after_solving(frame: pd.DataFrame, name: str) -> tuple[float, int]:
    """Share of rows whose ``name`` is later than ``solved_at``, and how many rows have both."""
    times, solved = utc_ns(frame[name]), utc_ns(frame["solved_at"])
    both = ~np.isnat(times) & ~np.isnat(solved)
    n = int(both.sum())
    return (float(np.mean(times[both] > solved[both])) if n else 0.0), n


def _univariate(
    frame: pd.DataFrame,
    bad: np.ndarray,
    features: TicketFeaturesConfig,
    random_state: int | None,
) -> dict[str, tuple[float, str]]:
    """Per field, the largest univariate time-ordered AUC of the model features made from it (the
    text's on the tickets that have one)."""
    folds = time_folds(frame["created_at"])
    plain = TicketFeaturizer(features.model_copy(update={"text": None}), random_state=random_state)
    built = plain.fit_transform(frame, bad)
    matrix = plain.matrix(built)
    best: dict[str, tuple[float, str]] = {}
    scores = [
        (name, univariate_auc(matrix[:, i], bad, folds))
        for i, name in enumerate(plain.feature_names_out_)
    ]
    if features.text is not None and "text" in frame:
        filled = _filled(frame["text"])
        texts = frame.loc[filled, "text"].astype(str).tolist()
        on_filled = time_folds(frame.loc[filled, "created_at"])
        auc = text_auc(texts, bad[filled], on_filled, random_state=random_state)
        scores.append((TEXT_SCORE, auc))
    for name, auc in scores:
        source = "text" if name == TEXT_SCORE else _SOURCES.get(name, name)
        if np.isfinite(auc) and auc > best.get(source, (-1.0, ""))[0]:
            best[source] = (auc, name)
    return best


def audit_leakage(
    frame: pd.DataFrame,
    rated: np.ndarray,
    bad: np.ndarray,
    *,
    features: TicketFeaturesConfig,
    columns: Mapping[str, str] | None = None,
    random_state: int | None = None,
) -> LeakageAudit:
    """Audit the fields ``features`` reads for traces of the survey.

    Parameters
    ----------
    frame : DataFrame
        Every valid row of the training file, rated and unrated, with fields mapped.
    rated : ndarray of bool, shape (n_rows,)
        Which rows have a rating.
    bad : ndarray of int, shape (n_rated,)
        1 where a rated row's rating is bad, in the order of the rated rows.
    features : TicketFeaturesConfig
        What the model reads; ``allow_leaks`` marks findings allowed.
    columns : mapping of str to str, default=None
        ``data.columns``: the file's column behind each field (named in findings).
    random_state : int, default=None
        Seed of the text model of the univariate check.

    Returns
    -------
    LeakageAudit
        Call :meth:`LeakageAudit.refuse` to stop on findings that are not allowed.
    """
    rated = np.asarray(rated, dtype=bool)
    columns = dict(columns or {})
    names = [n for n in read_fields(features) if n in frame]
    audit = LeakageAudit({n: {"column": columns.get(n, n)} for n in names})
    findings: list[Finding] = []
    n_rated = int(rated.sum())
    if not (~rated).any():
        audit.notes.append(
            "every ticket is rated: whether a field is filled only on rated tickets cannot be "
            "checked (a survey comment mapped as the text is found only by its name or by how "
            "well it predicts)"
        )
    for name in names:
        column = columns.get(name, name)
        if name in columns and is_post_survey(column):
            findings.append(
                Finding(
                    name,
                    "name",
                    1.0,
                    1.0,
                    f"mapped from {column!r}, a column named like a survey field",
                )
            )
        if (~rated).any():
            presence = _presence(frame, rated, name)
            if isinstance(presence, str):
                audit.notes.append(presence)
            else:
                audit.fields[name].update(presence)
                found = _presence_finding(name, presence, n_rated)
                findings += [found] if found else []
        if name in ("created_at", "first_response_at") and "solved_at" in frame:
            share, both = _after_solving(frame, name)
            if both:
                audit.fields[name]["after_solving"] = share
            if both >= MIN_COMPARED and share > AFTER_SOLVING_SHARE:
                findings.append(
                    Finding(
                        name,
                        "after_solving",
                        share,
                        AFTER_SOLVING_SHARE,
                        f"later than solved_at on {share:.1%} of {both:,} tickets with both "
                        f"(suspect above {AFTER_SOLVING_SHARE:.0%}): a time after solving is "
                        "likely the survey's",
                    )
                )
    for name, (auc, feature) in _univariate(
        frame[rated].reset_index(drop=True), bad, features, random_state
    ).items():
        if name not in audit.fields:
            continue
        audit.fields[name].update(univariate_auc=auc, univariate_feature=feature)
        limit = MAX_TEXT_AUC if name == "text" else MAX_UNIVARIATE_AUC
        if auc > limit:
            alone = f"as {feature}, " if feature not in (name, TEXT_SCORE) else ""
            on = " on the tickets that have one" if name == "text" else ""
            findings.append(
                Finding(
                    name,
                    "univariate_auc",
                    auc,
                    limit,
                    f"{alone}alone predicts a bad rating with a time-ordered out-of-fold ROC-AUC "
                    f"of {auc:.3f}{on} (suspect above {limit}): implausibly well for what is "
                    "known while a ticket is open",
                )
            )
    allow = set(features.allow_leaks)
    audit.findings = [
        Finding(f.field, f.check, f.value, f.threshold, f.reason, f.field in allow)
        for f in findings
    ]
    return audit
