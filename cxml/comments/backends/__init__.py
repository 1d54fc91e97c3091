"""Comment-model backends, added by versioned name to :data:`cxml.catalog.backends`.

Every backend is a scikit-learn classifier over texts (optionally with an ``aspect`` column) that
handles one label per row or many (see :mod:`cxml.comments.backends._linear`):

* ``cxml.tfidf_linear.v1``: word (Korean morphemes) and character TF-IDF, logistic regression;
* ``cxml.spacy_textcat.v1``: spaCy ``textcat`` / ``textcat_multilabel`` from a blank pipeline;
* ``cxml.encoder_linear.v1``: frozen sentence vectors (multilingual USE, MiniLM) with a linear head;
* ``cxml.finetune.v1``: a fine-tuned transformers encoder (MiniLM by default);
* ``cxml.contrastive.v1``: SetFit-style few-shot: a contrastively tuned encoder, a linear head;
* ``cxml.ensemble.v1``: a stacked combination of the others;
* ``cxml.distilled.v1``: a slow teacher (say, the ensemble) distilled into a fast linear student.

Importing this package adds them; looking a name up in the catalog imports its module.
"""

from cxml.comments.backends import (
    contrastive,
    distilled,
    encoder,
    ensemble,
    finetune,
    spacy_textcat,
    tfidf,
)

__all__ = ["contrastive", "distilled", "encoder", "ensemble", "finetune", "spacy_textcat", "tfidf"]
