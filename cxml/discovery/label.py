"""Theme labels from distinctive terms: class-based TF-IDF over language-aware tokens.

A theme's terms are the tokens frequent among its comments and rare elsewhere: term counts are
summed per theme, scaled to frequencies within the theme, and weighted by
``log(1 + A / f_t)``, where ``A`` is the average number of tokens per theme and ``f_t`` the
term's count over all themes (c-TF-IDF, Grootendorst 2022). Terms are content words: English
(and other Latin-script) words without stop words, numbers or single letters; for Korean, the
nouns, roots and foreign words among Kiwi's morphemes, so particles and endings never make a
label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from cxml.text.tokenize import has_hangul, kiwi, tokenize_many

__all__ = ["class_tfidf", "content_terms", "theme_label", "top_terms"]

_KOREAN_CONTENT = frozenset({"NNG", "NNP", "XR"})


def _is_word(token: str) -> bool:
    return len(token) > 1 and token.isalpha() and token not in ENGLISH_STOP_WORDS


def _is_korean_term(form: str, tag: str) -> bool:
    return _is_word(form) if tag == "SL" else tag in _KOREAN_CONTENT and form.isalpha()


def content_terms(texts: Sequence[str]) -> list[list[str]]:
    """Content terms of each text (see the module docstring), lower-cased.

    >>> content_terms(["The app crashed twice!", "앱이 자꾸 멈춰요"])
    [['app', 'crashed', 'twice'], ['앱']]
    """
    out: list[list[str]] = [[] for _ in texts]
    korean = [i for i, t in enumerate(texts) if has_hangul(t)]
    others = sorted(set(range(len(texts))) - set(korean))
    for i, tokens in zip(others, tokenize_many([texts[i] for i in others]), strict=True):
        out[i] = [t for t in tokens if _is_word(t)]
    if korean:
        for i, morphemes in zip(korean, kiwi().tokenize([texts[i] for i in korean]), strict=True):
            out[i] = [m.form.lower() for m in morphemes if _is_korean_term(m.form.lower(), m.tag)]
    return out


def class_tfidf(
    terms: Sequence[list[str]], labels: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """c-TF-IDF of ``terms`` (one list per document) grouped by ``labels`` in ``range(n_classes)``.

    Returns the vocabulary (sorted) and the scores, shape (n_classes, n_terms).
    """
    if not any(terms):
        return np.array([], dtype=object), np.zeros((n_classes, 0))
    vectorizer = CountVectorizer(analyzer=list, lowercase=False)
    counts = vectorizer.fit_transform(terms)
    member = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_classes, len(labels))
    )
    per_class = np.asarray((member @ counts).todense(), dtype=np.float64)
    totals = per_class.sum(axis=1, keepdims=True)
    tf = np.divide(per_class, totals, out=np.zeros_like(per_class), where=totals > 0)
    idf = np.log1p(per_class.sum(axis=1).mean() / np.maximum(per_class.sum(axis=0), 1))
    return vectorizer.get_feature_names_out(), tf * idf


def top_terms(vocabulary: np.ndarray, scores: np.ndarray, n: int) -> list[list[str]]:
    """The ``n`` best-scoring terms per class; ties go to the alphabetically first term."""
    out = []
    for row in scores:
        order = np.lexsort((vocabulary, -row))
        out.append([str(vocabulary[j]) for j in order[:n] if row[j] > 0])
    return out


def theme_label(terms: list[str], n: int = 3) -> str:
    """A short readable label: the first ``n`` terms, skipping plurals of earlier ones.

    >>> theme_label(["invoice", "invoices", "download", "copy"])
    'invoice / download / copy'
    """
    chosen: list[str] = []
    for term in terms:
        if not any(term in (f"{c}s", f"{c}es") for c in chosen):
            chosen.append(term)
    return " / ".join(chosen[:n]) or "(no terms)"
