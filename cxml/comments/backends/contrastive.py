"""``cxml.contrastive.v1``: SetFit-style few-shot learning: tune the sentence encoder on pairs of
labelled texts, then fit a logistic-regression head on its vectors.

Tunstall et al. 2022 ("Efficient Few-Shot Learning Without Prompts"): a sentence encoder is
first fine-tuned contrastively, so that two texts with the same label get close vectors and two
with different labels distant ones (cosine-similarity loss against the pair's label overlap), and
then a linear head is fitted on the tuned vectors. With 8 to 64 labels a class this beats a head
on frozen vectors, because the pairs multiply the few labels (``pairs_per_text`` each, at most
``max_pairs`` in all).

Pairs are drawn per text: half with a text sharing a label (a positive), half with one sharing
none (a negative); the target is the Jaccard overlap of the two label sets (1 or 0 for one label
a row, between for many). With an ``aspect`` column the encoder reads (text, aspect sentence)
pairs, as ``cxml.finetune.v1`` does (:mod:`._pairs`), so one text can be near the positive texts
about food and near the negative ones about service.

The loop is written here rather than taken from the ``setfit`` package: the pair sampling fits
every label shape above, the tuned encoder pickles like ``cxml.finetune.v1``'s (:mod:`._saved`),
and no package is added (the comparison is in ``docs/few-shot.md``). Runs on a GPU when torch
sees one (bf16 autocast where supported), else on the CPU.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cxml.catalog import backends
from cxml.comments.backends._linear import LinearHeadBackend, split_input
from cxml.comments.backends._pairs import aspect_sentence, check_template
from cxml.comments.backends._saved import pack, unpack
from cxml.text.encoders import folder_settings, model_folder, pool

__all__ = ["Contrastive", "ContrastiveParams", "label_pairs"]

log = logging.getLogger(__name__)


class ContrastiveParams(BaseModel):
    """Parameters of ``cxml.contrastive.v1``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="minilm", description="'minilm' or a local model folder")
    pairs_per_text: int = Field(default=40, ge=2, description="SetFit: 2 x num_iterations")
    max_pairs: int = Field(default=4000, ge=16, description="cap on all pairs (CPU time)")
    epochs: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=2e-5, gt=0)
    batch_size: int = Field(default=16, ge=2)
    max_length: int | None = Field(default=128, ge=8, description="tokens per text")
    pair_template: str = Field(default="{aspect}", description="aspect sentence (see finetune)")
    C: float = Field(default=1.0, gt=0, description="the head's inverse regularisation")
    class_weight: str | None = Field(default=None, pattern="^balanced$")
    max_iter: int = Field(default=2000, ge=10)
    device: str = Field(default="auto", pattern="^(auto|cpu|cuda)$")


def label_pairs(
    labels: np.ndarray, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(left, right, target)``: ``n_pairs`` row pairs, half positive and half negative where
    the data allow, with the Jaccard overlap of their label sets as the target.

    ``labels`` is an (n_rows, n_labels) 0/1 matrix (one-hot for one label a row). A positive
    partners a row with a random row sharing one of its labels; a negative with a random row
    sharing none (a few draws; a row with no such partner yields a random one). Two rows without
    any label overlap fully.

    >>> labels = np.eye(3, dtype=int)[[0, 0, 1, 1, 2, 2]]
    >>> left, right, target = label_pairs(labels, 12, np.random.default_rng(0))
    >>> bool((target == (labels[left] == labels[right]).all(1)).all()), float(target.mean())
    (True, 0.5)
    """
    labels = np.asarray(labels, dtype=bool)
    n = len(labels)
    left = rng.integers(0, n, n_pairs)
    right = rng.integers(0, n, n_pairs)
    members = [np.flatnonzero(column) for column in labels.T]
    for k in np.flatnonzero(np.arange(n_pairs) % 2 == 0):  # even: a positive partner
        own = np.flatnonzero(labels[left[k]])
        pool = members[rng.choice(own)] if len(own) else np.flatnonzero(~labels.any(1))
        right[k] = rng.choice(pool)
    for k in np.flatnonzero(np.arange(n_pairs) % 2 == 1):  # odd: a partner sharing no label
        for _ in range(10):
            if not (labels[left[k]] & labels[right[k]]).any() and (
                labels[left[k]].any() or labels[right[k]].any()
            ):
                break
            right[k] = rng.integers(0, n)
    both = (labels[left] & labels[right]).sum(1)
    either = (labels[left] | labels[right]).sum(1)
    target = np.where(either > 0, both / np.maximum(either, 1), 1.0)
    return left, right, target.astype(np.float32)


_DEFAULTS = ContrastiveParams()  # the constructor's defaults, written once


@backends.add("cxml.contrastive.v1", params=ContrastiveParams)
class Contrastive(LinearHeadBackend):
    """A contrastively tuned sentence encoder with a logistic-regression head (SetFit).

    Parameters are those of :class:`ContrastiveParams`, plus ``random_state``.
    """

    def __init__(
        self,
        *,
        model: str = _DEFAULTS.model,
        pairs_per_text: int = _DEFAULTS.pairs_per_text,
        max_pairs: int = _DEFAULTS.max_pairs,
        epochs: int = _DEFAULTS.epochs,
        learning_rate: float = _DEFAULTS.learning_rate,
        batch_size: int = _DEFAULTS.batch_size,
        max_length: int | None = _DEFAULTS.max_length,
        pair_template: str = _DEFAULTS.pair_template,
        C: float = _DEFAULTS.C,
        class_weight: str | None = _DEFAULTS.class_weight,
        max_iter: int = _DEFAULTS.max_iter,
        device: str = _DEFAULTS.device,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.pairs_per_text = pairs_per_text
        self.max_pairs = max_pairs
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.pair_template = pair_template
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.device = device
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Contrastive:
        y = np.asarray(y)
        if y.ndim == 2:
            labels = y.astype(bool)
        else:
            codes = np.unique(y, return_inverse=True)[1]
            labels = np.eye(codes.max() + 1, dtype=bool)[codes]
        self._tune(X, labels)
        return super().fit(X, y)  # the head, on the tuned vectors (_fit_design)

    def fit_soft(self, X: Any, proba: Any, classes: Any, *, multilabel: bool) -> Contrastive:
        """As a distilled student: the encoder is tuned on the teacher's decisions (its top
        class, or each label at 0.5), the head on its probabilities."""
        proba = np.asarray(proba, dtype=np.float64)
        if multilabel:
            self._tune(X, proba >= 0.5)
        else:
            self._tune(X, np.eye(proba.shape[1], dtype=bool)[proba.argmax(1)])
        super().fit_soft(X, proba, classes, multilabel=multilabel)
        return self

    def _tune(self, X: Any, labels: np.ndarray) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        check_template(self.pair_template)
        path = model_folder(self.model)
        settings = folder_settings(path)
        self.pooling_ = settings.pooling
        self.max_length_ = min(self.max_length or settings.max_length, settings.max_length)
        seed = self.random_state or 0
        torch.manual_seed(seed)
        self.tokenizer_ = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.encoder_ = AutoModel.from_pretrained(path, local_files_only=True)
        texts, aspects = split_input(X)
        seconds = self._sentences(aspects)
        n_pairs = min(self.pairs_per_text * len(texts), self.max_pairs)
        left, right, target = label_pairs(labels, n_pairs, np.random.default_rng(seed))
        device = "cuda" if self.device != "cpu" and torch.cuda.is_available() else "cpu"
        autocast = device == "cuda" and torch.cuda.is_bf16_supported()
        encoder = self.encoder_.to(device).train()
        steps = self.epochs * -(-n_pairs // self.batch_size)
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=self.learning_rate)
        schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
        started = time.perf_counter()
        for epoch in range(self.epochs):
            order = np.random.default_rng(seed + epoch).permutation(n_pairs)
            for start in range(0, n_pairs, self.batch_size):
                idx = order[start : start + self.batch_size]
                with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
                    u = self._embed(encoder, texts, seconds, left[idx], device)
                    v = self._embed(encoder, texts, seconds, right[idx], device)
                    cosine = torch.nn.functional.cosine_similarity(u.float(), v.float())
                goal = torch.as_tensor(target[idx], device=device)
                loss = torch.nn.functional.mse_loss(cosine, goal)
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
            log.info(
                "contrastive tuning: epoch %d/%d (%d pairs) done after %.0f s",
                epoch + 1,
                self.epochs,
                n_pairs,
                time.perf_counter() - started,
            )
        self.encoder_ = encoder.to("cpu").eval()
        self.pairs_ = n_pairs

    def _sentences(self, aspects: np.ndarray | None) -> list[str] | None:
        if aspects is None:
            return None
        return [aspect_sentence(str(a), self.pair_template) for a in aspects]

    def _embed(
        self,
        encoder: Any,
        texts: list[str],
        seconds: list[str] | None,
        rows: np.ndarray,
        device: str,
    ) -> Any:
        batch = self.tokenizer_(
            [texts[i] for i in rows],
            None if seconds is None else [seconds[i] for i in rows],
            truncation=True,
            max_length=self.max_length_,
            padding=True,
            return_tensors="pt",
        ).to(device)
        states = encoder(**batch).last_hidden_state
        return pool(states, batch["attention_mask"], self.pooling_)

    def _vectors(self, X: Any) -> np.ndarray:
        import torch

        texts, aspects = split_input(X)
        seconds = self._sentences(aspects)
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        out = np.zeros((len(texts), self.encoder_.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                rows = order[start : start + 64]
                pooled = self._embed(self.encoder_, texts, seconds, rows, "cpu")
                out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out

    def _fit_design(self, X: Any) -> Any:
        aspects = split_input(X)[1]
        self.aspects_ = None if aspects is None else sorted(set(aspects.tolist()))
        return self._vectors(X)  # the encoder read the aspect: no per-aspect blocks

    def _predict_design(self, X: Any) -> Any:
        if self.aspects_ is not None and split_input(X)[1] is None:
            raise ValueError("this backend was trained with aspects; pass a 'aspect' column")
        return self._vectors(X)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if "encoder_" in state:
            state["encoder_"] = pack(self.encoder_, self.tokenizer_)
            del state["tokenizer_"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("encoder_"), bytes):
            from transformers import AutoModel

            state["encoder_"], state["tokenizer_"] = unpack(state["encoder_"], AutoModel)
        self.__dict__.update(state)
