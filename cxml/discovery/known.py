"""Known themes in a sentence encoder's space: what re-discovery keeps and new comments meet.

A known theme comes from a taxonomy (its description and examples) or from a discovery. Each
taxonomy entry has a centroid, the normalised sum of the unit vectors of its phrases; entries
that share an ``id`` are one theme (a merge) with one centroid per entry, named after the first,
so a merged theme holds the comments of both. Two rules decide what is known:

* a **comment** belongs to the theme of its most similar centroid when its cosine similarity
  clears that centroid's fence: the lower Tukey fence (Q1 - 1.5 IQR) of the similarities of the
  comments nearest to it (:meth:`KnownThemes.fit`), as discovery flags its outliers;
* a **cluster** of comments is a known theme when its centroid is more similar to one of that
  theme's centroids than any two centroids of different known themes are to each other
  (:attr:`KnownThemes.match_threshold`), so a cluster matches a theme only where the known
  themes themselves are told apart. On generated
  streams (with the ``use`` encoder) the clusters of a known theme met it at 0.91-0.97 and the
  clusters of a planted new theme at 0.61-0.65, against a threshold of 0.71.

A new theme's id is ``t-`` and the first 8 hex digits of the SHA-1 of its representative comments
sorted, so the same comments give the same id in any row order (:func:`theme_id`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.preprocessing import normalize

from cxml.comments.zeroshot import Taxonomy, TaxonomyTheme, load_taxonomy
from cxml.discovery.cluster import nearest, tukey_fences
from cxml.text.encoders import encode, resolve_encoder

if TYPE_CHECKING:
    from cxml.discovery.result import DiscoveryResult

__all__ = ["KnownThemes", "theme_id"]

#: Fence of the lower Tukey rule, as discovery's outliers.
FENCE = 1.5


def theme_id(texts: Sequence[str]) -> str:
    """A stable theme id from texts (its representative comments, or its name): their order
    does not matter.

    >>> theme_id(["late parcel", "no refund"]) == theme_id(["no refund", "late parcel"])
    True
    >>> theme_id(["late parcel"])
    't-5ed50ccc'
    """
    digest = hashlib.sha1("\n".join(sorted(texts)).encode("utf-8")).hexdigest()
    return f"t-{digest[:8]}"


def _merged(taxonomy: Taxonomy) -> tuple[list[TaxonomyTheme], np.ndarray]:
    """One theme per id (a theme without one is given :func:`theme_id` of its name), and the
    theme of each entry; themes sharing an id join the first's name, descriptions and examples."""
    by_id: dict[str, TaxonomyTheme] = {}
    owners = []
    for theme in taxonomy.themes:
        key = theme.id or theme_id([theme.name])
        owners.append(list(by_id).index(key) if key in by_id else len(by_id))
        if key not in by_id:
            by_id[key] = theme.model_copy(update={"id": key, "status": "known"}, deep=True)
            continue
        first = by_id[key]
        examples = {lang: list(texts) for lang, texts in first.examples.items()}
        for lang, texts in theme.examples.items():
            examples[lang] = list(dict.fromkeys([*examples.get(lang, []), *texts]))
        description = {**theme.description, **first.description}
        by_id[key] = first.model_copy(update={"examples": examples, "description": description})
    return list(by_id.values()), np.array(owners, dtype=np.intp)


@dataclass(frozen=True)
class KnownThemes:
    """Known themes: their taxonomy entries, centroids and fences.

    Attributes
    ----------
    themes : tuple of TaxonomyTheme
        One per theme, each with its ``id``; the names and phrases a taxonomy gave.
    centroids : ndarray of shape (n_centroids, n_dims)
        Unit-length centroids in the encoder's space, at least one per theme.
    fences : ndarray of shape (n_centroids,)
        Similarity a comment needs to belong to each centroid; ``-inf`` until :meth:`fit`.
    owners : ndarray of shape (n_centroids,)
        The theme (index into ``themes``) of each centroid.
    encoder : str
        The sentence encoder the centroids come from (see :mod:`cxml.text.encoders`).
    """

    themes: tuple[TaxonomyTheme, ...]
    centroids: np.ndarray
    fences: np.ndarray
    owners: np.ndarray
    encoder: str = "use"

    @classmethod
    def from_taxonomy(
        cls, taxonomy: Taxonomy | dict[str, Any] | str | Path, *, encoder: str = "use"
    ) -> KnownThemes:
        """The themes of a taxonomy (object, dict or YAML path), embedded with ``encoder``."""
        if isinstance(taxonomy, str | Path):
            taxonomy = load_taxonomy(taxonomy)
        elif isinstance(taxonomy, dict):
            taxonomy = Taxonomy.model_validate(taxonomy)
        themes, owners = _merged(taxonomy)
        phrases = [t.phrases() for t in taxonomy.themes]
        vectors = normalize(encode([p for ps in phrases for p in ps], encoder))
        entry = np.repeat(np.arange(len(phrases)), [len(ps) for ps in phrases])
        sums = np.stack([vectors[entry == k].sum(axis=0) for k in range(len(phrases))])
        fences = np.full(len(sums), -np.inf)
        return cls(tuple(themes), normalize(sums), fences, owners, encoder)

    @classmethod
    def from_comments(
        cls, texts: Sequence[str], themes: Sequence[Sequence[str]], *, encoder: str = "auto"
    ) -> KnownThemes:
        """The themes comments were given (classified or discovered): one centroid per theme,
        the normalised sum of its comments' unit vectors (after
        :func:`~cxml.discovery.strip_noise`), its fence the lower Tukey fence of their
        similarities to it. A theme's id is :func:`theme_id` of its name, as for a taxonomy
        entry without one. ``encoder`` "auto" is resolved on the texts
        (:func:`~cxml.text.encoders.resolve_encoder`).

        >>> known = KnownThemes.from_comments(
        ...     ["late parcel", "parcel came late", "rude agent", "agent was rude"],
        ...     [["delivery"], ["delivery"], ["staff"], ["staff", "delivery"]],
        ... )
        >>> known.names, known.encoder, known.centroids.shape
        (['delivery', 'staff'], 'use+minilm', (2, 896))
        """
        from cxml.discovery.model import strip_noise

        if len(texts) != len(themes):
            raise ValueError(f"{len(texts)} texts but {len(themes)} theme lists")
        names = sorted({str(name) for row in themes for name in row})
        if not names:
            raise ValueError("no comment has a theme: nothing is known")
        cleaned = [strip_noise(str(t)) for t in texts]
        encoder = resolve_encoder(encoder, cleaned)
        units = normalize(encode(cleaned, encoder).astype(np.float64))
        members = np.array([[name in row for name in names] for row in themes], dtype=bool)
        centroids = normalize(members.T.astype(np.float64) @ units)
        rows, owners = np.nonzero(members)
        similarity = np.einsum("ij,ij->i", units[rows], centroids[owners])
        fences = tukey_fences(similarity, owners, len(names), FENCE)
        entries = tuple(
            TaxonomyTheme(name=name, id=theme_id([name]), status="known") for name in names
        )
        return cls(entries, centroids, fences, np.arange(len(names)), encoder)

    @classmethod
    def from_discovery(cls, result: DiscoveryResult) -> KnownThemes:
        """The themes of a discovery, with its centroids and outlier fences."""
        taxonomy = Taxonomy.model_validate(result.to_taxonomy())
        model = result.model
        themes = tuple(taxonomy.themes)
        return cls(themes, model.centroids_, model.fences_, model.owners_, model.encoder_)

    @property
    def ids(self) -> list[str]:
        """Theme ids, in order."""
        return [str(t.id) for t in self.themes]

    @property
    def names(self) -> list[str]:
        """Theme names, in order."""
        return [t.name for t in self.themes]

    @property
    def match_threshold(self) -> float:
        """The highest cosine similarity between centroids of two different known themes
        (module docstring); a single theme has no such pair and matches any cluster at 0.5 or
        more."""
        other = self.owners[:, None] != self.owners[None, :]
        if not other.any():
            return 0.5
        return float((self.centroids @ self.centroids.T)[other].max())

    def fit(self, vectors: np.ndarray, labels: np.ndarray | None = None) -> KnownThemes:
        """These themes, refreshed from comments' sentence ``vectors``, shape (n, n_dims).

        Each theme's members are the rows ``labels`` gives it (a theme index per row, -1 for
        none), by default the rows nearest to it; each member joins the theme's nearest
        centroid, which becomes the normalised sum of itself and its members' unit vectors; its
        fence is the lower Tukey fence of its members' similarities (``-inf`` without members).
        """
        units = normalize(np.asarray(vectors, dtype=np.float64))
        sims = units @ self.centroids.T
        if labels is not None:
            sims[self.owners[None, :] != np.asarray(labels)[:, None]] = -np.inf
        entry = np.where(np.isfinite(sims.max(axis=1)), sims.argmax(axis=1), -1)
        sums = np.array(self.centroids, dtype=np.float64)
        for k in range(len(sums)):
            sums[k] += units[entry == k].sum(axis=0)
        centroids = normalize(sums)
        mine = entry >= 0
        similarity = np.einsum("ij,ij->i", units[mine], centroids[entry[mine]])
        fences = tukey_fences(similarity, entry[mine], len(centroids), FENCE)
        return replace(self, centroids=centroids, fences=fences)

    def assign(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``vectors``: the index of its known theme (-1 when below the fence of its
        nearest centroid, see the module docstring) and its similarity to that centroid."""
        best, similarity = nearest(np.asarray(vectors, dtype=np.float64), self.centroids)
        return np.where(similarity >= self.fences[best], self.owners[best], -1), similarity

    def match(self, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster centroid: the known theme it is (-1 for none, a new theme) and its
        similarity to the nearest known centroid."""
        best, similarity = nearest(np.asarray(centroids, dtype=np.float64), self.centroids)
        return np.where(similarity >= self.match_threshold, self.owners[best], -1), similarity
