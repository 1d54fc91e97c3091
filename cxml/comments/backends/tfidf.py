"""``cxml.tfidf_linear.v1``: word and character n-gram TF-IDF with a logistic-regression head.

Words are language-aware tokens (:mod:`cxml.text.tokenize`): Korean is split into morphemes with
Kiwi, so a noun and its particles count as one word; character n-grams inside word boundaries add
robustness to typos and spelling variants in both languages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import TfidfVectorizer

from cxml.catalog import backends
from cxml.comments.backends._linear import LinearHeadBackend
from cxml.text.normalize import normalize_text
from cxml.text.tokenize import tokenize_many

__all__ = ["TfidfLinear", "TfidfLinearParams"]


class TfidfLinearParams(BaseModel):
    """Parameters of ``cxml.tfidf_linear.v1`` (the defaults are the recommended ones)."""

    model_config = ConfigDict(extra="forbid")

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = Field(
        default=(2, 5), description="character n-grams within words; null: none"
    )
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = Field(default=300_000, ge=1, description="per vectoriser")
    morphemes: bool = Field(default=True, description="split Korean into morphemes (Kiwi)")
    C: float = Field(default=4.0, gt=0, description="inverse regularisation strength")
    class_weight: str | None = Field(default=None, pattern="^balanced$")
    max_iter: int = Field(default=1000, ge=10)


def _joined_tokens(texts: list[str]) -> list[str]:
    return [" ".join(tokens) for tokens in tokenize_many(texts)]


_DEFAULTS = TfidfLinearParams()  # the constructor's defaults, written once


@backends.add("cxml.tfidf_linear.v1", params=TfidfLinearParams)
class TfidfLinear(LinearHeadBackend):
    """Word + character TF-IDF features and a logistic-regression head.

    Parameters are those of :class:`TfidfLinearParams`, plus ``random_state``.
    """

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] = _DEFAULTS.word_ngrams,
        char_ngrams: tuple[int, int] | None = _DEFAULTS.char_ngrams,
        min_df: int = _DEFAULTS.min_df,
        max_features: int | None = _DEFAULTS.max_features,
        morphemes: bool = _DEFAULTS.morphemes,
        C: float = _DEFAULTS.C,
        class_weight: str | None = _DEFAULTS.class_weight,
        max_iter: int = _DEFAULTS.max_iter,
        random_state: int | None = None,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_features = max_features
        self.morphemes = morphemes
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def _inputs(self, texts: list[str]) -> tuple[list[str], list[str]]:
        normalized = [normalize_text(t) for t in texts]
        words = _joined_tokens(normalized) if self.morphemes else normalized
        return words, normalized

    def _fit_features(self, texts: list[str]) -> Any:
        self.word_ = TfidfVectorizer(
            token_pattern=r"\S+" if self.morphemes else r"(?u)\b\w+\b",
            ngram_range=tuple(self.word_ngrams),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.char_ = None
        if self.char_ngrams is not None:
            self.char_ = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngrams),
                min_df=self.min_df,
                max_features=self.max_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
        words, chars = self._inputs(texts)
        blocks = [self.word_.fit_transform(words)]
        if self.char_ is not None:
            blocks.append(self.char_.fit_transform(chars))
        return sp.hstack(blocks, format="csr")

    def _features(self, texts: list[str]) -> Any:
        words, chars = self._inputs(texts)
        blocks = [self.word_.transform(words)]
        if self.char_ is not None:
            blocks.append(self.char_.transform(chars))
        return sp.hstack(blocks, format="csr")
