"""``cxml.spacy_textcat.v1``: spaCy's ``textcat`` / ``textcat_multilabel`` trained from a blank
pipeline.

One label per row trains ``textcat`` (mutually exclusive classes); many labels train
``textcat_multilabel``. The architecture is spaCy's bag-of-n-grams model by default (fast, a
strong baseline) or its ensemble of that and a CNN over token vectors. Training stops early when
the log loss on a held-out slice stops improving, and keeps the best epoch. With an ``aspect``
column, the aspect is prepended to the text as its own tokens. The tokenizer is the blank
pipeline of ``lang`` (``"xx"``, multi-language, splits Korean on spaces and punctuation).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from cxml.catalog import backends
from cxml.comments.backends._linear import split_input

__all__ = ["SpacyTextcat", "SpacyTextcatParams"]


class SpacyTextcatParams(BaseModel):
    """Parameters of ``cxml.spacy_textcat.v1``."""

    model_config = ConfigDict(extra="forbid")

    lang: str = Field(default="xx", description="blank pipeline language, e.g. 'en' or 'xx'")
    architecture: str = Field(default="bow", pattern="^(bow|ensemble)$")
    ngram_size: int = Field(default=2, ge=1, le=4)
    epochs: int = Field(default=12, ge=1)
    batch_size: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.2, ge=0, lt=1)
    patience: int = Field(default=3, ge=1)
    validation_fraction: float = Field(default=0.1, gt=0, lt=0.5)


def _model_config(architecture: str, exclusive: bool, ngram_size: int) -> dict[str, Any]:
    bow = {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": exclusive,
        "ngram_size": ngram_size,
        "no_output_layer": False,
        "length": 262144,
    }
    if architecture == "bow":
        return bow
    width = 64
    return {
        "@architectures": "spacy.TextCatEnsemble.v2",
        "nO": None,
        "linear_model": bow,
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": width,
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                "rows": [5000, 1000, 2500, 2500],
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": width,
                "window_size": 1,
                "maxout_pieces": 3,
                "depth": 2,
            },
        },
    }


_DEFAULTS = SpacyTextcatParams()  # the constructor's defaults, written once


@backends.add("cxml.spacy_textcat.v1", params=SpacyTextcatParams)
class SpacyTextcat(ClassifierMixin, BaseEstimator):
    """A spaCy text classifier trained from a blank pipeline.

    Parameters are those of :class:`SpacyTextcatParams`, plus ``random_state``.
    """

    def __init__(
        self,
        *,
        lang: str = _DEFAULTS.lang,
        architecture: str = _DEFAULTS.architecture,
        ngram_size: int = _DEFAULTS.ngram_size,
        epochs: int = _DEFAULTS.epochs,
        batch_size: int = _DEFAULTS.batch_size,
        dropout: float = _DEFAULTS.dropout,
        patience: int = _DEFAULTS.patience,
        validation_fraction: float = _DEFAULTS.validation_fraction,
        random_state: int | None = None,
    ) -> None:
        self.lang = lang
        self.architecture = architecture
        self.ngram_size = ngram_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    @staticmethod
    def _texts(X: Any) -> list[str]:
        texts, aspects = split_input(X)
        if aspects is None:
            return texts
        return [f"{aspect} : {text}" for text, aspect in zip(texts, aspects, strict=True)]

    def _proba(self, nlp: Any, texts: list[str]) -> np.ndarray:
        pipe = nlp.get_pipe("textcat")
        docs = pipe.pipe(nlp.tokenizer.pipe(texts), batch_size=256)
        return np.array([[doc.cats[label] for label in self.labels_] for doc in docs])

    def fit(self, X: Any, y: Any) -> SpacyTextcat:
        import spacy
        from spacy.training import Example
        from spacy.util import fix_random_seed, minibatch

        texts = self._texts(X)
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        self.classes_ = np.arange(y.shape[1]) if self.multilabel_ else np.unique(y)
        self.labels_ = [str(c) for c in self.classes_]
        targets = y if self.multilabel_ else (y[:, None] == self.classes_).astype(int)
        seed = self.random_state or 0
        fix_random_seed(seed)
        nlp = spacy.blank(self.lang)
        factory = "textcat_multilabel" if self.multilabel_ else "textcat"
        model = _model_config(self.architecture, not self.multilabel_, self.ngram_size)
        nlp.add_pipe(factory, name="textcat", config={"model": model})
        examples = [
            Example.from_dict(
                nlp.make_doc(text),
                {"cats": dict(zip(self.labels_, map(float, row), strict=True))},
            )
            for text, row in zip(texts, targets, strict=True)
        ]
        train_idx, val_idx = train_test_split(
            np.arange(len(texts)), test_size=self.validation_fraction, random_state=seed
        )
        train = [examples[i] for i in train_idx]
        optimizer = nlp.initialize(lambda: train)
        rng = random.Random(seed)
        best, best_loss, stale = nlp.to_bytes(), np.inf, 0
        val_texts, val_targets = [texts[i] for i in val_idx], targets[val_idx]
        for _ in range(self.epochs):
            rng.shuffle(train)
            for batch in minibatch(train, size=self.batch_size):
                nlp.update(batch, drop=self.dropout, sgd=optimizer)
            loss = self._loss(val_targets, self._proba(nlp, val_texts))
            if loss < best_loss - 1e-4:
                best, best_loss, stale = nlp.to_bytes(), loss, 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        self.nlp_ = nlp.from_bytes(best)
        self.best_val_loss_ = float(best_loss)
        return self

    def _loss(self, targets: np.ndarray, proba: np.ndarray) -> float:
        proba = np.clip(proba, 1e-7, 1 - 1e-7)
        if self.multilabel_:
            return float(-np.mean(targets * np.log(proba) + (1 - targets) * np.log(1 - proba)))
        proba = proba / proba.sum(axis=1, keepdims=True)
        return float(log_loss(targets.argmax(axis=1), proba, labels=range(len(self.labels_))))

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "nlp_")
        proba = self._proba(self.nlp_, self._texts(X))
        if not self.multilabel_:
            proba = proba / proba.sum(axis=1, keepdims=True)
        return proba

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if "nlp_" in state:
            state["nlp_"] = (self.nlp_.config.to_str(), self.nlp_.to_bytes())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("nlp_"), tuple):
            from spacy.util import load_model_from_config
            from thinc.api import Config

            config, data = state["nlp_"]
            nlp = load_model_from_config(Config().from_str(config), auto_fill=True)
            state["nlp_"] = nlp.from_bytes(data)
        self.__dict__.update(state)
