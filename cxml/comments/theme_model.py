"""``cxml-themes``: the themes of each comment and how the comment feels about each one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from cxml.comments._base import as_texts
from cxml.comments.theme_sentiment import ThemeSentimentClassifier
from cxml.comments.themes import ThemeClassifier
from cxml.comments.zeroshot import ZeroShotThemeClassifier

__all__ = ["ThemeModel"]


@dataclass
class ThemeModel:
    """A fitted theme classifier (trained, or zero-shot from a taxonomy) and, when trained, a
    :class:`ThemeSentimentClassifier`.

    :meth:`predict_frame` gives the public columns ``themes``, ``theme_scores`` and
    ``theme_sentiment`` (theme -> polarity for each assigned theme; empty without a sentiment
    model).
    """

    themes: ThemeClassifier | ZeroShotThemeClassifier
    sentiment: ThemeSentimentClassifier | None = None

    def predict_frame(self, X: Any) -> pd.DataFrame:
        texts = as_texts(X)
        out = self.themes.predict_frame(texts)
        per_row: list[dict[str, str]] = [{} for _ in range(len(texts))]
        if self.sentiment is not None:
            pairs = pd.DataFrame(
                [(i, texts[i], t) for i, themes in enumerate(out["themes"]) for t in themes],
                columns=["row", "text", "theme"],
            )
            if len(pairs):
                polarity = self.sentiment.predict(pairs)
                for row, theme, label in zip(pairs["row"], pairs["theme"], polarity, strict=True):
                    per_row[row][theme] = str(label)
        out["theme_sentiment"] = pd.Series(per_row, dtype=object)
        return out
