"""Sentence vectors to themes: a Ward tree picks how many, k-means settles where they are.

Every step that depends on row order runs on the rows sorted by a hash of their text, and no step
draws random numbers, so the same rows in any order give the same themes:

1. A Ward tree over the vectors (the first ``sample_size`` rows in hash order when there are more,
   a uniform sample that only depends on the texts) gives, for each number of themes k, the cost
   of the merge that would leave k - 1. The number of themes is the elbow of that curve over
   ``[k_min, k_max]``: the point farthest below the chord from its first to its last point
   (Satopää et al., "Kneedle", 2011).
2. k-means on all rows, started from the centroids of the tree's k clusters, refines them;
   themes smaller than ``min_size`` are dissolved into their nearest neighbours.
3. Each row belongs to the theme whose centroid is the most cosine-similar. A row is an outlier
   when that similarity is below the theme's lower Tukey fence (Q1 - ``fence`` * IQR of its
   members' similarities): far from every centroid, not merely between two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize

__all__ = ["Clustering", "cluster_vectors", "content_order", "elbow", "nearest", "tukey_fences"]


def content_order(texts: Sequence[str]) -> np.ndarray:
    """Indices that sort ``texts`` by the SHA-1 of their UTF-8 bytes, an order set by content."""
    keys = [hashlib.sha1(t.encode("utf-8")).digest() for t in texts]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)


def elbow(ks: np.ndarray, costs: np.ndarray) -> int:
    """The ``k`` where the falling curve ``costs`` bends most: farthest below its chord."""
    if len(ks) < 3 or costs[0] == costs[-1]:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (costs - costs[-1]) / (costs[0] - costs[-1])
    return int(ks[np.argmax((1 - x) - y)])


def nearest(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the most cosine-similar centroid per row, and that similarity."""
    sims = normalize(vectors) @ normalize(centroids).T
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(vectors)), best]


def tukey_fences(similarity: np.ndarray, labels: np.ndarray, n: int, fence: float) -> np.ndarray:
    """Lower Tukey fence of the similarities of each of ``n`` themes' members."""
    out = np.full(n, -np.inf)
    for k in range(n):
        mine = similarity[labels == k]
        if len(mine):
            q1, q3 = np.percentile(mine, [25, 75])
            out[k] = q1 - fence * (q3 - q1)
    return out


@dataclass(frozen=True)
class Clustering:
    """Themes found in a set of vectors.

    Attributes
    ----------
    centroids : ndarray of shape (n_themes, n_dims)
        Unit-length theme centroids.
    labels : ndarray of shape (n_rows,)
        Nearest theme of each row (outliers included).
    similarity : ndarray of shape (n_rows,)
        Cosine similarity of each row to its theme's centroid.
    fences : ndarray of shape (n_themes,)
        Similarity below which a row of that theme is an outlier.
    candidates : ndarray of shape (n_candidates,)
        Numbers of themes considered.
    merge_costs : ndarray of shape (n_candidates,)
        Ward merge cost of going from each candidate number of themes to one fewer.
    """

    centroids: np.ndarray
    labels: np.ndarray
    similarity: np.ndarray
    fences: np.ndarray
    candidates: np.ndarray
    merge_costs: np.ndarray

    @property
    def outliers(self) -> np.ndarray:
        """Rows far from every centroid, shape (n_rows,), bool."""
        return self.similarity < self.fences[self.labels]


def cluster_vectors(
    vectors: np.ndarray,
    *,
    k_min: int,
    k_max: int,
    min_size: int,
    sample_size: int,
    fence: float,
) -> Clustering:
    """Find themes in ``vectors``, shape (n_rows, n_dims), given in content order.

    The number of themes is chosen in ``[k_min, min(k_max, n_rows // min_size)]``; see the module
    docstring for the steps.
    """
    n = len(vectors)
    sample = np.asarray(vectors[:sample_size], dtype=np.float64)
    top = max(min(k_max, n // min_size, len(sample) - 1), 1)
    tree = linkage(sample, method="ward")
    ks = np.arange(min(k_min, top), top + 1)
    costs = tree[len(sample) - ks, 2]
    tree_labels = fcluster(tree, elbow(ks, costs), criterion="maxclust")
    start = np.stack([sample[tree_labels == c].mean(axis=0) for c in np.unique(tree_labels)])
    kmeans = KMeans(n_clusters=len(start), init=start, n_init=1).fit(vectors)
    centroids = kmeans.cluster_centers_
    labels, _ = nearest(vectors, centroids)
    sizes = np.bincount(labels, minlength=len(centroids))
    keep = sizes >= min_size
    if not keep.any():
        keep = sizes == sizes.max()
    centroids = normalize(centroids[keep])
    labels, similarity = nearest(vectors, centroids)
    return Clustering(
        centroids=centroids,
        labels=labels,
        similarity=similarity,
        fences=tukey_fences(similarity, labels, len(centroids), fence),
        candidates=ks,
        merge_costs=costs,
    )
