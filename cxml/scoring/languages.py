"""Which languages a model saw in training, and a plain note when it is asked about others.

A trained model's languages are those of its reference profile (the ``lang`` shares of its
held-out rows, :mod:`cxml.monitoring.profile`); a model without one (zero-shot themes) knows the
languages of its sentence encoder (:data:`cxml.text.encoders.ENCODER_LANGS`). Rows in any other
language still get an answer, but the batch summary (local or Spark) and the service's response
``notes`` say how many there are, in which languages, and that the model never saw them; the
output's ``lang`` column tells which rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

import mlflow
import pandas as pd

from cxml.contracts.languages import UNDETERMINED
from cxml.errors import ModelLoadError
from cxml.monitoring.drift import MISSING, OTHER
from cxml.monitoring.profile import load_profile
from cxml.text.encoders import encoder_langs
from cxml.tracking.loader import LoadedModel

__all__ = ["lang_counts", "seen_langs", "unseen_lang_notes"]


def lang_counts(frame: pd.DataFrame) -> Counter[str]:
    """Rows per language of ``frame``'s ``lang`` column (none without one).

    >>> lang_counts(pd.DataFrame({"lang": ["en", "de", "en", None]}))
    Counter({'en': 2, 'de': 1})
    """
    return Counter(frame["lang"].dropna().astype(str)) if "lang" in frame else Counter()


def seen_langs(model: LoadedModel) -> frozenset[str] | None:
    """The languages ``model`` saw in training; None when that is not known.

    A profile that folded rare languages into ``"(other)"`` does not list them all: None.
    """
    has_profile, langs = _profile_langs(model.uri, model.version, mlflow.get_registry_uri())
    if has_profile:
        return langs
    encoder = getattr(model.estimator, "encoder", None)
    return encoder_langs(encoder) if isinstance(encoder, str) else None


@lru_cache(maxsize=64)
def _profile_langs(uri: str, version: str, registry: str) -> tuple[bool, frozenset[str] | None]:
    """Whether model ``uri`` has a reference profile with languages, and those languages (None
    when folded). Cached by the model's version and ``registry`` (a version never changes), so
    the service reads each profile once rather than once a request."""
    try:
        part = load_profile(uri).categories.get("lang")
    except ModelLoadError:
        return False, None
    if part is None:
        return False, None
    shares = part["shares"]
    return True, None if OTHER in shares else frozenset(shares) - {MISSING}


def unseen_lang_notes(counts: Mapping[str, int], models: Sequence[LoadedModel]) -> list[str]:
    """One note per model that is asked about rows in languages it never saw.

    ``counts`` is the number of rows per language code (``"und"``, no language, is never
    counted against a model).
    """
    notes = []
    for model in models:
        seen = seen_langs(model)
        if seen is None:
            continue
        unseen = {
            lang: n for lang, n in counts.items() if lang not in seen and lang != UNDETERMINED
        }
        if not unseen:
            continue
        rows = sum(unseen.values())
        listed = ", ".join(f"{lang} {n:,}" for lang, n in sorted(unseen.items(), key=_largest))
        notes.append(
            f"{model.name}/{model.version} saw only {', '.join(sorted(seen))} in training: "
            f"{rows:,} row{'' if rows == 1 else 's'} in other languages ({listed}) got answers "
            "it cannot vouch for (see the lang column)"
        )
    return notes


def _largest(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]
