"""Scoring: batch over files (and, as they land, the HTTP service, Spark and the Python API)."""

from cxml.scoring.batch import BatchResult, analyze_comments_file, score_tickets_file

__all__ = ["BatchResult", "analyze_comments_file", "score_tickets_file"]
