"""Evidence for a fine-tuned transformer: occlusion against gradient methods (docs/evidence.md).

    python -m benchmarks.evidence_methods

Fine-tunes MiniLM for one epoch on 1,500 airline tweets, explains its prediction for 200 others
with each method and reports comments per second, the mean drop of the predicted label's
probability when the method's top word is deleted, and how often its top word is occlusion's.
The gradient methods live here, not in cxml: they were measured and not adopted.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import torch

from benchmarks.tasks import data_dir
from cxml.comments import SentimentClassifier
from cxml.comments.evidence import Weighted, occlusion_weights

WORD = r"[^\W_]+(?:['\u2019][^\W_]+)?"


def _gradient_weights(
    clf: SentimentClassifier, texts: list[str], columns: list[int], steps: int, baseline: str
) -> list[list[Weighted]]:
    """Per word, the summed token attributions: gradient x (input - baseline) averaged over
    ``steps`` points between baseline and input (integrated gradients), or at the input only
    (``steps=0``); ``baseline`` is ``zero`` or ``mask`` (the [MASK] token's embedding)."""
    import re

    backend = clf.backend_
    tokenizer, model = backend.tokenizer_, backend.model_
    embed = model.get_input_embeddings()
    out: list[list[Weighted]] = []
    for start in range(0, len(texts), 32):
        chunk = texts[start : start + 32]
        batch = tokenizer(
            chunk,
            truncation=True,
            max_length=128,
            padding=True,
            return_tensors="pt",
            return_offsets_mapping=True,
        )
        sequences = [batch.sequence_ids(k) for k in range(len(chunk))]
        offsets = batch.pop("offset_mapping").tolist()
        ids = batch.pop("input_ids")
        x = embed(ids).detach()
        base = (
            embed(torch.full_like(ids, tokenizer.mask_token_id)).detach()
            if baseline == "mask"
            else torch.zeros_like(x)
        )
        chosen = torch.as_tensor(columns[start : start + 32])
        total = torch.zeros(x.shape[:2])
        alphas = [1.0] if steps == 0 else [(k + 0.5) / steps for k in range(steps)]
        for alpha in alphas:
            point = (base + alpha * (x - base)).requires_grad_(True)
            logits = model(inputs_embeds=point, **batch).logits
            logits = logits - logits.mean(dim=-1, keepdim=True)
            (grad,) = torch.autograd.grad(logits[torch.arange(len(chunk)), chosen].sum(), point)
            total += (grad * (x - base)).sum(dim=-1).detach() / len(alphas)
        for k, text in enumerate(chunk):
            words = [(m.start(), m.end()) for m in re.finditer(WORD, text)]
            starts = [s for s, _ in words]
            weights = np.zeros(len(words))
            for t, (s, e) in enumerate(offsets[k]):
                at = bisect_right(starts, s) - 1
                if sequences[k][t] == 0 and e > s and at >= 0 and s < words[at][1]:
                    weights[at] += float(total[k, t])
            out.append([(s, e, float(w)) for (s, e), w in zip(words, weights, strict=True)])
    return out


def main() -> int:
    frame = pd.read_json(data_dir() / "airline_tweets" / "train.jsonl", lines=True)
    frame = frame.sample(frac=1, random_state=0)
    train, test = frame.iloc[:1500], frame.iloc[3000:3200]
    clf = SentimentClassifier(backend="cxml.finetune.v1", params={"epochs": 1}, random_state=0)
    clf.fit(train["text"], train["sentiment"])
    texts = test["text"].tolist()
    proba = clf.predict_proba(texts)
    columns = proba.argmax(axis=1).tolist()

    def top(weights: list[Weighted]) -> Weighted:
        return max(weights, key=lambda w: w[2])

    def drop(found: list[list[Weighted]]) -> float:
        falls = []
        for text, weights, column, p in zip(texts, found, columns, proba, strict=True):
            if weights:
                s, e, _ = top(weights)
                falls.append(p[column] - clf.predict_proba([text[:s] + text[e:]])[0, column])
        return float(np.mean(falls))

    def timed(fn: Callable[[], list[list[Weighted]]]) -> tuple[list[list[Weighted]], float]:
        started = time.perf_counter()
        found = fn()
        return found, len(texts) / (time.perf_counter() - started)

    occluded, speed = timed(
        lambda: occlusion_weights(lambda ts, _: clf.predict_proba(ts), texts, columns)
    )
    print(f"occlusion: {speed:.1f} comments/s, drop {drop(occluded):.4f}")
    rng = np.random.default_rng(0)
    randomly = [[w[rng.integers(len(w))]] if w else [] for w in occluded]
    print(f"a random word: drop {drop(randomly):.4f}")
    for name, steps, baseline in [
        ("gradient x input", 0, "zero"),
        ("gradient x (input - [MASK])", 0, "mask"),
        ("integrated gradients, [MASK], 8 steps", 8, "mask"),
        ("integrated gradients, [MASK], 16 steps", 16, "mask"),
    ]:
        found, speed = timed(partial(_gradient_weights, clf, texts, columns, steps, baseline))
        same = np.mean(
            [top(a)[:2] == top(o)[:2] for a, o in zip(found, occluded, strict=True) if a and o]
        )
        print(
            f"{name}: {speed:.1f} comments/s, drop {drop(found):.4f}, "
            f"top word as occlusion's {same:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
