"""Any transformer a user has: a local folder is read as it declares (pooling, length)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from cxml.comments import SentimentClassifier
from cxml.data.synth import make_comments
from cxml.text import encoders


def _sentence_folder(tiny: Path, tmp_path: Path, **modes: bool) -> Path:
    """The tiny model as a sentence-transformers folder with the given pooling modes."""
    folder = tmp_path / "st-model"
    shutil.copytree(tiny, folder)
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.models.Transformer",
                },
                {
                    "idx": 1,
                    "name": "1",
                    "path": "pool",
                    "type": "sentence_transformers.models.Pooling",
                },
            ]
        )
    )
    (folder / "pool").mkdir()
    (folder / "pool" / "config.json").write_text(
        json.dumps(
            {"word_embedding_dimension": 32, **{f"pooling_mode_{m}": v for m, v in modes.items()}}
        )
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16}))
    return folder


def _states(folder: Path, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    batch = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    with torch.no_grad():
        return model(**batch).last_hidden_state, batch["attention_mask"]


def _unit(x: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(x, dim=-1).numpy()


TEXTS = [
    "the parcel came late and the box was crushed",
    "great",
    "배송이 늦었어요 정말 너무 늦었어요",
]


def test_a_plain_folder_is_mean_pooled_at_its_declared_length(tiny_transformer: Path) -> None:
    settings = encoders.folder_settings(tiny_transformer)
    assert settings == encoders.FolderSettings("mean", 64)  # the tokenizer's model_max_length
    states, mask = _states(tiny_transformer, TEXTS, 64)
    weights = mask.unsqueeze(-1).float()
    expected = _unit((states * weights).sum(1) / weights.sum(1))
    got = encoders.encode(TEXTS, str(tiny_transformer), use_cache=False)
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["cls_token", "max_tokens", "lasttoken"])
def test_a_sentence_transformers_folder_is_pooled_as_it_says(
    tiny_transformer: Path, tmp_path: Path, mode: str
) -> None:
    folder = _sentence_folder(tiny_transformer, tmp_path, **{mode: True, "mean_tokens": False})
    settings = encoders.folder_settings(folder)
    assert (
        settings.max_length == 16
        and settings.pooling == encoders._POOLING_KEYS[f"pooling_mode_{mode}"]
    )
    states, mask = _states(folder, TEXTS, 16)
    if mode == "cls_token":
        pooled = states[:, 0]
    elif mode == "max_tokens":
        pooled = torch.stack([s[m.bool()].amax(0) for s, m in zip(states, mask, strict=True)])
    else:
        pooled = torch.stack([s[int(m.sum()) - 1] for s, m in zip(states, mask, strict=True)])
    got = encoders.get_encoder(str(folder)).encode(TEXTS)
    np.testing.assert_allclose(got, _unit(pooled), atol=1e-5)


def test_combined_pooling_modes_are_refused_naming_the_file(
    tiny_transformer: Path, tmp_path: Path
) -> None:
    folder = _sentence_folder(tiny_transformer, tmp_path, cls_token=True, max_tokens=True)
    with pytest.raises(ValueError, match=r"pool/config.json.*\['cls', 'max'\]"):
        encoders.folder_settings(folder)


def test_fine_tuning_reads_the_length_from_the_folder(tiny_transformer: Path) -> None:
    train = make_comments(60, lang="en", seed=8)
    params = {"model": str(tiny_transformer), "epochs": 1, "max_length": None}
    clf = SentimentClassifier(backend="cxml.finetune.v1", params=params, random_state=0)
    clf.fit(train["text"], train["sentiment"])
    assert clf.backend_.max_length_ == 64
    assert clf.predict_proba(["late again, " * 40]).shape == (1, len(clf.classes_))


def test_last_token_pooling_finds_the_last_real_token_on_either_padding_side() -> None:
    states = torch.arange(12.0).reshape(2, 3, 2)
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])  # padded right, padded left
    pooled = encoders.pool(states, mask, "lasttoken")
    torch.testing.assert_close(pooled, torch.stack([states[0, 1], states[1, 2]]))
