"""Language-aware word tokens: Korean morphemes (kiwipiepy), English words.

Korean glues particles and endings to stems (``배송이``, ``배송은``, ``배송도`` are one noun), so
whole-word features scatter one meaning over many columns. Splitting Korean into morphemes with
Kiwi brings them back together; English and other Latin-script text is split into lower-cased
words and kept punctuation marks.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from typing import Any

__all__ = ["has_hangul", "kiwi", "token_spans", "tokenize", "tokenize_many"]

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?]", re.UNICODE)


def has_hangul(text: str) -> bool:
    """Whether ``text`` holds at least one Hangul letter."""
    return _HANGUL.search(text) is not None


@cache
def kiwi() -> Any:
    """The shared Kiwi morphological analyser of Korean (loaded once)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def tokenize(text: str) -> list[str]:
    """Tokens of one text: morphemes when it has Hangul, else lower-cased words.

    >>> tokenize("The app crashed twice!")
    ['the', 'app', 'crashed', 'twice', '!']
    >>> tokenize("배송이 늦어요")[:2]
    ['배송', '이']
    """
    return tokenize_many([text])[0]


def tokenize_many(texts: Iterable[str]) -> list[list[str]]:
    """:func:`tokenize` for many texts; the Korean ones go through Kiwi in one batch.

    The morphemes of the latest Korean texts are remembered, so the models that score the same
    chunk one after another (sentiment, themes, theme sentiment) analyse each text once.
    """
    texts = list(texts)
    out: list[list[str]] = [[] for _ in texts]
    korean = []
    for i, t in enumerate(texts):
        if not has_hangul(t):
            out[i] = _words(t)
        elif (known := _MORPHEMES.get(t)) is not None:
            out[i] = list(known)
        else:
            korean.append(i)
    if korean:
        analysed = kiwi().tokenize([texts[i] for i in korean])
        for i, tokens in zip(korean, analysed, strict=True):
            out[i] = [tok.form.lower() for tok in tokens]
            _MORPHEMES.put(texts[i], tuple(out[i]))
    return out


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """The tokens of :func:`tokenize` with where each one is in ``text``: ``(token, start,
    end)``. A Korean morpheme that Kiwi restores (``했`` -> ``하``, ``었``) spans the syllable
    it came from.

    >>> token_spans("Late again!")
    [('late', 0, 4), ('again', 5, 10), ('!', 10, 11)]
    >>> token_spans("배송이 늦어요")[:2]
    [('배송', 0, 2), ('이', 2, 3)]
    """
    if has_hangul(text):
        return [(t.form.lower(), t.start, t.start + t.len) for t in kiwi().tokenize(text)]
    lower = text.lower()
    source = lower if len(lower) == len(text) else text  # lower-casing that changes lengths
    return [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(source)]


class _Recent:
    """A bounded, thread-safe map of the most recently stored items."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, ...] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: tuple[str, ...]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_MORPHEMES = _Recent(50_000)
