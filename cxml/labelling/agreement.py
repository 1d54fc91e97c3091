"""Agreement between annotators: Cohen's kappa for two, Krippendorff's alpha (nominal) for more.

Both are chance-corrected: 1 is perfect agreement, 0 what chance gives, below 0 systematic
disagreement. Krippendorff's alpha uses every unit with at least two values, so an annotator
who skipped an item does not drop it for the others (Krippendorff, 2011, "Computing
Krippendorff's Alpha-Reliability").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from itertools import permutations

from sklearn.metrics import cohen_kappa_score

__all__ = ["cohen_kappa", "krippendorff_alpha"]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two annotators' labels of the same items (NaN when it is undefined:
    no item, or both gave one and the same label to everything).

    >>> cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"])
    0.5
    """
    if len(a) == 0 or (len(set(a)) == 1 and set(a) == set(b)):
        return float("nan")
    return float(cohen_kappa_score([str(v) for v in a], [str(v) for v in b]))


def krippendorff_alpha(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal values: ``units[u]`` holds each annotator's value for
    unit ``u`` (None where that annotator gave none). NaN when fewer than two values are
    pairable or when every value is the same.

    ``alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k``, with ``o`` the
    coincidence matrix (each unit's ordered pairs of values weighted ``1 / (m_u - 1)``), ``n_c``
    its margins and ``n`` the number of pairable values.

    >>> round(krippendorff_alpha([[0, 1], [1, 1], [0, 1], [0, 0], [0, 0], [0, 1], [0, 0],
    ...                           [0, 0], [1, 0], [0, 0]]), 3)
    0.095
    """
    coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        if len(values) < 2:
            continue
        weight = 1.0 / (len(values) - 1)
        for c, k in permutations(values, 2):
            coincidence[(c, k)] += weight
    margins: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), count in coincidence.items():
        margins[c] += count
    n = sum(margins.values())
    disagree = sum(count for (c, k), count in coincidence.items() if c != k)
    expected = n**2 - sum(m**2 for m in margins.values())  # sum over c != k of n_c n_k
    if n < 2 or expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * disagree / expected)
