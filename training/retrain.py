"""``cxml retrain``: train a challenger, test it against the champion on the newest labelled rows
it never saw, and promote it only if it is not worse (:func:`~.compare.apply_gate`).

The rows it is judged on are never rows it trained on:

* with ``eval_data``, the challenger trains on every labelled row of ``data`` and is judged on
  ``eval_data``, less any row also in ``data`` (same ``ticket_id``; for comments, same text);
* without, a part of ``data`` is held out before training (the training run fits, evaluates,
  refits and fingerprints the rest only): the newest ``holdout`` share by ``created_at`` (tickets
  always; comments when every row has the time), else a random share (stratified by sentiment).

With no champion yet, nothing is held out: the model trains on every row and becomes champion.
The champion may have trained on some of these rows (an earlier retrain on older data): that
favours the champion, so the gate errs on the side of keeping it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from cxml.errors import BadInputError, ModelNotFoundError
from cxml.tickets.model import time_split
from cxml.tracking import CHALLENGER, CHAMPION, resolve_model_uri

from .common import TrainResult
from .compare import DEFAULT_MARGIN, Gate, TaskConfig, apply_gate, compare_labelled, read_labelled
from .csat import CsatPipeline
from .pipeline import Labelled
from .sentiment import SentimentPipeline
from .themes import ThemesPipeline

__all__ = ["DEFAULT_HOLDOUT", "Retrained", "retrain"]

#: Share of ``data`` held out to judge the challenger when no ``eval_data`` is given.
DEFAULT_HOLDOUT = 0.2


@dataclass(frozen=True)
class Retrained:
    """What :func:`retrain` did: the training run, and the gate (None when there was no champion
    yet, so the new model became it)."""

    training: TrainResult
    gate: Gate | None

    @property
    def promoted(self) -> bool:
        """Whether the new model is champion now."""
        return self.gate is None or self.gate.decision.promote


class _HoldsOut:
    """Keeps the rows that judge a retraining pipeline's model apart from those it trains on.

    With :attr:`judged` set (rows from another file), the rows also in the training data are
    dropped from it; else :attr:`share` of the training data is moved to it (none: no judging).
    """

    share: float = DEFAULT_HOLDOUT
    seed: int = 0
    judged: Labelled | None = None
    judged_as: str = ""

    def hold_out(self, data: Labelled, *, key: str, stratify: str | None = None) -> Labelled:
        """The rows to train on (before any run starts); :attr:`judged` the rows to judge on."""
        if self.judged is not None:
            self.judged, seen = _unseen(self.judged, data, key)
            if seen:
                self.judged_as += f" (less {seen} rows also in the training data)"
            return data
        if not self.share:  # nothing to judge against: train on every row
            return data
        frame = data.frame
        held = np.zeros(len(frame), dtype=bool)
        rows, which = _held_rows(frame, self.share, self.seed, stratify)
        held[rows] = True
        self.judged = Labelled(frame[held].reset_index(drop=True), data.label)
        self.judged_as = f"{which} of the training data, held out"
        counts = data.counts | {"data.held_out_for_gate": int(held.sum())}
        return Labelled(frame[~held].reset_index(drop=True), data.label, counts)


class _Csat(_HoldsOut, CsatPipeline):
    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        return self.hold_out(super().prepare(frame, path), key="ticket_id")


class _Sentiment(_HoldsOut, SentimentPipeline):
    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        return self.hold_out(super().prepare(frame, path), key="text", stratify="sentiment")


class _Themes(_HoldsOut, ThemesPipeline):
    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        return self.hold_out(super().prepare(frame, path), key="text")


_RETRAINING: dict[str, Callable[..., _Csat | _Sentiment | _Themes]] = {
    "csat": _Csat,
    "sentiment": _Sentiment,
    "themes": _Themes,
}


def _held_rows(
    frame: pd.DataFrame, share: float, seed: int, stratify: str | None
) -> tuple[np.ndarray, str]:
    """Positions of the rows to hold out, and which rows they are in words."""
    if "created_at" in frame and frame["created_at"].notna().all():
        return time_split(frame["created_at"], share)[1], f"the newest {share:.0%}"
    labels = frame[stratify].astype(str) if stratify else None
    rows = train_test_split(
        np.arange(len(frame)), test_size=share, stratify=labels, random_state=seed
    )[1]
    return np.asarray(rows), f"a {'stratified ' if stratify else ''}random {share:.0%}"


def retrain(
    task: str,
    data: str | Path,
    *,
    config: TaskConfig,
    eval_data: str | Path | None = None,
    holdout: float = DEFAULT_HOLDOUT,
    margin: float = DEFAULT_MARGIN,
    on_step: Callable[[str], None] = lambda step: None,
) -> Retrained:
    """Train a challenger on ``data``, compare it with the champion, promote it if it passes.

    Parameters
    ----------
    task : {"csat", "sentiment", "themes"}
        Which model; registered under ``config.registry.name`` (always as ``challenger``).
    data : str or Path
        Labelled training file.
    config : SentimentConfig, ThemesConfig or CsatConfig
        The task's training config; also how ``eval_data`` is read.
    eval_data : str or Path, default=None
        Newer labelled rows to judge the challenger on; None: hold out part of ``data``.
    holdout : float, default=0.2
        Share of ``data`` held out when there is no ``eval_data``.
    margin : float, default=0.01
        How much worse the challenger may be (:meth:`.compare.Comparison.decide`).
    on_step : callable, default=no-op
        Called with a short description as each step starts.

    Returns
    -------
    Retrained
        ``promoted`` says whether the new model is champion; with no champion before, the
        first registered version becomes it, without a comparison.
    """
    if not 0 < holdout < 1:
        raise BadInputError(f"holdout must be between 0 and 1, got {holdout}")
    registry = config.registry.model_copy(update={"enabled": True, "alias": CHALLENGER})
    config = config.model_copy(update={"registry": registry})
    champion = _champion(registry.name)
    pipeline = _RETRAINING[task](config, on_step=on_step)
    pipeline.share = holdout if champion is not None else 0.0
    pipeline.seed = config.split.seed
    summary = None
    if eval_data is not None and champion is not None:  # read first: a bad file fails early
        on_step("reading the evaluation data")
        pipeline.judged, summary = read_labelled(task, eval_data, config)
        pipeline.judged_as = str(eval_data)
    training = pipeline.run(data)
    if champion is None:
        return Retrained(training, None)
    on_step("comparing the challenger with the champion")
    assert pipeline.judged is not None and training.registered is not None
    comparison = compare_labelled(
        task,
        pipeline.judged,
        champion,
        training.registered.uri,
        source=pipeline.judged_as,
        summary=summary if summary is not None else training.data,
    )
    return Retrained(training, apply_gate(comparison, config=config, margin=margin))


def _champion(name: str) -> str | None:
    """The champion's ``models:/NAME/V`` URI; None when there is none (or no store) yet."""
    try:
        return resolve_model_uri(f"models:/{name}@{CHAMPION}")[0]
    except ModelNotFoundError:
        return None


def _unseen(judged: Labelled, trained: Labelled, key: str) -> tuple[Labelled, int]:
    """``judged`` without the rows whose ``key`` is also in ``trained``, and how many those were."""
    seen = judged.frame[key].isin(set(trained.frame[key])).to_numpy()
    if seen.all():
        raise BadInputError(
            f"every row of the evaluation data is also in the training data (same {key}): "
            "the challenger cannot be judged on rows it trained on"
        )
    kept = judged.frame[~seen].reset_index(drop=True)
    return Labelled(kept, judged.label, judged.counts), int(seen.sum())
