"""A transformers model and its tokenizer as bytes: how fitted transformer backends pickle.

``save_pretrained``'s files in a tar, so a model reloads offline and without the training
machine's paths.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["pack", "unpack"]


def pack(model: Any, tokenizer: Any) -> bytes:
    """The files ``model.save_pretrained`` and ``tokenizer.save_pretrained`` write, as a tar."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=buffer, mode="w") as tar:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for path in sorted(Path(tmp).iterdir()):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def unpack(packed: bytes, model_class: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from :func:`pack`'s bytes; the model is ``model_class``'s, in
    evaluation mode."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
            tar.extractall(tmp, filter="data")
        model = model_class.from_pretrained(tmp, local_files_only=True).eval()
        return model, AutoTokenizer.from_pretrained(tmp, local_files_only=True)
