"""Text normalisation applied before any model sees a text."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\ufeff]")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str, *, max_chars: int | None = None) -> str:
    """NFKC-normalise, drop control and zero-width characters, collapse whitespace.

    NFKC composes decomposed Hangul jamo into syllables and folds full-width forms, so the same
    words written on different keyboards look the same to a model.

    >>> normalize_text("  Ｆａｓｔ\\u200b  delivery!\\n\\n")
    'Fast delivery!'
    """
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text[:max_chars] if max_chars is not None else text
