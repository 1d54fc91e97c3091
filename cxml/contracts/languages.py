"""The language of a comment or ticket: an ISO 639-1 code, or ``"und"`` when nobody can tell.

A file or a request may give the language as a code (``de``), a BCP 47 tag (``pt-BR``, ``zh-TW``:
the primary subtag counts) or one of a few common names (``english``, ``한국어``); every part of
cxml reads it through :func:`lang_code`, so the validator, the HTTP service and the connectors
accept the same values.
"""

from __future__ import annotations

import re

__all__ = ["LANG_CODES", "UNDETERMINED", "lang_code"]

#: ISO 639-2's code for "undetermined": no letters, or too little text to tell.
UNDETERMINED = "und"

_ISO_639_1 = """
aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie
ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv
mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm
rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts
tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
"""

#: Every value the ``lang`` field may hold: the 183 ISO 639-1 codes and ``"und"``.
LANG_CODES: tuple[str, ...] = (*_ISO_639_1.split(), UNDETERMINED)

_NAMES = {
    "english": "en",
    "eng": "en",
    "영어": "en",
    "korean": "ko",
    "kor": "ko",
    "kr": "ko",
    "한국어": "ko",
}
_KNOWN = frozenset(LANG_CODES)
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")


def lang_code(value: str) -> str | None:
    """The ISO 639-1 code (or ``"und"``) that ``value`` names, ``None`` when it names none.

    >>> [lang_code(v) for v in ("en", " DE ", "pt-BR", "zh_TW", "Korean", "한국어", "xx", "")]
    ['en', 'de', 'pt', 'zh', 'ko', 'ko', None, None]
    """
    lowered = value.strip().lower()
    if lowered in _KNOWN:
        return lowered
    if lowered in _NAMES:
        return _NAMES[lowered]
    tag = _TAG.match(lowered)
    if tag is None:
        return None
    primary = _NAMES.get(tag.group(1), tag.group(1))
    return primary if primary in _KNOWN else None
