"""Comment models: overall sentiment (and, as they land, themes and theme-level sentiment)."""

from cxml.comments.sentiment import SentimentClassifier

__all__ = ["SentimentClassifier"]
