"""Evidence for each prediction: the words of a comment that made the model decide.

Every span is ``{"start", "end", "text", "weight"}`` (:class:`~cxml.contracts.outputs.
EvidenceSpan`), with character offsets into the text as given, so ``text == comment[start:end]``
always; spans are the strongest few with a positive weight (at six decimals), strongest first.

- **Linear TF-IDF models** (``cxml.tfidf_linear.v1``, and the TF-IDF student of
  ``cxml.distilled.v1``, which is what predicts): a feature's contribution to the predicted
  label's logit is its TF-IDF value times its coefficient (for several classes, the coefficient
  less the classes' mean, as softmax only sees differences; for theme sentiment, the shared
  coefficient plus the theme's own). A word n-gram's contribution is shared by its words, a
  character n-gram's by the words it overlaps, each repeated n-gram's by its occurrences. Words
  are the model's own tokens (Korean: Kiwi morphemes), found in the normalised text and mapped
  back to the original through :func:`~cxml.text.normalize.normalize_with_offsets`. The weights
  of all words and the intercept add up to the logit, less what falls on no word (punctuation
  inside character n-grams).
- **Every other model** (sentence-vector heads, fine-tuned transformers, spaCy, zero-shot):
  occlusion, model-agnostic: each word (or, in long comments, each run of words, at most
  :data:`MAX_UNITS` per comment) is left out in turn and the weight is the drop in the model's
  own probability of the predicted label. It costs one prediction per word.

Keys of a comment's evidence are :func:`~cxml.contracts.outputs.evidence_key`: ``sentiment``,
``theme:NAME`` for each assigned theme and ``theme_sentiment:NAME`` for its polarity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.multiclass import OneVsRestClassifier

from cxml.comments._base import as_texts
from cxml.comments.backends._linear import SoftLabelHeads
from cxml.comments.backends.distilled import Distilled
from cxml.comments.backends.tfidf import TfidfLinear
from cxml.comments.sentiment import SentimentClassifier
from cxml.comments.theme_model import ThemeModel
from cxml.comments.theme_sentiment import ThemeSentimentClassifier
from cxml.comments.themes import ThemeClassifier
from cxml.comments.zeroshot import ZeroShotThemeClassifier
from cxml.contracts.outputs import EvidenceSpan, evidence_key
from cxml.errors import BadInputError
from cxml.text.normalize import normalize_with_offsets
from cxml.text.tokenize import token_spans

__all__ = ["MAX_UNITS", "TOP", "explain", "occlusion_weights", "token_weights", "top_spans"]

#: Spans kept per prediction.
TOP = 5
#: Most words or runs of words left out of one comment by occlusion.
MAX_UNITS = 48

#: ``(start, end, weight)``: a word's place in the original text and its weight.
Weighted = tuple[int, int, float]
#: Probabilities of ``texts`` (with their aspects, or None), shape (n, n_classes).
Scorer = Callable[[list[str], list[str] | None], np.ndarray]

_OCCLUDED = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")


def top_spans(text: str, weights: Sequence[Weighted], top: int = TOP) -> list[EvidenceSpan]:
    """The ``top`` spans of ``text`` with the largest positive weights, strongest first (the
    weights of a span found twice, such as two morphemes of one syllable, are added).

    >>> top_spans("late again", [(0, 4, 0.9), (5, 10, -0.2)])
    [{'start': 0, 'end': 4, 'text': 'late', 'weight': 0.9}]
    >>> top_spans("late again", [(0, 4, 4e-7)])  # 0.0 at six decimals: no evidence
    []
    """
    merged: dict[tuple[int, int], float] = defaultdict(float)
    for start, end, weight in weights:
        merged[start, end] += weight
    rounded = {place: round(float(w), 6) for place, w in merged.items()}
    ranked = sorted(
        ((w, s, e) for (s, e), w in rounded.items() if w > 0 and text[s:e].strip()),
        key=lambda item: (-item[0], item[1]),
    )
    return [EvidenceSpan(start=s, end=e, text=text[s:e], weight=w) for w, s, e in ranked[:top]]


def _coefficients(head: Any, column: int) -> tuple[np.ndarray, float] | None:
    """Coefficients and intercept of ``column``'s logit (relative to the mean of all classes
    for a multinomial head); None for a label the head learned as a constant."""
    if isinstance(head, OneVsRestClassifier | SoftLabelHeads):
        estimator = head.estimators_[column]
        if not hasattr(estimator, "coef_"):
            return None
        return np.asarray(estimator.coef_[0], dtype=float), float(estimator.intercept_[0])
    coef, intercept = np.asarray(head.coef_, dtype=float), np.asarray(head.intercept_, dtype=float)
    if coef.shape[0] == 1:  # binary: the row is the second class's
        sign = 1.0 if column == 1 else -1.0
        return sign * coef[0], sign * float(intercept[0])
    return coef[column] - coef.mean(axis=0), float(intercept[column] - intercept.mean())


def _aspect_coefficients(
    backend: TfidfLinear, coef: np.ndarray, intercept: float, aspect: str | None, n: int
) -> tuple[np.ndarray, float]:
    """The coefficients of the ``n`` text features for a row about ``aspect``: shared plus the
    aspect's own block (:func:`~cxml.comments.backends._linear.aspect_blocks`)."""
    aspects = backend.aspects_
    if aspects is None or aspect is None or aspect not in aspects:
        return coef[:n], intercept
    a = aspects.index(aspect)
    onehot = coef[n + n * len(aspects) + a]
    return coef[:n] + coef[n + a * n : n + (a + 1) * n], intercept + float(onehot)


def _word_tokens(backend: TfidfLinear, normalized: str) -> list[tuple[str, int, int]]:
    """The word features' tokens of a normalised text, with their places in it."""
    if backend.morphemes:
        return token_spans(normalized)
    lower = normalized.lower()
    source = lower if len(lower) == len(normalized) else normalized
    pattern = re.compile(backend.word_.token_pattern)
    return [(m.group().lower(), m.start(), m.end()) for m in pattern.finditer(source)]


def _char_grams(word: str, low: int, high: int) -> list[tuple[str, int, int]]:
    """``char_wb`` n-grams of one word as scikit-learn counts them, with their place in the
    word (the padding spaces clipped off)."""
    padded = f" {word} "
    grams = []
    for n in range(low, high + 1):
        if len(padded) <= n:  # a short word is one n-gram, counted once
            grams.append((padded, 0, len(word)))
            break
        for q in range(len(padded) - n + 1):
            grams.append((padded[q : q + n], max(q - 1, 0), min(q - 1 + n, len(word))))
    return grams


def _token_shares(
    backend: TfidfLinear, normalized: str, tokens: list[tuple[str, int, int]]
) -> dict[int, list[dict[int, float]]]:
    """For each feature the text has, its occurrences as ``{token index: share}``."""
    found: dict[int, list[dict[int, float]]] = defaultdict(list)
    words = [t for t, _, _ in tokens]
    vocabulary = backend.word_.vocabulary_
    low, high = backend.word_.ngram_range
    for n in range(low, high + 1):
        for k in range(len(words) - n + 1):
            j = vocabulary.get(" ".join(words[k : k + n]))
            if j is not None:
                found[j].append({k + m: 1.0 / n for m in range(n)})
    lower = normalized.lower()
    if backend.char_ is None or len(lower) != len(normalized):
        return found
    offset = len(vocabulary)
    chars = backend.char_.vocabulary_
    covering: list[list[int]] = [[] for _ in normalized]  # the tokens on each character
    for i, (_, s, e) in enumerate(tokens):
        for at in range(s, e):
            covering[at].append(i)
    for word in re.finditer(r"\S+", lower):
        for gram, a, b in _char_grams(word.group(), *backend.char_.ngram_range):
            j = chars.get(gram)
            if j is None:
                continue
            start, end = word.start() + a, word.start() + b
            share: dict[int, float] = defaultdict(float)
            for at in range(start, end):
                for i in covering[at]:
                    share[i] += 1.0 / (end - start)
            found[offset + j].append(share)
    return found


def token_weights(
    backend: TfidfLinear,
    texts: Sequence[str],
    columns: Sequence[int],
    aspects: Sequence[str] | None = None,
) -> list[list[Weighted]]:
    """Every word of each text with its contribution to the logit of class ``columns[i]``.

    Parameters
    ----------
    backend : TfidfLinear
        A fitted ``cxml.tfidf_linear.v1`` backend.
    texts : sequence of str
        The texts as given; offsets point into them.
    columns : sequence of int
        Per text, the column of ``backend.predict_proba`` to explain.
    aspects : sequence of str, default=None
        Per text, the aspect (theme) of a backend trained with aspects.

    Returns
    -------
    list of list of (start, end, weight)
        Per text, one entry per word token (none for a text whose normalisation cannot be
        traced back to it).
    """
    normalized_rows = [normalize_with_offsets(t) for t in texts]
    features = backend._features(list(texts)).tocsr()
    n_features = features.shape[1]
    known: dict[tuple[int, str | None], np.ndarray | None] = {}  # per (column, aspect)
    out: list[list[Weighted]] = []
    for i, aligned in enumerate(normalized_rows):
        key = (int(columns[i]), None if aspects is None else str(aspects[i]))
        if key not in known:
            found = _coefficients(backend.head_, key[0])
            known[key] = (
                None
                if found is None
                else _aspect_coefficients(backend, *found, key[1], n_features)[0]
            )
        coef = known[key]
        if aligned is None or coef is None:
            out.append([])
            continue
        normalized, offsets = aligned
        tokens = _word_tokens(backend, normalized)
        weights = np.zeros(len(tokens))
        row = features[i]
        values = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        for j, occurrences in _token_shares(backend, normalized, tokens).items():
            if j not in values:
                continue
            each = values[j] * coef[j] / len(occurrences)
            for occurrence in occurrences:
                for k, share in occurrence.items():
                    weights[k] += each * share
        out.append(
            [
                (offsets[s][0], offsets[e - 1][1], float(w))
                for (_, s, e), w in zip(tokens, weights, strict=True)
                if e > s
            ]
        )
    return out


def _units(text: str) -> list[tuple[int, int]]:
    """The words of ``text`` (letters and digits, with an inner apostrophe), or runs of
    consecutive words so that there are at most :data:`MAX_UNITS`."""
    words = [(m.start(), m.end()) for m in _OCCLUDED.finditer(text)]
    size = -(-len(words) // MAX_UNITS) if words else 1
    return [
        (words[k][0], words[min(k + size, len(words)) - 1][1]) for k in range(0, len(words), size)
    ]


def occlusion_weights(
    proba: Scorer,
    texts: Sequence[str],
    columns: Sequence[int],
    aspects: Sequence[str] | None = None,
) -> list[list[Weighted]]:
    """Each word's weight: how much the probability of class ``columns[i]`` drops when the word
    is left out of the text (one call of ``proba`` for all texts and variants).

    >>> def p_late(texts, aspects):
    ...     p = np.array([0.9 if "late" in t else 0.2 for t in texts])
    ...     return np.column_stack([1 - p, p])
    >>> occlusion_weights(p_late, ["parcel late"], [1])
    [[(0, 6, 0.0), (7, 11, 0.7)]]
    """
    variants: list[str] = []
    owners: list[str] = []
    units = [_units(t) for t in texts]
    for i, text in enumerate(texts):
        variants.append(text)
        variants.extend(text[:s] + text[e:] for s, e in units[i])
        owners.extend([str(aspects[i]) if aspects is not None else ""] * (len(units[i]) + 1))
    scores = np.asarray(proba(variants, owners if aspects is not None else None))
    out: list[list[Weighted]] = []
    at = 0
    for i, spans in enumerate(units):
        column = int(columns[i])
        full = scores[at, column]
        out.append(
            [
                (s, e, round(float(full - scores[at + 1 + k, column]), 12))
                for k, (s, e) in enumerate(spans)
            ]
        )
        at += len(spans) + 1
    return out


def _weights(
    backend: Any,
    proba: Scorer,
    texts: list[str],
    columns: list[int],
    aspects: list[str] | None = None,
) -> list[list[Weighted]]:
    if not texts:
        return []
    if isinstance(backend, Distilled):  # the student alone predicts
        backend = backend.student_
    if isinstance(backend, TfidfLinear):
        return token_weights(backend, texts, columns, aspects)
    return occlusion_weights(proba, texts, columns, aspects)


def _theme_evidence(
    model: ThemeClassifier | ZeroShotThemeClassifier,
    texts: list[str],
    themes: Sequence[Sequence[str]],
    out: list[dict[str, list[EvidenceSpan]]],
    top: int,
) -> None:
    index = {str(name): k for k, name in enumerate(model.classes_)}
    pairs = [(i, str(t)) for i, chosen in enumerate(themes) for t in chosen]
    backend = model.backend_ if isinstance(model, ThemeClassifier) else None
    weights = _weights(
        backend,
        lambda ts, _: model.predict_proba(ts),
        [texts[i] for i, _ in pairs],
        [index[t] for _, t in pairs],
    )
    for (i, theme), found in zip(pairs, weights, strict=True):
        out[i][evidence_key("theme", theme)] = top_spans(texts[i], found, top)


def _theme_sentiment_evidence(
    model: ThemeSentimentClassifier,
    texts: list[str],
    polarities: Sequence[dict[str, str]],
    out: list[dict[str, list[EvidenceSpan]]],
    top: int,
) -> None:
    index = {str(name): k for k, name in enumerate(model.classes_)}
    pairs = [(i, str(t), str(p)) for i, row in enumerate(polarities) for t, p in row.items()]

    def proba(ts: list[str], aspects: list[str] | None) -> np.ndarray:
        return model.predict_proba(pd.DataFrame({"text": ts, "theme": aspects}))

    weights = _weights(
        model.backend_,
        proba,
        [texts[i] for i, _, _ in pairs],
        [index[p] for _, _, p in pairs],
        [t for _, t, _ in pairs],
    )
    for (i, theme, _), found in zip(pairs, weights, strict=True):
        out[i][evidence_key("theme_sentiment", theme)] = top_spans(texts[i], found, top)


def explain(
    estimator: Any, X: Any, outputs: pd.DataFrame, *, top: int = TOP
) -> list[dict[str, list[EvidenceSpan]]]:
    """The evidence of each comment's predictions ``outputs`` (from ``estimator.predict_frame``).

    Parameters
    ----------
    estimator : SentimentClassifier, ThemeModel, ThemeClassifier or ZeroShotThemeClassifier
        The fitted comment model that made ``outputs``.
    X : array-like of str or DataFrame with a ``text`` column
        The comments, as given.
    outputs : DataFrame
        ``sentiment`` for a sentiment model; ``themes`` (and ``theme_sentiment``) for themes.
    top : int, default=5
        Most spans per prediction.

    Returns
    -------
    list of dict
        Per comment, :func:`~cxml.contracts.outputs.evidence_key` -> spans, strongest first.

    Examples
    --------
    >>> clf = SentimentClassifier(params={"min_df": 1, "char_ngrams": None}).fit(
    ...     ["great, thanks", "awful and slow", "love it", "terrible service"],
    ...     ["positive", "negative", "positive", "negative"])
    >>> texts = ["Great, love it"]
    >>> [s["text"] for s in explain(clf, texts, clf.predict_frame(texts))[0]["sentiment"]]
    ['love', 'it', 'Great']
    """
    texts = as_texts(X).tolist()
    out: list[dict[str, list[EvidenceSpan]]] = [{} for _ in texts]
    if isinstance(estimator, SentimentClassifier):
        index = {str(c): k for k, c in enumerate(estimator.classes_)}
        columns = [index[str(label)] for label in outputs["sentiment"]]
        weights = _weights(
            estimator.backend_, lambda ts, _: estimator.predict_proba(ts), texts, columns
        )
        for i, found in enumerate(weights):
            out[i][evidence_key("sentiment")] = top_spans(texts[i], found, top)
        return out
    themes = estimator.themes if isinstance(estimator, ThemeModel) else estimator
    if not isinstance(themes, ThemeClassifier | ZeroShotThemeClassifier):
        raise BadInputError(
            f"evidence is given by comment models; a {type(estimator).__name__} has none"
        )
    _theme_evidence(themes, texts, outputs["themes"].tolist(), out, top)
    if isinstance(estimator, ThemeModel) and estimator.sentiment is not None:
        polarities = outputs["theme_sentiment"].tolist()
        _theme_sentiment_evidence(estimator.sentiment, texts, polarities, out, top)
    return out
