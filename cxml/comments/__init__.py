"""Comment models: overall sentiment, multi-label themes (trained or zero-shot from a taxonomy)
and theme-level sentiment."""

from cxml.comments.sentiment import SentimentClassifier
from cxml.comments.theme_model import ThemeModel
from cxml.comments.theme_sentiment import ThemeSentimentClassifier, theme_pairs
from cxml.comments.themes import ThemeClassifier
from cxml.comments.zeroshot import Taxonomy, ZeroShotThemeClassifier, load_taxonomy

__all__ = [
    "SentimentClassifier",
    "Taxonomy",
    "ThemeClassifier",
    "ThemeModel",
    "ThemeSentimentClassifier",
    "ZeroShotThemeClassifier",
    "load_taxonomy",
    "theme_pairs",
]
