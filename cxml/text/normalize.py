"""Text cleaning applied to every text cxml reads, and normalisation before a model sees it."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text", "normalize_text", "normalize_with_offsets", "replace_surrogates"]

#: Zero-width characters: zero-width space and joiners, direction marks, word joiners, BOM.
_ZERO_WIDTH = r"\u200b-\u200f\u2060-\u2064\ufeff"
_CONTROL = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f{_ZERO_WIDTH}]")
_SPACE = re.compile(r"\s+")
#: C0 control characters other than tab, newline and carriage return, and DEL.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Halves of a UTF-16 surrogate pair on their own: no file encoding can store them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_VISIBLE = re.compile(rf"[^\s{_ZERO_WIDTH}]")


def replace_surrogates(text: str) -> str:
    """Replace lone surrogates (``"\\ud800"`` from a JSON escape, say) with U+FFFD.

    Every writer does this to every string, so no value can stop a file from being written.
    """
    return _SURROGATE.sub("\ufffd", text)


def clean_text(text: str) -> str | None:
    """A text as cxml keeps and scores it, or None when it is empty.

    Lone surrogates become U+FFFD and C0 control characters other than tab, newline and
    carriage return (NUL, say) are removed. None means nothing is left once whitespace and
    zero-width characters are removed: the row's text is empty. Batch files, the Python API
    and the HTTP service all decide with this function.

    >>> clean_text("caf\\x00\\u00e9 \\ud800")
    'café \\ufffd'
    >>> clean_text(" \\u200b\\n") is None
    True
    """
    text = replace_surrogates(_UNSAFE.sub("", text))
    return text if _VISIBLE.search(text) else None


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


def _segments(text: str) -> list[tuple[int, int]]:
    """Runs of a character and what NFKC may compose with it (combining marks, Hangul jamo
    vowels and finals), as ``(start, end)``."""
    bounds, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not (
            unicodedata.combining(text[i]) or "\u1160" <= text[i] <= "\u11ff"
        ):
            bounds.append((start, i))
            start = i
    return bounds


def normalize_with_offsets(text: str) -> tuple[str, list[tuple[int, int]]] | None:
    """:func:`normalize_text` and, for each of its characters, the ``(start, end)`` of the
    original characters it came from; None when NFKC of the pieces differs from NFKC of the
    whole (a composition this segmentation does not foresee).

    >>> normalize_with_offsets(" Ｆａｓｔ\\n\\n ok")
    ('Fast ok', [(1, 2), (2, 3), (3, 4), (4, 5), (5, 8), (8, 9), (9, 10)])
    """
    pieces = [
        (char, start, end)
        for start, end in _segments(text)
        for char in unicodedata.normalize("NFKC", text[start:end])
    ]
    chars: list[tuple[str, int, int]] = []
    for char, start, end in pieces:
        char = " " if _CONTROL.match(char) or _SPACE.match(char) else char
        if char == " " and chars and chars[-1][0] == " ":
            chars[-1] = (" ", chars[-1][1], end)
        else:
            chars.append((char, start, end))
    while chars and chars[0][0] == " ":
        chars.pop(0)
    while chars and chars[-1][0] == " ":
        chars.pop()
    normalized = "".join(c for c, _, _ in chars)
    if normalized != normalize_text(text):
        return None
    return normalized, [(start, end) for _, start, end in chars]
