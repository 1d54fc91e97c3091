"""Comment-model backends, registered by versioned name in :data:`cxml.registry.backends`.

Each backend module registers a factory that returns an unfitted scikit-learn classifier taking a
1-D array of texts (``fit``, ``predict_proba``, ``classes_``).
Importing this package registers them.
"""

from cxml.comments.backends import tfidf
from cxml.registry import backends

__all__ = ["backends", "tfidf"]
