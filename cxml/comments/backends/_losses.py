"""Losses for fine-tuning on imbalanced labels: class weights and focal loss.

``conflict`` and ``neutral`` are a few percent of theme sentiment pairs; plain cross-entropy lets
a model ignore them. Class weights (``balanced``: n / (k * count), as scikit-learn) scale each
row's loss by its class; focal loss (Lin et al., 2017) multiplies it by (1 - p_true)^gamma, so
rows the model already gets right count less. Both apply to a softmax head (one label per row)
and to a sigmoid head (many labels; the weight of label j's positives is its negatives over its
positives, ``pos_weight``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["balanced_weights", "imbalance_loss"]


def balanced_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class, ``n / (n_classes * count)`` (codes); per label, negatives over positives
    (a 0/1 matrix). A class or label never seen gets weight 1.

    >>> balanced_weights(np.array([0, 0, 0, 1]), 2).tolist()
    [0.6666666666666666, 2.0]
    >>> balanced_weights(np.array([[1, 0], [0, 0], [0, 1], [0, 1]]), 2).tolist()
    [3.0, 1.0]
    """
    if targets.ndim == 2:
        positives = targets.sum(axis=0).astype(float)
        negatives = len(targets) - positives
        return np.where(positives > 0, negatives / np.maximum(positives, 1), 1.0)
    counts = np.bincount(targets.astype(int), minlength=n_classes).astype(float)
    return np.where(counts > 0, len(targets) / (n_classes * np.maximum(counts, 1)), 1.0)


def imbalance_loss(weights: np.ndarray | None, gamma: float, *, multilabel: bool) -> Callable:
    """A ``compute_loss_func`` for the transformers ``Trainer``: weighted (``weights`` per class,
    or None) focal (``gamma``; 0 is plain cross-entropy) loss, averaged as PyTorch's weighted
    cross-entropy is (over the weights of the rows' classes)."""
    import torch

    w = None if weights is None else torch.as_tensor(weights, dtype=torch.float32)

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
        logits = logits.float()
        if multilabel:
            labels = labels.float()
            per = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, labels, reduction="none"
            )
            p_true = torch.where(labels > 0, logits.sigmoid(), 1 - logits.sigmoid())
            scale = torch.ones_like(per) if w is None else 1 + (w.to(logits.device) - 1) * labels
            focal = (1 - p_true).pow(gamma) if gamma else torch.ones_like(per)
            return (per * focal * scale).sum() / scale.sum()
        log_p = logits.log_softmax(dim=-1)
        chosen = log_p.gather(1, labels.long().unsqueeze(1)).squeeze(1)
        scale = torch.ones_like(chosen) if w is None else w.to(logits.device)[labels.long()]
        focal = (1 - chosen.exp()).pow(gamma) if gamma else torch.ones_like(chosen)
        return -(chosen * focal * scale).sum() / scale.sum()

    return loss
