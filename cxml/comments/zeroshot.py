"""Zero-shot themes from a taxonomy, refined by a few labelled comments when there are some.

A taxonomy YAML names each theme with a description and example phrases per language
(``configs/taxonomy/cx_default.yaml``). A comment's score for a theme is its highest cosine
similarity, in the multilingual encoder's space, to that theme's description and phrases. With no
labels, a theme is assigned when its score clears ``threshold``. With labelled comments, a linear
head per theme learns from the similarities and the sentence vector together, and each theme
with at least two labelled examples gets its own cut-off, tuned for F1 out of fold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils.validation import check_is_fitted

from cxml.comments._base import TextEstimatorMixin, as_texts
from cxml.comments.themes import ThemePredictions, tune_thresholds
from cxml.errors import ConfigError
from cxml.text.encoders import encode

__all__ = ["Taxonomy", "TaxonomyTheme", "ZeroShotThemeClassifier", "load_taxonomy"]


class TaxonomyTheme(BaseModel):
    """One theme: a name, a description and example phrases, each per language code.

    ``id`` is a stable identifier (``cxml discover`` writes one per theme): renaming a theme
    keeps it, and themes sharing an id are one theme to discovery (a merge). ``status`` says
    whether discovery found the theme in the taxonomy it was given (``known``) or proposed it
    (``new``); classifiers ignore both.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    id: str | None = Field(default=None, min_length=1)
    status: Literal["known", "new"] | None = None
    description: dict[str, str] = Field(default_factory=dict)
    examples: dict[str, list[str]] = Field(default_factory=dict)

    def phrases(self) -> list[str]:
        """The description and every example, in every language."""
        found = list(self.description.values())
        for examples in self.examples.values():
            found.extend(examples)
        return [p for p in found if p.strip()]


class Taxonomy(BaseModel):
    """A named, versioned list of themes."""

    model_config = ConfigDict(extra="forbid")

    name: str = "taxonomy"
    version: int = 1
    themes: list[TaxonomyTheme] = Field(min_length=1)

    def model_post_init(self, context: Any) -> None:
        names = [t.name for t in self.themes]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"theme names must be unique; repeated: {twice}")
        empty = [t.name for t in self.themes if not t.phrases()]
        if empty:
            raise ValueError(f"themes need a description or examples: {empty}")


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and check a taxonomy YAML; a :class:`ConfigError` names the file and the problem."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Taxonomy file not found: {p}")
    try:
        return Taxonomy.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigError(f"{p}: not a valid taxonomy: {exc}") from None


class ZeroShotThemeClassifier(ThemePredictions, ClassifierMixin, TextEstimatorMixin):
    """Themes by similarity to a taxonomy; few-shot refinement with labelled comments.

    Parameters
    ----------
    taxonomy : dict or str, default=None
        A taxonomy (as a dict) or the path of a taxonomy YAML. Required.
    encoder : str, default="use"
        Sentence encoder (see :mod:`cxml.text.encoders`); "use" reads English and Korean.
    threshold : float, default=0.35
        Similarity a theme needs when no labels tuned a cut-off for it.
    max_themes : int, default=3
        Most themes assigned to one comment.

    Attributes
    ----------
    classes_ : ndarray of shape (n_themes,)
        Theme names in taxonomy order.
    thresholds_ : ndarray of shape (n_themes,)
        Cut-off per theme (a similarity, or a probability for themes learned from labels).
    learned_ : ndarray of shape (n_themes,)
        Which themes the few-shot head decides.
    n_labelled_ : int
        Labelled comments used to refine the taxonomy (0 for pure zero-shot).
    """

    def __init__(
        self,
        *,
        taxonomy: dict[str, Any] | str | None = None,
        encoder: str = "use",
        threshold: float = 0.35,
        max_themes: int = 3,
    ) -> None:
        self.taxonomy = taxonomy
        self.encoder = encoder
        self.threshold = threshold
        self.max_themes = max_themes

    def _taxonomy(self) -> Taxonomy:
        if self.taxonomy is None:
            raise ValueError("ZeroShotThemeClassifier needs a taxonomy (a dict or a YAML path)")
        if isinstance(self.taxonomy, str | Path):
            return load_taxonomy(self.taxonomy)
        return Taxonomy.model_validate(self.taxonomy)

    def fit(self, X: Any = None, y: Any = None) -> ZeroShotThemeClassifier:
        """Embed the taxonomy; with texts ``X`` and theme lists ``y``, learn from them too."""
        taxonomy = self._taxonomy()
        self.taxonomy_ = taxonomy.model_dump()
        self.classes_ = np.array([t.name for t in taxonomy.themes], dtype=object)
        owners, phrases = [], []
        for k, theme in enumerate(taxonomy.themes):
            for phrase in theme.phrases():
                owners.append(k)
                phrases.append(phrase)
        self.phrase_vectors_ = encode(phrases, self.encoder)
        self.phrase_owners_ = np.array(owners)
        self.thresholds_ = np.full(len(self.classes_), float(self.threshold))
        self.head_: OneVsRestClassifier | None = None
        self.learned_ = np.zeros(len(self.classes_), dtype=bool)
        self.n_labelled_ = 0
        if X is not None and y is not None:
            self._refine(as_texts(X), y)
        return self

    def _refine(self, texts: np.ndarray, y: Any) -> None:
        """Few-shot: a linear head on [taxonomy similarities, sentence vector] per theme."""
        index = {name: k for k, name in enumerate(self.classes_)}
        Y = np.zeros((len(texts), len(self.classes_)), dtype=int)
        for i, themes in enumerate(y):
            for theme in themes:
                if theme not in index:
                    raise ValueError(f"row {i}: theme {theme!r} is not in the taxonomy")
                Y[i, index[theme]] = 1
        features = self._features(encode(texts.tolist(), self.encoder))
        head = OneVsRestClassifier(LogisticRegression(C=2.0, max_iter=2000))
        folds = min(3, len(texts))
        oof = cross_val_predict(head, features, Y, cv=folds, method="predict_proba")
        self.learned_ = Y.sum(axis=0) >= 2
        self.thresholds_ = np.where(self.learned_, tune_thresholds(Y, oof), self.thresholds_)
        self.head_ = head.fit(features, Y)
        self.n_labelled_ = len(texts)

    def _features(self, vectors: np.ndarray) -> np.ndarray:
        sims = self._scores(vectors, self.phrase_vectors_, self.phrase_owners_)
        return np.hstack([5.0 * sims, vectors])

    def _scores(self, vectors: np.ndarray, phrases: np.ndarray, owners: np.ndarray) -> np.ndarray:
        sims = vectors @ phrases.T
        out = np.full((len(vectors), len(self.classes_)), -1.0)
        for k in range(len(self.classes_)):
            mine = owners == k
            if mine.any():
                out[:, k] = sims[:, mine].max(axis=1)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Theme scores in [0, 1]: the few-shot head's probability for themes it learned,
        the similarity to the taxonomy (clipped at 0) for the others; shape (n, n_themes)."""
        check_is_fitted(self, "phrase_vectors_")
        vectors = encode(as_texts(X).tolist(), self.encoder)
        proba = np.clip(self._scores(vectors, self.phrase_vectors_, self.phrase_owners_), 0, 1)
        if self.head_ is not None:
            learned = self.head_.predict_proba(self._features(vectors))
            proba[:, self.learned_] = learned[:, self.learned_]
        return proba

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        chosen = proba >= self.thresholds_
        order = np.argsort(-(proba - self.thresholds_), axis=1)[:, self.max_themes :]
        np.put_along_axis(chosen, order, False, axis=1)
        return chosen
