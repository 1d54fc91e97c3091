"""Theme labels from distinctive terms: class-based TF-IDF over language-aware tokens.

A theme's terms are the tokens frequent among its comments and rare elsewhere: term counts are
summed per theme, scaled to frequencies within the theme, and weighted by
``log(1 + A / f_t)``, where ``A`` is the average number of tokens per theme and ``f_t`` the
term's count over all themes (c-TF-IDF, Grootendorst 2022). Terms are content words: English
(and other Latin-script) words without stop words, numbers or single letters; for Korean, the
nouns, roots and foreign words among Kiwi's morphemes, so particles and endings never make a
label.

A theme's readable name (:func:`readable_names`) is a phrase of one to three content words that
stand next to each other in its comments (a stop word, a particle, an ending or punctuation ends
a phrase), ranked by the same c-TF-IDF over phrases: the best single word, or the best phrase of
two or three words that holds that word when it scores at least half as much. Nothing is random,
so the same comments give the same name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from cxml.text.tokenize import has_hangul, kiwi, tokenize, tokenize_many

__all__ = [
    "class_tfidf",
    "content_phrases",
    "content_terms",
    "readable_names",
    "theme_label",
    "top_terms",
]

_KOREAN_CONTENT = frozenset({"NNG", "NNP", "XR"})
_CLAUSE = re.compile(r"[.,;:!?()\[\]\"\n]+")
#: A phrase of several words is preferred when it scores at least this share of the best word.
_PHRASE_SHARE = 0.5


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


def _ngrams(runs: list[list[str]], max_words: int) -> list[str]:
    return [
        " ".join(run[i : i + n])
        for run in runs
        for n in range(1, max_words + 1)
        for i in range(len(run) - n + 1)
    ]


def _korean_runs(text: str) -> list[list[str]]:
    """Runs of content morphemes next to each other; touching ones are one word (상담+봇)."""
    runs: list[list[str]] = [[]]
    end = -1
    for m in kiwi().tokenize(text):
        form = m.form.lower()
        if not _is_korean_term(form, m.tag):
            runs.append([])
        elif runs[-1] and m.start == end:
            runs[-1][-1] += form
        else:
            runs[-1].append(form)
        end = m.start + m.len
    return [r for r in runs if r]


def _english_runs(text: str) -> list[list[str]]:
    runs: list[list[str]] = []
    for clause in _CLAUSE.split(text):
        runs.append([])
        for token in tokenize(clause):
            if _is_word(token):
                runs[-1].append(token)
            elif runs[-1]:
                runs.append([])
    return [r for r in runs if r]


def content_phrases(texts: Sequence[str], max_words: int = 3) -> list[list[str]]:
    """Phrases of 1 to ``max_words`` adjacent content words in each text, lower-cased.

    >>> content_phrases(["The parcel arrived late, sadly"], max_words=2)
    [['parcel', 'arrived', 'late', 'parcel arrived', 'arrived late', 'sadly']]
    >>> content_phrases(["상담원 연결이 안 돼요"])
    [['상담원', '연결', '상담원 연결']]
    """
    return [
        _ngrams(_korean_runs(t) if has_hangul(t) else _english_runs(t), max_words) for t in texts
    ]


def readable_names(texts: Sequence[str], labels: np.ndarray, n_classes: int) -> list[str]:
    """A short name per class of ``labels`` (in ``range(n_classes)``) from its texts.

    See the module docstring for the rule; a class without content words is ``"(no terms)"``.

    >>> texts = ["late delivery again", "late delivery, no call", "rude staff", "staff rude"]
    >>> readable_names(texts, np.array([0, 0, 1, 1]), 2)
    ['late delivery', 'rude staff']
    """
    vocabulary, scores = class_tfidf(content_phrases(texts), labels, n_classes)
    words = np.array([term.count(" ") + 1 for term in vocabulary], dtype=int)
    names = []
    for row in scores:
        word = _best(vocabulary, np.where(words == 1, row, 0.0))
        if word is None:
            names.append("(no terms)")
            continue
        holds = np.array([word[0] in term.split(" ") for term in vocabulary])
        phrase = _best(vocabulary, np.where((words > 1) & holds, row, 0.0))
        use = phrase is not None and phrase[1] >= _PHRASE_SHARE * word[1]
        names.append(phrase[0] if phrase is not None and use else word[0])
    return names


def _best(vocabulary: np.ndarray, row: np.ndarray) -> tuple[str, float] | None:
    """The best-scoring term (ties: alphabetically first) and its score, or None."""
    if not len(row) or row.max() <= 0:
        return None
    j = int(np.lexsort((vocabulary, -row))[0])
    return str(vocabulary[j]), float(row[j])
