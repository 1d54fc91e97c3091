"""Emerging themes: clusters of recent comments that match no known theme, and how they grow.

The recent comments are clustered as :func:`~cxml.discovery.discover` does with known themes
(:class:`~cxml.discovery.known.KnownThemes`): a cluster whose centroid matches a known theme is
that theme, every other cluster of at least ``min_size`` comments is an emerging theme, with a
stable id, a readable name, its c-TF-IDF terms and its representative comments. Its growth is its
share of the comments per period (when the caller gives each row's period: the earlier comments
count by the theme they would join) and the least-squares slope of that share over the periods,
in share points per period.

With ``earlier`` comments, the known themes' centroids are first refreshed with them (each
earlier comment joins its nearest known theme, :meth:`KnownThemes.fit`), so clusters are matched
against the themes as customers write about them rather than as a taxonomy words them, and a
cluster is emerging only when it is rarer earlier: its recent count is tested against its
earlier share (the earlier comments the cluster would claim, plus one half, over their number
plus one) with a one-sided binomial test at ``alpha``. On generated streams without a new theme
(with the ``use`` encoder) this removed the one cluster found (6.0 % of recent comments, 4.7 %
of earlier ones); a planted theme (13 % recent, 0.3 % earlier) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from cxml.discovery.known import KnownThemes
from cxml.discovery.model import _prepare
from cxml.discovery.result import DiscoveryResult, discover
from cxml.text.encoders import encode

__all__ = ["EMERGING_COLUMNS", "EmergingResult", "find_emerging", "share_slope"]

#: Columns of :attr:`EmergingResult.themes`.
EMERGING_COLUMNS = (
    "id",
    "theme",
    "label",
    "top_terms",
    "size",
    "share",
    "representatives",
    "earlier_share",
    "p_value",
    "counts",
    "shares",
    "slope",
)


def share_slope(shares: np.ndarray) -> float:
    """Least-squares slope of ``shares`` over their positions 0, 1, ...; NaN for fewer than two.

    >>> share_slope(np.array([0.0, 0.1, 0.2]))
    0.1
    """
    if len(shares) < 2:
        return float("nan")
    x = np.arange(len(shares), dtype=np.float64)
    x -= x.mean()
    return round(float(x @ (shares - shares.mean()) / (x @ x)), 12)


@dataclass(frozen=True)
class EmergingResult:
    """Emerging themes in recent comments.

    Attributes
    ----------
    themes : pandas.DataFrame
        One row per emerging theme, largest first, columns :data:`EMERGING_COLUMNS`: ``id``
        (stable), ``theme`` (readable name), ``label`` (first terms), ``top_terms``, ``size``,
        ``share`` of the recent comments, ``representatives``, ``earlier_share`` (of the
        earlier comments) and ``p_value`` (of the test in the module docstring; both NaN
        without earlier comments), and per period of :attr:`periods` its ``counts``,
        ``shares`` and their ``slope`` (share points per period; NaN for fewer than 2 periods).
    periods : list
        The periods of the comments, in order: the earlier ones' when given, then the recent
        ones' (empty when none were given).
    discovery : DiscoveryResult or None
        The clustering of the recent comments (known themes included; ``status`` tells them
        apart); None when there were too few comments to cluster.
    note : str
        Why nothing could be looked for, else empty.
    """

    themes: pd.DataFrame
    periods: list[Any]
    discovery: DiscoveryResult | None
    note: str = ""

    def to_records(self) -> list[dict[str, Any]]:
        """:attr:`themes` as JSON-ready dicts (lists, floats; NaN as None)."""
        records = []
        for row in self.themes.to_dict(orient="records"):
            record = {str(k): v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
            records.append(
                {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in record.items()}
            )
        return records


def find_emerging(
    recent: pd.DataFrame,
    known: KnownThemes,
    *,
    earlier: pd.DataFrame | None = None,
    vectors: np.ndarray | None = None,
    min_size: int = 10,
    periods: pd.Series | None = None,
    earlier_periods: pd.Series | None = None,
    max_themes: int = 20,
    alpha: float = 0.01,
) -> EmergingResult:
    """Themes in ``recent`` comments (a frame with ``text``) that match none of ``known``.

    Parameters
    ----------
    recent : DataFrame
        The comments to look in.
    known : KnownThemes
        The themes already known; clusters matching them are not emerging.
    earlier : DataFrame, default=None
        Earlier comments (a frame with ``text``): they refresh the known themes, and a cluster
        must be rarer among them to be emerging (module docstring).
    vectors : ndarray of shape (n_recent, n_dims), default=None
        Sentence vectors of ``recent`` after :func:`~cxml.discovery.strip_noise`, from
        ``known.encoder``, when already computed.
    min_size : int, default=10
        Fewest comments an emerging theme has.
    periods : Series, default=None
        The period of each recent row (aligned with ``recent``, e.g. monitoring's
        ``period_starts(recent["created_at"], "W")``) for the growth columns.
    earlier_periods : Series, default=None
        The period of each earlier row (aligned with ``earlier``): the growth columns start
        with the earlier periods.
    max_themes : int, default=20
        Most clusters looked for in ``recent``.
    alpha : float, default=0.01
        Level of the test against the earlier share.

    Returns
    -------
    EmergingResult
    """
    if periods is not None and len(periods) != len(recent):
        raise ValueError(f"periods has {len(periods)} rows; recent has {len(recent)}")
    if earlier_periods is not None and (earlier is None or len(earlier_periods) != len(earlier)):
        raise ValueError("earlier_periods needs earlier, one period per earlier row")
    if periods is None:
        earlier_periods = None  # growth is over the recent periods or not at all
    known_periods = [p for p in (earlier_periods, periods) if p is not None]
    order = sorted(pd.unique(pd.concat(known_periods).dropna())) if known_periods else []
    filled = len(_prepare(recent)[2])
    if filled < 2 * min_size:
        note = (
            f"too few recent comments to look for emerging themes: {filled} with text, "
            f"{2 * min_size} needed (twice min_size)"
        )
        return EmergingResult(_empty(), order, None, note)
    cleaned = [t for t in _prepare(earlier)[1] if t] if earlier is not None else []
    if cleaned:
        known = known.fit(encode(cleaned, known.encoder))
    found = discover(
        recent,
        vectors=vectors,
        known=known,
        encoder=known.encoder,
        min_theme_size=min_size,
        max_themes=max_themes,
    )
    new = found.themes[found.themes["status"] == "new"]
    labels = found.assignments["theme_id"].to_numpy()
    earlier_labels = found.model.predict(earlier) if earlier is not None else None
    rows = []
    for theme in new.to_dict(orient="records"):
        mine = labels == theme["theme_id"]
        if earlier_periods is not None and earlier_labels is not None:
            before_mine = earlier_labels == theme["theme_id"]
            counts, shares = _per_period(
                np.concatenate([before_mine, mine]),
                pd.concat([earlier_periods, periods], ignore_index=True),
                order,
            )
        else:
            counts, shares = _per_period(mine, periods, order)
        earlier_share = p_value = float("nan")
        if earlier_labels is not None:
            before = int((earlier_labels == theme["theme_id"]).sum())
            earlier_share = before / max(len(earlier_labels), 1)
            p0 = (before + 0.5) / (len(earlier_labels) + 1)
            p_value = binomtest(int(theme["size"]), len(labels), p0, alternative="greater").pvalue
            if p_value >= alpha:
                continue
        rows.append(
            {
                **{k: theme[k] for k in ("id", "theme", "label", "top_terms", "size", "share")},
                "representatives": theme["representatives"],
                "earlier_share": earlier_share,
                "p_value": float(p_value),
                "counts": counts,
                "shares": shares,
                "slope": share_slope(np.array(shares)),
            }
        )
    themes = pd.DataFrame(rows, columns=list(EMERGING_COLUMNS)) if rows else _empty()
    return EmergingResult(themes, order, found)


def _per_period(
    mine: np.ndarray, periods: pd.Series | None, order: list[Any]
) -> tuple[list[int], list[float]]:
    """Rows of a theme per period, and their share of the period's rows."""
    if periods is None:
        return [], []
    values = periods.to_numpy()
    counts, shares = [], []
    for period in order:
        here = values == period
        counts.append(int((mine & here).sum()))
        shares.append(float((mine & here).sum() / here.sum()))
    return counts, shares


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(EMERGING_COLUMNS))
