"""Per-row language detection for the languages cxml models: English and Korean."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["SUPPORTED_LANGS", "detect_lang"]

SUPPORTED_LANGS = ("en", "ko")
_HANGUL = r"[\uac00-\ud7a3\u3131-\u318e\u1100-\u11ff]"
_LATIN = r"[A-Za-z]"


def detect_lang(texts: Iterable[str] | pd.Series, *, korean_share: float = 0.3) -> np.ndarray:
    """Return ``"ko"`` or ``"en"`` for each text.

    A text is Korean when Hangul letters make up at least ``korean_share`` of its Hangul and Latin
    letters (a Korean sentence with an English product name stays Korean); anything else,
    including text with no letters at all, is treated as English.

    >>> detect_lang(["배송이 빨라요", "Fast delivery", "앱 login이 안 돼요"]).tolist()
    ['ko', 'en', 'ko']
    """
    s = pd.Series(list(texts) if not isinstance(texts, pd.Series) else texts, dtype=object)
    s = s.fillna("").astype(str)
    hangul = s.str.count(_HANGUL).to_numpy(dtype=float)
    latin = s.str.count(_LATIN).to_numpy(dtype=float)
    total = hangul + latin
    share = np.divide(hangul, total, out=np.zeros_like(hangul), where=total > 0)
    return np.where(share >= korean_share, "ko", "en").astype(object)
