"""The ``discovery`` benchmark: cxml theme discovery beside BERTopic's default pipeline.

Discovery is unsupervised, so there is no split: every row of the given files (``--train`` and
``--test`` together, or ``bitext_support/requests.jsonl`` under the data folder) is clustered,
and the themes are scored against the gold ``themes`` when the file has them. The gold class of
a row is its first theme (a record with several themes is scored by its first, as listed in the
file), and ``(none)`` when the list is empty. Outliers count as one more cluster in NMI and ARI,
for both systems. ``stable`` is 1 when the rows in a shuffled order get the same themes (the same
labels, and each row the same theme).

Discovery uses its default encoder, ``auto``: ``use+minilm`` (both encoders' vectors side by
side, :mod:`cxml.text.encoders`) for English files, ``use`` otherwise. The ``use_*`` figures
are the same discovery with ``use`` alone, the default until 2026-12-01.

BERTopic (``bertopic`` in the ``bench`` extra, never needed at run time) runs its default pipeline
(UMAP to 5 dimensions, HDBSCAN with ``min_topic_size=10``, c-TF-IDF) on vectors of the documents
as they are, from the same encoder (cxml's discovery encodes them after
:func:`~cxml.discovery.strip_noise`); only UMAP gets a fixed seed, so its figures repeat. Its
embedding model is that same cached encoder, so nothing is downloaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from cxml.config import DataConfig
from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid
from cxml.discovery import OUTLIER, discover, strip_noise
from cxml.text.encoders import encode, resolve_encoder

__all__ = ["bertopic_topics", "discovery_task", "gold_classes"]

DEFAULT_FILE = Path("bitext_support") / "requests.jsonl"
SHUFFLE_SEED = 13
#: The encoder the ``use_*`` figures compare with.
COMPARED = "use"
T = TypeVar("T")


def _read(path: Path) -> pd.DataFrame:
    rejects = Path(os.environ.get("TMPDIR", "/tmp")) / f"cxml-bench-{path.stem}.rejects.csv"
    frame, _, _ = read_valid(
        path, COMMENTS, config=DataConfig(max_text_chars=20_000), require=["text"], rejects=rejects
    )
    return frame


def gold_classes(themes: pd.Series) -> np.ndarray:
    """The first theme of each row, or ``(none)`` for an empty or missing list."""
    return np.array(
        [t[0] if isinstance(t, list | tuple | np.ndarray) and len(t) else "(none)" for t in themes],
        dtype=object,
    )


def bertopic_topics(texts: list[str], vectors: np.ndarray, encoder: str) -> np.ndarray:
    """BERTopic's default topics (-1 for outliers) of ``texts`` with precomputed ``vectors``
    from ``encoder``."""
    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder
    from umap import UMAP

    class CachedEncoder(BaseEmbedder):
        """cxml's encoder, so BERTopic never looks for a model of its own."""

        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            return encode(list(documents), encoder)

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    model = BERTopic(embedding_model=CachedEncoder(), umap_model=umap)
    topics, _ = model.fit_transform(texts, embeddings=vectors)
    return np.asarray(topics)


def _scores(gold: np.ndarray, found: np.ndarray) -> dict[str, float]:
    return {
        "nmi": float(normalized_mutual_info_score(gold, found)),
        "ari": float(adjusted_rand_score(gold, found)),
    }


def discovery_task(train: Path | None, test: Path | None, data_dir: Path) -> dict[str, float]:
    """Discover themes in the given files (or the default one) and score them; see the module
    docstring for what each figure means."""
    paths = [p for p in (train, test) if p is not None] or [data_dir / DEFAULT_FILE]
    frame = pd.concat([_read(p) for p in paths], ignore_index=True)
    texts = frame["text"].astype(str).tolist()
    cleaned = [strip_noise(t) for t in texts]
    encoder = resolve_encoder("auto", cleaned)
    vectors, encode_seconds = _timed(lambda: encode(cleaned, encoder, use_cache=False))
    result, train_seconds = _timed(lambda: discover(frame[["text"]], vectors=vectors))
    found = result.assignments["theme_id"].to_numpy()

    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(frame))
    again = discover(frame[["text"]].iloc[order], vectors=vectors[order])
    stable = again.themes["theme"].tolist() == result.themes["theme"].tolist() and bool(
        (again.assignments["theme_id"].to_numpy() == found[order]).all()
    )
    alone = discover(frame[["text"]], vectors=encode(cleaned, COMPARED), encoder=COMPARED)
    alone_found = alone.assignments["theme_id"].to_numpy()
    raw_vectors = encode(texts, encoder)  # BERTopic embeds the documents as they are
    topics, bertopic_seconds = _timed(lambda: bertopic_topics(texts, raw_vectors, encoder))
    figures = {
        "n_themes": float(len(result.themes)),
        "outlier_share": result.outlier_share,
        "stable": float(stable),
        "encoder_joined": float(encoder == "use+minilm"),
        "use_n_themes": float(len(alone.themes)),
        "use_outlier_share": alone.outlier_share,
        "bertopic_n_topics": float(len(set(topics.tolist()) - {OUTLIER})),
        "bertopic_outlier_share": float((topics == OUTLIER).mean()),
        "rows": float(len(frame)),
        "encode_seconds": encode_seconds,
        "train_seconds": train_seconds,
        "bertopic_seconds": bertopic_seconds,
    }
    if "themes" in frame:
        gold = gold_classes(frame["themes"])
        figures |= _scores(gold, found)
        figures |= {f"use_{k}": v for k, v in _scores(gold, alone_found).items()}
        figures |= {f"bertopic_{k}": v for k, v in _scores(gold, topics).items()}
    return figures


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started
