"""Korean without a Korean transformer: what each offline lever is worth on NSMC.

    python -m benchmarks.korean_levers [--levers ngrams nbsvm subwords self_training scratch]

Every lever trains on the benchmark's fixed 80 % of NSMC's training file and is judged on the
other 20 % (the validation split of ``benchmarks/run.py nsmc``), on 2 cores:

- ``ngrams``: TF-IDF + logistic regression over Kiwi morpheme 1-3-grams and character 1-5-grams
  that may span spaces, against the shipped morpheme 1-2-grams and in-word character 2-5-grams.
- ``nbsvm``: the same n-grams as binary counts scaled by their naive-Bayes log-count ratio
  (Wang & Manning 2012) under a logistic-regression head.
- ``subwords``: byte-pair pieces learnt on the training texts (8,000 and 32,000), piece 1-3-grams,
  alone and beside the morphemes and characters.
- ``self_training``: 6,000 or 24,000 labelled reviews, the rest of the split unlabelled; pseudo
  labels above 0.9 confidence are added for two rounds (the n-grams are counted over all the
  texts; ``head_seconds`` is the time of the naive-Bayes scaling and the heads).
- ``scratch``: a small transformer (2 layers, width 128) on the byte-pair pieces, fine-tuned for
  two epochs, with and without two epochs of masked-language pre-training on the training texts;
  and its probabilities averaged with the ``ngrams`` lever's better model (no weight tuned).

Recorded as ``nsmc_levers (<lever> <variant>)``: validation accuracy, training seconds (features
included) and prediction rows per second where the lever has its own predictor.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn

from benchmarks.tasks import data_dir, record, rounded, split
from cxml.text.tokenize import tokenize_many

LEVERS = ("ngrams", "nbsvm", "subwords", "self_training", "scratch")


class Split:
    """NSMC's benchmark split with each text's morphemes, analysed once."""

    def __init__(self) -> None:
        args = argparse.Namespace(train=None, test=None)
        train, test = split(args, data_dir() / "nsmc" / "train.jsonl", ["sentiment"], "sentiment")
        self.texts = train["text"].tolist()
        self.test_texts = test["text"].tolist()
        self.y = (train["sentiment"] == "positive").to_numpy(dtype=np.int64)
        self.test_y = (test["sentiment"] == "positive").to_numpy(dtype=np.int64)
        started = time.perf_counter()
        self.morphemes = [" ".join(t) for t in tokenize_many(self.texts)]
        self.test_morphemes = [" ".join(t) for t in tokenize_many(self.test_texts)]
        self.kiwi_seconds = time.perf_counter() - started

    def words(self, vectorizer: Any) -> Inputs:
        return vectorizer, self.morphemes, self.test_morphemes

    def chars(self, vectorizer: Any) -> Inputs:
        return vectorizer, self.texts, self.test_texts

    def accuracy(self, proba: np.ndarray) -> float:
        return float(((proba > 0.5) == self.test_y).mean())


def _counts(analyzer: str, ngrams: tuple[int, int]) -> CountVectorizer:
    """Binary n-gram counts (naive-Bayes features)."""
    common: dict[str, Any] = {"ngram_range": ngrams, "min_df": 2, "binary": True}
    if analyzer == "words":
        return CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, **common)
    return CountVectorizer(analyzer=analyzer, max_features=1_000_000, **common)


def _tfidf(analyzer: str, ngrams: tuple[int, int]) -> TfidfVectorizer:
    common: dict[str, Any] = {"ngram_range": ngrams, "min_df": 2, "sublinear_tf": True}
    if analyzer == "words":
        return TfidfVectorizer(token_pattern=r"\S+", **common)
    return TfidfVectorizer(analyzer=analyzer, max_features=1_000_000, **common)


Inputs = tuple[Any, list[str], list[str]]  # a vectoriser, the training and validation texts


def _blocks(inputs: list[Inputs]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each vectoriser fitted on its training texts; the blocks side by side."""
    train = [v.fit_transform(tr).astype(np.float64) for v, tr, _ in inputs]
    test = [v.transform(te).astype(np.float64) for v, _, te in inputs]
    return sp.hstack(train, format="csr"), sp.hstack(test, format="csr")


def nb_ratio(X: sp.csr_matrix, y: np.ndarray, alpha: float = 1.0) -> sp.dia_matrix:
    """The naive-Bayes log-count ratio of each feature, as a diagonal scaling."""
    positive = alpha + np.asarray(X[y == 1].sum(0)).ravel()
    negative = alpha + np.asarray(X[y == 0].sum(0)).ravel()
    return sp.diags(np.log(positive / positive.sum()) - np.log(negative / negative.sum()))


def _head(X: Any, y: np.ndarray, C: float) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=2000, solver="liblinear").fit(X, y)


def nb_svm(X: sp.csr_matrix, y: np.ndarray, C: float) -> Callable[[Any], np.ndarray]:
    """A logistic-regression head on naive-Bayes-scaled counts; returns P(positive) of rows."""
    scale = nb_ratio(X, y)
    head = _head(X @ scale, y, C)
    return lambda rows: head.predict_proba(rows @ scale)[:, 1]


def lever_ngrams(data: Split) -> dict[str, dict[str, float]]:
    out = {}
    variants = {
        "shipped: words 1-2, in-word chars 2-5": [
            data.words(_tfidf("words", (1, 2))),
            data.words(_tfidf("char_wb", (2, 5))),
        ],
        "words 1-3, chars 1-5 across spaces": [
            data.words(_tfidf("words", (1, 3))),
            data.chars(_tfidf("char", (1, 5))),
        ],
    }
    for name, vectorizers in variants.items():
        started = time.perf_counter()
        train, test = _blocks(vectorizers)
        head = _head(train, data.y, 4.0)
        seconds = time.perf_counter() - started
        out[name] = {
            "accuracy": data.accuracy(head.predict_proba(test)[:, 1]),
            "train_seconds": data.kiwi_seconds + seconds,
            "features": train.shape[1],
        }
    return out


def lever_nbsvm(data: Split) -> dict[str, dict[str, float]]:
    out = {}
    variants = {
        "words 1-3": [data.words(_counts("words", (1, 3)))],
        "chars 1-5 across spaces": [data.chars(_counts("char", (1, 5)))],
        "words 1-3 + chars 1-5": [
            data.words(_counts("words", (1, 3))),
            data.chars(_counts("char", (1, 5))),
        ],
    }
    for name, vectorizers in variants.items():
        started = time.perf_counter()
        train, test = _blocks(vectorizers)
        predict = nb_svm(train, data.y, 0.05 if "+" in name else 0.1)
        seconds = time.perf_counter() - started
        out[name] = {
            "accuracy": data.accuracy(predict(test)),
            "train_seconds": data.kiwi_seconds + seconds,
        }
    return out


def byte_pairs(texts: list[str], size: int) -> Any:
    """A byte-pair tokenizer learnt on ``texts`` (Hugging Face ``tokenizers``)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    special = ["[PAD]", "[UNK]", "[MASK]"]
    trainer = trainers.BpeTrainer(vocab_size=size, special_tokens=special, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def lever_subwords(data: Split) -> dict[str, dict[str, float]]:
    out = {}
    for size in (8000, 32000):
        started = time.perf_counter()
        tokenizer = byte_pairs(data.texts, size)
        pieces = [" ".join(e.tokens) for e in tokenizer.encode_batch(data.texts)]
        test_pieces = [" ".join(e.tokens) for e in tokenizer.encode_batch(data.test_texts)]
        train, test = _blocks([(_counts("words", (1, 3)), pieces, test_pieces)])
        out[f"pieces {size}"] = {
            "accuracy": data.accuracy(nb_svm(train, data.y, 0.1)(test)),
            "train_seconds": time.perf_counter() - started,
        }
    started = time.perf_counter()
    train, test = _blocks(
        [
            data.words(_counts("words", (1, 3))),
            data.chars(_counts("char", (1, 5))),
            (_counts("words", (1, 3)), pieces, test_pieces),
        ]
    )
    out["pieces 32000 + words + chars"] = {
        "accuracy": data.accuracy(nb_svm(train, data.y, 0.05)(test)),
        "train_seconds": data.kiwi_seconds + time.perf_counter() - started,
    }
    return out


def lever_self_training(data: Split) -> dict[str, dict[str, float]]:
    train, test = _blocks(
        [data.words(_counts("words", (1, 3))), data.chars(_counts("char", (1, 5)))]
    )

    out = {}
    rng = np.random.default_rng(0)
    for labelled in (6000, 24000):
        known = rng.choice(len(data.y), labelled, replace=False)
        unknown = np.setdiff1d(np.arange(len(data.y)), known)
        started = time.perf_counter()
        predict = nb_svm(train[known], data.y[known], 0.1)
        out[f"{labelled} labels"] = {
            "accuracy": data.accuracy(predict(test)),
            "head_seconds": time.perf_counter() - started,
        }
        for round_ in (1, 2):
            guess = predict(train[unknown])
            sure = np.abs(guess - 0.5) > 0.4
            rows = np.concatenate([known, unknown[sure]])
            y = np.concatenate([data.y[known], (guess[sure] > 0.5).astype(np.int64)])
            predict = nb_svm(train[rows], y, 0.1)
            out[f"{labelled} labels, self-training round {round_}"] = {
                "accuracy": data.accuracy(predict(test)),
                "head_seconds": time.perf_counter() - started,
                "pseudo_labels": int(sure.sum()),
                "pseudo_label_accuracy": float(
                    ((guess[sure] > 0.5) == data.y[unknown][sure]).mean()
                ),
            }
    return out


def lever_scratch(data: Split) -> dict[str, dict[str, float]]:
    train_ngrams, test_ngrams = _blocks(
        [data.words(_tfidf("words", (1, 3))), data.chars(_tfidf("char", (1, 5)))]
    )
    ngrams = _head(train_ngrams, data.y, 4.0).predict_proba(test_ngrams)[:, 1]
    out = {}
    tokenizer = byte_pairs(data.texts, 8000)
    train = [e.ids[:MAX_PIECES] for e in tokenizer.encode_batch(data.texts)]
    test = [e.ids[:MAX_PIECES] for e in tokenizer.encode_batch(data.test_texts)]
    for mlm_epochs in (2, 0):
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        model = Scratch(tokenizer.get_vocab_size())
        started = time.perf_counter()
        if mlm_epochs:
            pretrain(model, train, mlm_epochs, rng)
        finetune(model, train, data.y, 2, rng)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        proba = classify(model, test)
        predict = time.perf_counter() - started
        name = f"{mlm_epochs} masked-language epochs" if mlm_epochs else "no pre-training"
        out[name] = {
            "accuracy": data.accuracy(proba),
            "train_seconds": seconds,
            "predict_rows_per_second": len(test) / predict,
        }
        blend = data.accuracy((proba + ngrams) / 2)
        out[f"{name}, mean with the n-gram model"] = {"accuracy": blend}
    return out


MAX_PIECES = 64


class Scratch(nn.Module):
    """Token + position embeddings, a pre-norm transformer encoder and a mean-pooled head; the
    masked-language output shares the token embeddings."""

    def __init__(self, vocab: int, width: int = 128, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width, padding_idx=0)
        self.positions = nn.Embedding(MAX_PIECES, width)
        nn.init.normal_(self.tokens.weight, std=0.02)
        nn.init.normal_(self.positions.weight, std=0.02)
        with torch.no_grad():
            self.tokens.weight[0].zero_()
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout=0.1, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.vocab_bias = nn.Parameter(torch.zeros(vocab))
        self.head = nn.Linear(width, 2)

    def hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = x == 0
        h = self.tokens(x) + self.positions(torch.arange(x.shape[1]))[None]
        return self.norm(self.encoder(h, src_key_padding_mask=pad)), pad

    def masked_logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.tokens.weight.T + self.vocab_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, pad = self.hidden(x)
        keep = (~pad).float()[..., None]
        return self.head((h * keep).sum(1) / keep.sum(1).clamp(min=1))


def _batches(seqs: list[list[int]], size: int, rng: np.random.Generator | None) -> Any:
    """Padded batches; with ``rng``, shuffled and grouped by length within chunks of 50."""
    order = np.arange(len(seqs))
    if rng is not None:
        rng.shuffle(order)
    for chunk_start in range(0, len(order), size * 50):
        chunk = order[chunk_start : chunk_start + size * 50].tolist()
        if rng is not None:
            chunk.sort(key=lambda i: len(seqs[i]))
        groups = [chunk[i : i + size] for i in range(0, len(chunk), size)]
        if rng is not None:
            rng.shuffle(groups)
        for group in groups:
            x = torch.zeros(len(group), max(1, max(len(seqs[i]) for i in group)), dtype=torch.long)
            for row, i in enumerate(group):
                x[row, : len(seqs[i])] = torch.tensor(seqs[i], dtype=torch.long)
            yield group, x


def _optimiser(model: Any, steps: int, lr: float) -> tuple[Any, Any]:
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / warmup) * max(0.0, (steps - s) / steps)
    )
    return optimiser, schedule


def pretrain(model: Any, seqs: list[list[int]], epochs: int, rng: np.random.Generator) -> None:
    """Masked-language pre-training: 15 % of pieces, 80 % masked, 10 % random, 10 % kept."""
    optimiser, schedule = _optimiser(model, epochs * math.ceil(len(seqs) / 128), 1e-3)
    model.train()
    for _ in range(epochs):
        for _, x in _batches(seqs, 128, rng):
            chosen = (torch.rand(x.shape) < 0.15) & (x > 2)
            if not chosen.any():
                continue
            inputs, draw = x.clone(), torch.rand(x.shape)
            inputs[chosen & (draw < 0.8)] = 2
            swapped = chosen & (draw >= 0.8) & (draw < 0.9)
            inputs[swapped] = torch.randint(3, len(model.vocab_bias), (int(swapped.sum()),))
            h, _ = model.hidden(inputs)
            loss = F.cross_entropy(model.masked_logits(h[chosen]), x[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()


def finetune(
    model: Any, seqs: list[list[int]], y: np.ndarray, epochs: int, rng: np.random.Generator
) -> None:
    optimiser, schedule = _optimiser(model, epochs * math.ceil(len(seqs) / 64), 5e-4)
    labels = torch.tensor(y)
    model.train()
    for _ in range(epochs):
        for rows, x in _batches(seqs, 64, rng):
            loss = F.cross_entropy(model(x), labels[rows])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()


def classify(model: Any, seqs: list[list[int]]) -> np.ndarray:
    model.eval()
    out = np.zeros(len(seqs))
    with torch.no_grad():
        for rows, x in _batches(seqs, 256, None):
            out[rows] = torch.softmax(model(x), -1)[:, 1].numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    args = parser.parse_args(argv)
    data = Split()
    print(f"Kiwi: {len(data.texts) + len(data.test_texts):,} texts, {data.kiwi_seconds:.0f} s")
    for lever in args.levers:
        for variant, figures in globals()[f"lever_{lever}"](data).items():
            print(lever, variant, {k: round(v, 4) for k, v in figures.items()}, flush=True)
            record(f"nsmc_levers ({lever}: {variant})", {k: rounded(v) for k, v in figures.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
