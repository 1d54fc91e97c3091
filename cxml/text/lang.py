"""Per-row language detection: ISO 639-1 codes for any of 75 languages, English and Korean first.

Korean is decided by script, as it always was: a text is Korean when Hangul letters make up at
least ``korean_share`` of its Hangul and Latin letters (a Korean sentence with an English product
name stays Korean). An ASCII text with English function words ("the", "and", "you", ...) is
English without further ado: most English comments never reach a model. Every other text with
letters goes to lingua (``lingua-language-detector``, all 75 of its languages, low-accuracy
mode: trigram models only, about 80 MB resident instead of about 1 GB; figures in
``docs/languages.md``). English stays the default of a Latin-script text: another language
must be clear, i.e. the text has no English marker word, at least :data:`MIN_WORDS` words, and
lingua's high-accuracy models of English and of that language alone give that language at least
:data:`MIN_CONFIDENCE`; a text of ASCII letters only (no accent to go by) needs one more word and
:data:`MIN_CONFIDENCE_ASCII`. Those two models are loaded only for the languages met. So a short
"Nice", "no comment" or "Notihng to add." stays English, as before. A text with no letters is
``"und"``, as is one lingua cannot place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from cxml.contracts.languages import UNDETERMINED

__all__ = ["MIN_CONFIDENCE", "MIN_CONFIDENCE_ASCII", "MIN_WORDS", "SUPPORTED_LANGS", "detect_lang"]

#: The languages cxml's tokenizers, lexicons and synthetic data are written for.
SUPPORTED_LANGS = ("en", "ko")
#: A Latin-script text needs this many words before it may be anything but English.
MIN_WORDS = 3
#: Confidence (0-1) another language needs against English alone to replace English.
MIN_CONFIDENCE = 0.9
#: The same for a text written in ASCII letters only, which also needs ``MIN_WORDS + 1`` words.
MIN_CONFIDENCE_ASCII = 0.98

_HANGUL = r"[\uac00-\ud7a3\u3131-\u318e\u1100-\u11ff]"
_LATIN = r"[A-Za-z]"
_LETTER = r"[^\W\d_]"
_NON_ASCII_LETTER = r"[^\W\d_A-Za-z]"
#: Words that mark English and are not (short, common) words of another Latin-script language;
#: a text needs one of them and two of these or the shared ones to be English outright.
_ENGLISH = (
    "the and you your it its it's this that that's with have be are were they them their would "
    "could should but not what when which there from just very about after again never really "
    "please thanks thank we our can't don't didn't i'm i've"
)
_SHARED = "of had has will is was to for on at so in i me my a an no do as if or up out all been"
_WORD = re.compile(r"[^\W\d_]+")


def _words(names: str) -> str:
    return r"(?i)(?<![\w'])(?:" + "|".join(map(re.escape, names.split())) + r")(?![\w'])"


@cache
def _detector() -> Any:
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


@cache
def _against_english(code: str) -> Any:
    """A high-accuracy detector that knows only English and ``code``."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    other = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    return other, LanguageDetectorBuilder.from_languages(Language.ENGLISH, other).build()


def _latin(text: str) -> bool:
    """Most of the text's letters are Latin (accented ones included)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    return 2 * latin >= len(letters)


def _other(texts: list[str]) -> list[str]:
    """Codes of texts that are neither Korean by script nor plainly English."""
    found = _detector().detect_languages_in_parallel_of(texts)
    out: list[str] = []
    for text, language in zip(texts, found, strict=True):
        code = language.iso_code_639_1.name.lower() if language is not None else UNDETERMINED
        if code != "en" and _latin(text):
            code = _clear(text, code)
        out.append(code)
    return out


def _clear(text: str, code: str) -> str:
    """``code`` when a Latin-script text is clearly in it, else English."""
    ascii_only = text.isascii()
    words = len(_WORD.findall(text)) - ascii_only
    if code == UNDETERMINED or words < MIN_WORDS or re.search(_words(_ENGLISH), text):
        return "en"
    other, detector = _against_english(code)
    floor = MIN_CONFIDENCE_ASCII if ascii_only else MIN_CONFIDENCE
    return code if detector.compute_language_confidence(text, other) >= floor else "en"


def detect_lang(texts: Iterable[str] | pd.Series, *, korean_share: float = 0.3) -> np.ndarray:
    """Return the ISO 639-1 code of each text (``"und"`` when it has no letters).

    Each distinct text is detected once.

    >>> detect_lang(["배송이 빨라요", "Fast delivery", "앱 login이 안 돼요"]).tolist()
    ['ko', 'en', 'ko']
    >>> detect_lang(["Die Lieferung kam drei Tage zu spät.", "配送が遅れました。", "10/10"])
    array(['de', 'ja', 'und'], dtype=object)
    """
    s = pd.Series(list(texts) if not isinstance(texts, pd.Series) else texts, dtype=object)
    s = s.fillna("").astype(str)
    hangul = s.str.count(_HANGUL).to_numpy(dtype=float)
    latin = s.str.count(_LATIN).to_numpy(dtype=float)
    total = hangul + latin
    share = np.divide(hangul, total, out=np.zeros_like(hangul), where=total > 0)
    out = np.where(share >= korean_share, "ko", UNDETERMINED).astype(object)
    english = s.str.count(_words(_ENGLISH)).to_numpy()
    shared = s.str.count(_words(_SHARED)).to_numpy()
    plain = ~s.str.contains(_NON_ASCII_LETTER).to_numpy(dtype=bool)
    out[(out == UNDETERMINED) & plain & (english >= 1) & (english + shared >= 2)] = "en"
    rest = (out == UNDETERMINED) & s.str.contains(_LETTER).to_numpy(dtype=bool)
    if rest.any():
        unique = pd.unique(s[rest])
        codes = dict(zip(unique, _other(list(unique)), strict=True))
        out[rest] = s[rest].map(codes).to_numpy(dtype=object)
    return out
