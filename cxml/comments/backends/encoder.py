"""``cxml.encoder_linear.v1``: frozen sentence vectors with a logistic-regression head.

The encoder is named, not stored: ``"use"`` (multilingual, the default), ``"minilm"`` (English)
or a local transformers model folder (:mod:`cxml.text.encoders`). A named encoder that does not
cover the training texts' languages gives way to the multilingual one when that covers more of
them (:func:`~cxml.text.encoders.pick_encoder`; ``encoder_`` is the one used, with a warning).
Vectors are cached by content hash, so retraining on the same comments does not encode them
again. ``with_tfidf`` adds the TF-IDF features of ``cxml.tfidf_linear.v1`` beside the vectors,
which usually beats either alone.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from cxml.catalog import backends
from cxml.comments.backends._linear import LinearHeadBackend
from cxml.comments.backends.tfidf import TfidfLinear
from cxml.text.encoders import encode, encoder_langs, pick_encoder
from cxml.text.lang import detect_lang

__all__ = ["EncoderLinear", "EncoderLinearParams"]

log = logging.getLogger(__name__)


class EncoderLinearParams(BaseModel):
    """Parameters of ``cxml.encoder_linear.v1``."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = Field(default="use", description="'use', 'minilm' or a model folder")
    with_tfidf: bool = Field(default=False, description="add word + char TF-IDF features")
    vector_weight: float = Field(default=1.0, gt=0, description="scale of the vectors")
    C: float = Field(default=4.0, gt=0)
    class_weight: str | None = Field(default=None, pattern="^balanced$")
    max_iter: int = Field(default=2000, ge=10)
    cache: bool = Field(default=True, description="cache vectors by content hash")


_DEFAULTS = EncoderLinearParams()  # the constructor's defaults, written once


@backends.add("cxml.encoder_linear.v1", params=EncoderLinearParams)
class EncoderLinear(LinearHeadBackend):
    """Sentence vectors (optionally beside TF-IDF) and a logistic-regression head.

    Parameters are those of :class:`EncoderLinearParams`, plus ``random_state``.
    """

    def __init__(
        self,
        *,
        encoder: str = _DEFAULTS.encoder,
        with_tfidf: bool = _DEFAULTS.with_tfidf,
        vector_weight: float = _DEFAULTS.vector_weight,
        C: float = _DEFAULTS.C,
        class_weight: str | None = _DEFAULTS.class_weight,
        max_iter: int = _DEFAULTS.max_iter,
        cache: bool = _DEFAULTS.cache,
        random_state: int | None = None,
    ) -> None:
        self.encoder = encoder
        self.with_tfidf = with_tfidf
        self.vector_weight = vector_weight
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.cache = cache
        self.random_state = random_state

    def _vectors(self, texts: list[str]) -> np.ndarray:
        encoder = getattr(self, "encoder_", self.encoder)  # models saved before routing: encoder
        return encode(texts, encoder, use_cache=self.cache) * self.vector_weight

    def _fit_features(self, texts: list[str]) -> Any:
        self.encoder_ = self.encoder
        if encoder_langs(self.encoder) is not None:
            self.encoder_ = pick_encoder(self.encoder, detect_lang(texts))
        if self.encoder_ != self.encoder:
            log.warning(
                "encoder %r does not cover the training texts' languages: using %r",
                self.encoder,
                self.encoder_,
            )
        vectors = self._vectors(texts)
        if not self.with_tfidf:
            return vectors
        self.tfidf_ = TfidfLinear()
        return sp.hstack([self.tfidf_._fit_features(texts), sp.csr_matrix(vectors)], format="csr")

    def _features(self, texts: list[str]) -> Any:
        vectors = self._vectors(texts)
        if not self.with_tfidf:
            return vectors
        return sp.hstack([self.tfidf_._features(texts), sp.csr_matrix(vectors)], format="csr")
