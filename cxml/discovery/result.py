"""Discover themes in a table or a list of comments, and write what was found to a folder.

The folder holds ``assignments.parquet`` (the input rows with their theme), ``themes.csv`` (one
row per theme) and ``taxonomy.yaml``, a taxonomy the zero-shot theme classifier accepts
(:func:`cxml.comments.zeroshot.load_taxonomy`): rename the themes, edit them, and classify new
comments with it, or give it back to :func:`discover` (``taxonomy=``) to keep those themes.

Every theme carries a stable ``id`` and a ``status``: ``known`` when it came from the taxonomy
given, ``new`` when discovery proposed it. Through the YAML, re-run with it:

* **rename**: change ``name``; the ``id`` stays, and so does the theme;
* **merge**: give two themes the same ``id``; they become one, named after the first;
* **split**: add a theme (a name, examples of its own, no ``id``); it is kept as a known theme
  and takes the comments nearer to its examples than to the theme it came out of;
* **drop**: delete the entry; its comments go to other themes or to a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cxml.comments.zeroshot import Taxonomy
from cxml.data.io import write_table, write_text
from cxml.discovery.known import KnownThemes
from cxml.discovery.model import OUTLIER, ThemeDiscovery, strip_noise
from cxml.text.encoders import resolve_encoder
from cxml.text.lang import detect_lang
from cxml.text.tokenize import has_hangul

__all__ = ["ASSIGNMENT_COLUMNS", "THEME_COLUMNS", "DiscoveryResult", "discover", "write_discovery"]

#: Columns :func:`discover` adds to each input row.
ASSIGNMENT_COLUMNS = ("theme_id", "theme_stable_id", "theme", "theme_similarity", "outlier")
#: Columns of the themes table.
THEME_COLUMNS = (
    "theme_id",
    "id",
    "status",
    "theme",
    "label",
    "size",
    "share",
    "top_terms",
    "representatives",
)

_DESCRIPTION = {"en": "Comments about {}.", "ko": "{}에 관한 의견."}


@dataclass(frozen=True)
class DiscoveryResult:
    """Themes found by :func:`discover`.

    Attributes
    ----------
    assignments : pandas.DataFrame
        The input rows (a frame's columns, or just ``text``) plus :data:`ASSIGNMENT_COLUMNS`:
        ``theme_id`` (the theme's row in ``themes``, -1 for outliers), ``theme_stable_id``
        (its ``id``, empty for outliers), ``theme`` (its name, empty for outliers),
        ``theme_similarity`` (cosine similarity to the nearest theme; NaN for empty comments)
        and ``outlier``.
    themes : pandas.DataFrame
        One row per theme, largest first, columns :data:`THEME_COLUMNS`: ``id`` is stable
        across runs, ``status`` is ``known`` or ``new``, ``theme`` the name (a known theme's
        own, else a readable phrase), ``label`` the first c-TF-IDF terms; ``share`` is of all
        rows, ``top_terms`` and ``representatives`` are lists.
    model : ThemeDiscovery
        The fitted model (it can :meth:`~ThemeDiscovery.predict` themes of new comments).
    """

    assignments: pd.DataFrame
    themes: pd.DataFrame
    model: ThemeDiscovery

    @property
    def outlier_share(self) -> float:
        """Share of rows in no theme."""
        return float(self.assignments["outlier"].mean()) if len(self.assignments) else 0.0

    def to_taxonomy(self, name: str = "discovered") -> dict[str, Any]:
        """A taxonomy dict that :class:`~cxml.comments.zeroshot.Taxonomy` validates.

        A known theme is written as the taxonomy gave it (merged themes as one). A new theme is
        named by its name; its description lists its terms per language and its examples are
        its representative comments, by language. Every theme has its ``id`` and ``status``.
        """
        given = self.model.known
        known = dict(zip(given.ids, given.themes, strict=True)) if given is not None else {}
        themes: list[dict[str, Any]] = []
        for row in self.themes.to_dict(orient="records"):
            if row["status"] == "known":
                themes.append(known[row["id"]].model_dump(exclude_none=True))
                continue
            by_lang: dict[str, list[str]] = {"en": [], "ko": []}
            for term in row["top_terms"]:
                by_lang["ko" if has_hangul(term) else "en"].append(term)
            description = {
                lang: _DESCRIPTION[lang].format(", ".join(terms[:5]))
                for lang, terms in by_lang.items()
                if terms
            }
            examples: dict[str, list[str]] = {}
            texts = row["representatives"]
            for text, lang in zip(texts, detect_lang(texts), strict=True):
                examples.setdefault(str(lang), []).append(text)
            themes.append(
                {
                    "name": row["theme"],
                    "id": row["id"],
                    "status": "new",
                    "description": description,
                    "examples": examples,
                }
            )
        taxonomy = Taxonomy.model_validate({"name": name, "version": 1, "themes": themes})
        return taxonomy.model_dump(exclude_none=True)

    def to_yaml(self, name: str = "discovered") -> str:
        """:meth:`to_taxonomy` as YAML, with a header saying where it came from."""
        header = (
            f"# Themes discovered by cxml in {len(self.assignments)} comments. Rename them, edit\n"
            "# descriptions and examples, then classify comments with this file as a taxonomy.\n"
        )
        body = yaml.safe_dump(self.to_taxonomy(name), allow_unicode=True, sort_keys=False)
        return header + body


def discover(
    data: pd.DataFrame | Sequence[str],
    *,
    vectors: np.ndarray | None = None,
    taxonomy: Taxonomy | dict[str, Any] | str | Path | None = None,
    **params: Any,
) -> DiscoveryResult:
    """Discover themes in ``data``: a frame with a ``text`` column, or a sequence of texts.

    Parameters
    ----------
    data : DataFrame or sequence of str
        The comments; a frame's other columns are carried into the assignments.
    vectors : ndarray of shape (n_rows, n_dims), default=None
        Precomputed sentence vectors of the texts (from the same encoder).
    taxonomy : Taxonomy, dict, str or Path, default=None
        Known themes to keep (a taxonomy, e.g. one this function wrote): they keep their ids
        and names, and only what matches none of them becomes new themes (module docstring).
    **params
        :class:`ThemeDiscovery` parameters.

    Returns
    -------
    DiscoveryResult
    """
    frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame({"text": list(data)})
    if taxonomy is not None:
        texts = [strip_noise(str(t)) for t in frame["text"].fillna("")]
        encoder = resolve_encoder(params.get("encoder", "auto"), texts)
        params["known"] = KnownThemes.from_taxonomy(taxonomy, encoder=encoder)
    model = ThemeDiscovery(**params).fit(frame, vectors=vectors)
    labels = model.labels_
    outlier = labels == OUTLIER
    names = np.array([*model.names_, ""], dtype=object)
    ids = np.array([*model.ids_, ""], dtype=object)
    frame["theme_id"] = labels
    frame["theme_stable_id"] = ids[labels]  # -1 picks the trailing ""
    frame["theme"] = names[labels]
    frame["theme_similarity"] = model.similarity_
    frame["outlier"] = outlier
    themes = pd.DataFrame(
        {
            "theme_id": np.arange(len(model.sizes_)),
            "id": model.ids_,
            "status": np.where(model.known_, "known", "new"),
            "theme": model.names_,
            "label": model.theme_labels_,
            "size": model.sizes_,
            "share": model.sizes_ / max(len(frame), 1),
            "top_terms": model.terms_,
            "representatives": model.representatives_,
        },
        columns=list(THEME_COLUMNS),
    )
    return DiscoveryResult(assignments=frame, themes=themes, model=model)


def write_discovery(
    result: DiscoveryResult, folder: str | Path, *, assignments: str = "assignments.parquet"
) -> dict[str, Path]:
    """Write ``assignments`` (any table format by extension), ``themes.csv`` and
    ``taxonomy.yaml`` into ``folder``, each atomically; returns their paths by kind."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "assignments": write_table(result.assignments, out / assignments),
        "themes": write_table(result.themes, out / "themes.csv"),
        "taxonomy": out / "taxonomy.yaml",
    }
    write_text(paths["taxonomy"], result.to_yaml())
    return paths
