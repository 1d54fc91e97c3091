"""``cxml.tfidf_linear.v1``: word and character n-gram TF-IDF with a linear classifier.

Character n-grams inside word boundaries carry Korean as well as English (Korean words are built
from particles glued to stems, so shared character runs are a strong signal), and they shrug off
typos. The classifier is a logistic regression, so probabilities come straight from the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from cxml.registry import backends
from cxml.text.normalize import normalize_text

__all__ = ["TfidfLinearParams", "make_tfidf_linear"]


class TfidfLinearParams(BaseModel):
    """Parameters of ``cxml.tfidf_linear.v1`` (the defaults are the recommended ones)."""

    model_config = ConfigDict(extra="forbid")

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = Field(default=2, ge=1)
    max_features: int | None = Field(default=300_000, ge=1, description="per vectoriser")
    C: float = Field(default=4.0, gt=0, description="inverse regularisation strength")
    class_weight: str | None = Field(default=None, pattern="^balanced$")
    max_iter: int = Field(default=1000, ge=10)


def _normalize_all(texts: Any) -> list[str]:
    return [normalize_text(str(t)) for t in np.asarray(texts, dtype=object).ravel()]


@backends.register("cxml.tfidf_linear.v1", params=TfidfLinearParams)
def make_tfidf_linear(
    *,
    word_ngrams: tuple[int, int],
    char_ngrams: tuple[int, int],
    min_df: int,
    max_features: int | None,
    C: float,
    class_weight: str | None,
    max_iter: int,
    random_state: int | None = None,
) -> Pipeline:
    """Build the (unfitted) TF-IDF + logistic-regression pipeline."""
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=tuple(word_ngrams),
                    min_df=min_df,
                    max_features=max_features,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(char_ngrams),
                    min_df=min_df,
                    max_features=max_features,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
        ]
    )
    return Pipeline(
        [
            ("normalize", FunctionTransformer(_normalize_all)),
            ("features", features),
            (
                "clf",
                LogisticRegression(
                    C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state
                ),
            ),
        ]
    )
