"""Comment-model backends, registered by versioned name in :data:`cxml.registry.backends`.

Every backend is a scikit-learn classifier over texts (optionally with an ``aspect`` column) that
handles one label per row or many (see :mod:`cxml.comments.backends._linear`). Importing this
package registers them.
"""

from cxml.comments.backends import encoder, finetune, tfidf
from cxml.registry import backends

__all__ = ["backends", "encoder", "finetune", "tfidf"]
