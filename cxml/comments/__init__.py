"""Comment models: overall sentiment, multi-label themes and theme-level sentiment."""

from cxml.comments.sentiment import SentimentClassifier
from cxml.comments.theme_model import ThemeModel
from cxml.comments.theme_sentiment import ThemeSentimentClassifier, theme_pairs
from cxml.comments.themes import ThemeClassifier

__all__ = [
    "SentimentClassifier",
    "ThemeClassifier",
    "ThemeModel",
    "ThemeSentimentClassifier",
    "theme_pairs",
]
