"""What "normal" looked like for a model: its reference profile, stored with the model version.

Training builds the profile from the held-out evaluation rows as the evaluation model scored them
(honest text scores and probabilities) and logs it as the pyfunc artifact ``reference_profile``
(``artifacts/reference_profile.json`` in the model), so it travels with the registered version;
:func:`load_profile` reads it back for the monitor.

The JSON object (``format`` 1) has the keys ``format``, ``task``, ``rows``, ``created``,
``cxml_version``, ``categories``, ``numbers``, ``predictions``, ``vocabulary``, ``oov``,
``performance``, ``policy`` and ``expected_roc_auc``. A *category part* is
``{"shares": {value: share}, "rows": n}``: the :data:`TOP_CATEGORIES` most frequent values,
the rest as ``"(other)"`` (:func:`fold_categories`), missing as ``"(missing)"``. A *number part*
is ``{"quantiles": [101 floats, 0 to 100 %], "missing_share", "rows", "median", "iqr", "mean",
"std"}`` of the values present (``quantiles`` empty and the figures null when none is).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from cxml._version import __version__
from cxml.contracts.outputs import OUTPUTS, SCORE
from cxml.data.io import write_text
from cxml.errors import ModelLoadError
from cxml.monitoring import drift, estimate
from cxml.monitoring.inputs import DriftInputs
from cxml.tracking import quiet_mlflow, resolve_model_uri

__all__ = [
    "FORMAT",
    "PROFILE_ARTIFACT",
    "PROFILE_FILE",
    "TOP_CATEGORIES",
    "WATCHED_OUTPUTS",
    "ReferenceProfile",
    "build_profile",
    "category_part",
    "fold_categories",
    "load_profile",
    "number_part",
    "output_categories",
]

#: Version of the JSON layout.
FORMAT = 1
#: Name of the profile among the pyfunc's artifacts, and its file.
PROFILE_ARTIFACT = "reference_profile"
PROFILE_FILE = "reference_profile.json"
#: Categories kept by name in a category part; the others are ``"(other)"``.
TOP_CATEGORIES = 30
OTHER = "(other)"
#: A row without any label (a comment with no theme) in :func:`output_categories`.
NONE = "(none)"
#: The vocabulary keeps tokens seen in at least this many rows, at most this many tokens.
MIN_TOKEN_ROWS = 2
MAX_VOCABULARY = 50_000
#: The outputs profiled and watched, by task (scores as numbers, the others as categories;
#: ``reasons`` quote durations, ``theme_scores`` repeat ``themes``).
WATCHED_OUTPUTS = {
    "csat": ("bad_rating_probability", "at_risk"),
    "sentiment": ("sentiment", "sentiment_score"),
    "themes": ("themes", "theme_sentiment"),
}


@dataclass(frozen=True)
class ReferenceProfile:
    """A model's reference: its held-out inputs, outputs and performance.

    Attributes
    ----------
    task : str
        ``csat``, ``sentiment`` or ``themes``.
    rows : int
        Held-out rows profiled.
    created : str
        When the profile was built (ISO 8601, UTC).
    categories, numbers : dict of str to dict
        A category part or a number part (see the module) of each watched input
        (:func:`~cxml.monitoring.inputs.drift_inputs`).
    predictions : dict of str to dict
        A part of each output: csat ``bad_rating_probability`` (number) and ``at_risk``
        (category, ``"true"`` / ``"false"``); sentiment ``sentiment`` (category) and
        ``sentiment_score`` (number); themes ``themes`` (one value a mention, ``"(none)"`` for a
        row without themes) and ``theme_sentiment`` (one polarity a mention); the category
        values are :func:`output_categories`.
    vocabulary : list of int or None
        Sorted token hashes (:func:`~cxml.monitoring.inputs.token_hashes`) seen in at least
        :data:`MIN_TOKEN_ROWS` rows of a random half of the rows, the :data:`MAX_VOCABULARY`
        most frequent; None when no row has text.
    oov : dict or None
        Number part of each row's share of tokens outside the vocabulary, measured on the
        other half of the rows: the new-word share to expect without drift (None without text).
    performance : dict of str to float
        The validation metrics (``val_roc_auc``, ``val_bad_rate``, ``val_macro_f1`` ...).
    policy : dict of str to float or None
        csat: ``threshold``, ``expected_precision``, ``expected_recall``,
        ``expected_flag_share`` of the registered model's flag policy.
    expected_roc_auc : float or None
        csat: the ROC-AUC expected from the held-out probabilities themselves
        (:func:`~cxml.monitoring.estimate.expected_roc_auc`).
    cxml_version : str
        The cxml that built it.
    """

    task: str
    rows: int
    created: str
    categories: dict[str, dict[str, Any]]
    numbers: dict[str, dict[str, Any]]
    predictions: dict[str, dict[str, Any]]
    vocabulary: list[int] | None
    oov: dict[str, Any] | None
    performance: dict[str, float]
    policy: dict[str, float] | None = None
    expected_roc_auc: float | None = None
    cxml_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (plain types only)."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        """The profile of a :meth:`to_dict` object; a newer or foreign one is a ``ValueError``."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a cxml reference profile of format {FORMAT}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def save(self, path: str | Path) -> Path:
        """Write the profile as strict JSON (no NaN), atomically; returns ``path``."""
        return write_text(path, json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        """Read a profile written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def number_part(values: np.ndarray | Sequence[float]) -> dict[str, Any]:
    """Quantiles (0 to 100 % by 1 %) and summary figures of the finite ``values``.

    >>> part = number_part([1.0, 2.0, 3.0, float("nan")])
    >>> part["quantiles"][:3], part["median"], part["iqr"], part["missing_share"], part["rows"]
    ([1.0, 1.02, 1.04], 2.0, 1.0, 0.25, 4)
    """
    array = np.asarray(values, dtype=np.float64)
    present = array[np.isfinite(array)]
    rows = len(array)
    part: dict[str, Any] = {
        "quantiles": [],
        "missing_share": float(1 - len(present) / rows) if rows else 0.0,
        "rows": rows,
        "median": None,
        "iqr": None,
        "mean": None,
        "std": None,
    }
    if len(present):
        q = drift.quantiles(present)
        part.update(
            quantiles=[float(v) for v in q],
            median=float(q[50]),
            iqr=float(q[75] - q[25]),
            mean=float(present.mean()),
            std=float(present.std()),
        )
    return part


def fold_categories(values: Iterable[Any], kept: Collection[str]) -> list[str | None]:
    """``values`` with those not in ``kept`` as ``"(other)"``; missing stay None.

    >>> fold_categories(["email", "chat", None], {"email"})
    ['email', '(other)', None]
    """
    return [None if _missing(v) else (v if v in kept else OTHER) for v in values]


def category_part(values: Iterable[Any], top: int = TOP_CATEGORIES) -> dict[str, Any]:
    """Shares of the ``top`` most frequent values, the rest as ``"(other)"``, missing as
    ``"(missing)"``, largest first.

    >>> category_part(["en", "en", "ko", None], top=1)
    {'shares': {'en': 0.5, '(missing)': 0.25, '(other)': 0.25}, 'rows': 4}
    """
    values = list(values)
    counts = Counter(v for v in values if not _missing(v))
    kept = {v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]}
    return {"shares": drift.category_shares(fold_categories(values, kept)), "rows": len(values)}


def output_categories(column: Iterable[Any]) -> list[str | None]:
    """An output column as category values: a flag as ``"true"`` / ``"false"``, a list of labels
    as one value a label (``"(none)"`` for an empty list), a map (theme -> polarity) as one
    value a polarity, a label as itself.

    >>> output_categories([["delivery", "price"], []])
    ['delivery', 'price', '(none)']
    >>> output_categories([{"delivery": "negative"}, {}, True])
    ['negative', 'true']
    """
    out: list[str | None] = []
    for value in column:
        if isinstance(value, dict):
            out.extend(str(v) for v in value.values())
        elif isinstance(value, (list, tuple, np.ndarray)):
            out.extend([str(v) for v in value] or [NONE])
        elif isinstance(value, (bool, np.bool_)):
            out.append("true" if value else "false")
        else:
            out.append(None if _missing(value) else str(value))
    return out


def build_profile(
    task: str,
    inputs: DriftInputs,
    outputs: pd.DataFrame,
    performance: Mapping[str, float],
    policy: Mapping[str, float] | None = None,
    *,
    seed: int = 0,
) -> ReferenceProfile:
    """The reference profile of held-out rows: their watched ``inputs`` and the ``outputs`` the
    evaluation model gave them (its pyfunc output columns, row for row).

    Parameters
    ----------
    task : str
        The model's task.
    inputs : DriftInputs
        :func:`~cxml.monitoring.inputs.drift_inputs` of the rows.
    outputs : DataFrame
        The task's output columns; those in :data:`WATCHED_OUTPUTS` are profiled.
    performance : mapping of str to float
        The validation metrics; non-finite ones are left out.
    policy : mapping of str to float, default=None
        The flag policy (csat).
    seed : int, default=0
        Seed of the random halves the new-word baseline is measured on.
    """
    types = {output.name: output.type for output in OUTPUTS[task]}
    predictions = {
        name: number_part(outputs[name].to_numpy(dtype=np.float64))
        if types[name] == SCORE
        else category_part(output_categories(outputs[name]))
        for name in WATCHED_OUTPUTS[task]
        if name in outputs
    }
    expected = None
    if "bad_rating_probability" in outputs:
        p = outputs["bad_rating_probability"].to_numpy(dtype=np.float64)
        expected = float(estimate.expected_roc_auc(p[np.isfinite(p)]))
    vocabulary, oov = _vocabulary_and_oov(inputs.tokens, seed)
    return ReferenceProfile(
        task=task,
        rows=len(outputs),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        categories={str(n): category_part(inputs.categories[n]) for n in inputs.categories},
        numbers={str(n): number_part(inputs.numbers[n].to_numpy()) for n in inputs.numbers},
        predictions=predictions,
        vocabulary=vocabulary,
        oov=oov,
        performance={k: float(v) for k, v in performance.items() if np.isfinite(v)},
        policy=None if policy is None else {k: float(v) for k, v in policy.items()},
        expected_roc_auc=expected,
    )


@quiet_mlflow()
def load_profile(model_uri: str) -> ReferenceProfile:
    """The reference profile stored with a model: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``,
    ``runs:/RUN_ID/model``, a local model folder or a registered name (its champion).

    Only the profile is downloaded. A model without one (logged before cxml stored profiles,
    or a zero-shot theme model) is a :class:`~cxml.errors.ModelLoadError` that says so.
    """
    resolved, name, version = resolve_model_uri(model_uri)
    what = f"model {name} version {version}" if version.isdigit() else f"model {model_uri!r}"
    folder = Path(resolved)
    if folder.is_dir():
        return _read(folder / "artifacts" / PROFILE_FILE, what)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{resolved.rstrip('/')}/artifacts/{PROFILE_FILE}", dst_path=tmp
            )
        except (MlflowException, OSError):
            path = str(Path(tmp) / PROFILE_FILE)  # absent: _read says so
        return _read(Path(path), what)


def _read(path: Path, what: str) -> ReferenceProfile:
    if not path.is_file():
        raise ModelLoadError(
            f"{what} has no reference profile ({PROFILE_FILE}): it was trained before cxml "
            "stored reference profiles, or without held-out rows (zero-shot themes); retrain it "
            "with `cxml train` to monitor it",
            "model has no reference profile",
        )
    try:
        return ReferenceProfile.load(path)
    except (ValueError, TypeError, AttributeError) as exc:  # JSON errors are ValueErrors
        raise ModelLoadError(
            f"{what} has an unreadable reference profile ({type(exc).__name__}: {exc})",
            "reference profile is unreadable",
        ) from None


def _vocabulary_and_oov(
    tokens: list[list[int]], seed: int
) -> tuple[list[int] | None, dict[str, Any] | None]:
    """The vocabulary of one random half of the rows, and the new-word share of the other half
    against it (None, None when no row has a token).

    New texts are measured against the same vocabulary, so the share to expect and the share
    seen come from a vocabulary of the same size: a vocabulary of all rows would make new texts
    look more familiar than the baseline and hide new words.
    """
    if not any(tokens):
        return None, None
    order = np.random.default_rng(seed).permutation(len(tokens))
    half = len(tokens) // 2
    seen = _vocabulary([tokens[i] for i in order[:half]])
    shares = drift.oov_share([tokens[i] for i in order[half:]], seen)
    oov = number_part(shares) if np.isfinite(shares).any() else None
    return [int(t) for t in seen], oov


def _vocabulary(tokens: list[list[int]]) -> np.ndarray:
    """Sorted tokens in at least :data:`MIN_TOKEN_ROWS` rows, the most frequent first kept."""
    flat = np.fromiter((t for row in tokens for t in row), dtype=np.int64)
    values, counts = np.unique(flat, return_counts=True)
    keep = counts >= MIN_TOKEN_ROWS
    values, counts = values[keep], counts[keep]
    if len(values) > MAX_VOCABULARY:  # most frequent first, ties by the smaller hash
        values = values[np.lexsort((values, -counts))[:MAX_VOCABULARY]]
    return np.sort(values)


def _missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
