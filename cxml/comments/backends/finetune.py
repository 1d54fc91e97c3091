"""``cxml.finetune.v1``: fine-tune a transformers encoder end to end (MiniLM by default).

Trained with the transformers ``Trainer``: AdamW with linear warm-up and decay, evaluation on a
held-out slice of the training data after each epoch, early stopping on validation loss, and the
best epoch's weights kept. Runs on the CPU, or on a GPU when torch sees one (in mixed precision:
bf16 where the GPU has it, else fp16). One label per row is a softmax head; many labels a sigmoid
head. With an ``aspect`` column the text and the aspect are fed as a sentence pair, the standard way
to ask a BERT-style model about one aspect of a text; ``pair_template`` writes the aspect as a
question instead (:mod:`._pairs`). ``class_weight`` and ``focal_gamma`` change the loss for rare
labels (:mod:`._losses`). ``model`` is ``minilm`` or any local transformers folder, read with its
own tokenizer and length (``docs/own-transformer.md``). A folder that holds a classification head
already (one fine-tuned earlier) keeps it when it has as many labels, so fine-tuning can go on in
stages; for another number of labels it gets a fresh head.

``holdout_`` keeps the early-stopping slice's row indices and predicted probabilities, so
:class:`~cxml.comments.ThemeClassifier` can tune its thresholds without training again.
``fit(X, y, eval_set=(X_val, y_val))`` evaluates and stops on rows the caller holds out instead
(all of ``X`` is trained on, and there is no ``holdout_``), as a cross-validated sweep needs.
``history_`` has each epoch's validation loss, and for one label per row its accuracy and
macro-F1. The fitted model pickles as the files ``save_pretrained`` writes (:mod:`._saved`), so
it reloads offline and without the training machine's paths.
"""

from __future__ import annotations

import logging
import tempfile
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from cxml.catalog import backends
from cxml.comments.backends._linear import split_input, take_rows
from cxml.comments.backends._losses import balanced_weights, imbalance_loss
from cxml.comments.backends._pairs import aspect_sentence, check_template
from cxml.comments.backends._saved import pack, unpack
from cxml.text.encoders import folder_settings, model_folder

__all__ = ["FineTuned", "FineTunedParams"]

log = logging.getLogger(__name__)


class FineTunedParams(BaseModel):
    """Parameters of ``cxml.finetune.v1``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="minilm", description="'minilm' or a local model folder")
    epochs: int = Field(default=8, ge=1)
    learning_rate: float = Field(default=8e-5, gt=0)
    batch_size: int = Field(default=16, ge=1)
    max_length: int | None = Field(
        default=128, ge=8, description="tokens per text (at most the folder's); None: the folder's"
    )
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    validation_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    patience: int = Field(default=2, ge=1, description="epochs without improvement before stopping")
    pair_template: str = Field(
        default="{aspect}",
        description="second sentence of a (text, aspect) pair: {aspect} as stored, {words} words",
    )
    class_weight: str | None = Field(default=None, pattern="^balanced$")
    focal_gamma: float = Field(default=0.0, ge=0, description="focal loss; 0: cross-entropy")
    device: str = Field(default="auto", pattern="^(auto|cpu|cuda)$")


def _progress_callback(base: type, title: str) -> Any:
    """A ``TrainerCallback`` that logs each epoch with its time and an upper bound of the rest.

    Fine-tuning on a CPU takes minutes to an hour; without this a job off the terminal (CI, a
    scheduler, a pipe) would be silent the whole time.
    """

    class Progress(base):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()
            log.info(
                "%s: %d epochs at most (early stopping may end it sooner)",
                title,
                int(args.num_train_epochs),
            )

        def on_evaluate(
            self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
        ) -> None:
            epoch, total = float(state.epoch or 0), float(args.num_train_epochs)
            spent = time.perf_counter() - self.started
            left = spent / max(epoch, 1e-9) * (total - epoch)
            loss = (metrics or {}).get("eval_loss", float("nan"))
            log.info(
                "%s: epoch %.0f/%.0f done after %s (validation loss %.4f); at most ~%s left",
                title,
                epoch,
                total,
                _duration(spent),
                loss,
                _duration(left),
            )

    return Progress()


#: What :attr:`FineTuned.history_` keeps of each evaluation.
_HISTORY = ("epoch", "eval_loss", "eval_accuracy", "eval_macro_f1")


def _class_metrics(prediction: Any) -> dict[str, float]:
    """Accuracy and macro-F1 of one label per row, for each epoch's evaluation."""
    from sklearn.metrics import f1_score

    predicted = np.asarray(prediction.predictions).argmax(-1)
    truth = np.asarray(prediction.label_ids)
    return {
        "accuracy": float((predicted == truth).mean()),
        "macro_f1": float(f1_score(truth, predicted, average="macro")),
    }


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


_DEFAULTS = FineTunedParams()  # the constructor's defaults, written once
#: Parameters added after models were first logged, with the value those models behave as.
_ADDED = (("pair_template", "{aspect}"), ("class_weight", None), ("focal_gamma", 0.0))


@backends.add("cxml.finetune.v1", params=FineTunedParams)
class FineTuned(ClassifierMixin, BaseEstimator):
    """A transformers sequence classifier fine-tuned on the texts (and aspects).

    Parameters are those of :class:`FineTunedParams`, plus ``random_state``.
    """

    def __init__(
        self,
        *,
        model: str = _DEFAULTS.model,
        epochs: int = _DEFAULTS.epochs,
        learning_rate: float = _DEFAULTS.learning_rate,
        batch_size: int = _DEFAULTS.batch_size,
        max_length: int | None = _DEFAULTS.max_length,
        weight_decay: float = _DEFAULTS.weight_decay,
        warmup_ratio: float = _DEFAULTS.warmup_ratio,
        validation_fraction: float = _DEFAULTS.validation_fraction,
        patience: int = _DEFAULTS.patience,
        pair_template: str = _DEFAULTS.pair_template,
        class_weight: str | None = _DEFAULTS.class_weight,
        focal_gamma: float = _DEFAULTS.focal_gamma,
        device: str = _DEFAULTS.device,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.pair_template = pair_template
        self.class_weight = class_weight
        self.focal_gamma = focal_gamma
        self.device = device
        self.random_state = random_state

    def _sentences(self, aspects: Any) -> list[str]:
        """The second sentence of each pair (:mod:`~cxml.comments.backends._pairs`)."""
        return [aspect_sentence(str(a), self.pair_template) for a in aspects]

    def _encode(self, texts: list[str], aspects: list[str] | None) -> Any:
        return self.tokenizer_(texts, aspects, truncation=True, max_length=self.max_length_)

    def fit(self, X: Any, y: Any, eval_set: tuple[Any, Any] | None = None) -> FineTuned:
        import torch
        from datasets import Dataset, disable_progress_bars
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
            DataCollatorWithPadding,
            EarlyStoppingCallback,
            PrinterCallback,
            Trainer,
            TrainerCallback,
            TrainingArguments,
        )
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        disable_progress_bars()
        logging.getLogger("accelerate").setLevel(logging.ERROR)
        check_template(self.pair_template)
        texts, aspects = split_input(X)
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            targets = y.astype(np.float32)
        else:
            self.classes_, codes = np.unique(y, return_inverse=True)
            targets = codes.astype(np.int64)
        # the caller's held-out rows, checked before any model is read
        eval_targets = None if eval_set is None else self._targets(eval_set[1])
        path = model_folder(self.model)
        self.tokenizer_ = AutoTokenizer.from_pretrained(path, local_files_only=True)
        longest = folder_settings(path).max_length  # never more than the model can read
        self.max_length_ = min(self.max_length or longest, longest)
        seed = self.random_state or 0
        torch.manual_seed(seed)
        labels = [str(c) for c in self.classes_]  # written into the saved folder's config
        self.model_ = AutoModelForSequenceClassification.from_pretrained(
            path,
            local_files_only=True,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,  # a folder's head for other labels: a fresh one
            problem_type=(
                "multi_label_classification" if self.multilabel_ else "single_label_classification"
            ),
        )

        def dataset(texts: list[str], aspects: np.ndarray | None, targets: np.ndarray) -> Any:
            columns = {"text": texts, "labels": targets.tolist()}
            if aspects is not None:
                columns["aspect"] = self._sentences(aspects)
            return Dataset.from_dict(columns).map(
                lambda batch: self._encode(batch["text"], batch.get("aspect")),
                batched=True,
                remove_columns=[c for c in columns if c != "labels"],
            )

        data = dataset(texts, aspects, targets)
        val_idx = None
        if eval_set is not None and eval_targets is not None:
            train_data, val_data = data, dataset(*split_input(eval_set[0]), eval_targets)
        else:
            stratify = None if self.multilabel_ else targets
            train_idx, val_idx = train_test_split(
                np.arange(len(texts)),
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify
                if stratify is not None and np.bincount(targets).min() >= 2
                else None,
            )
            train_data, val_data = data.select(train_idx), data.select(val_idx)
        on_gpu = self.device != "cpu" and torch.cuda.is_available()
        with tempfile.TemporaryDirectory() as tmp:
            args = TrainingArguments(
                output_dir=tmp,
                num_train_epochs=self.epochs,
                learning_rate=self.learning_rate,
                per_device_train_batch_size=self.batch_size,
                per_device_eval_batch_size=64,
                weight_decay=self.weight_decay,
                warmup_steps=self.warmup_ratio,
                eval_strategy="epoch",
                save_strategy="epoch",
                save_total_limit=self.patience + 1,
                load_best_model_at_end=True,
                metric_for_best_model="eval_loss",
                greater_is_better=False,
                report_to="none",
                logging_strategy="no",
                disable_tqdm=True,
                seed=seed,
                use_cpu=not on_gpu,
                bf16=on_gpu and torch.cuda.is_bf16_supported(),  # mixed precision on a GPU
                fp16=on_gpu and not torch.cuda.is_bf16_supported(),
                dataloader_num_workers=0,
            )
            trainer = Trainer(
                model=self.model_,
                args=args,
                train_dataset=train_data,
                eval_dataset=val_data,
                data_collator=DataCollatorWithPadding(self.tokenizer_),
                compute_loss_func=self._loss(targets),
                compute_metrics=None if self.multilabel_ else _class_metrics,
                callbacks=[
                    EarlyStoppingCallback(early_stopping_patience=self.patience),
                    _progress_callback(TrainerCallback, f"fine-tuning {path.name}"),
                ],
            )
            trainer.remove_callback(PrinterCallback)
            trainer.train()
            self.best_val_loss_ = float(trainer.state.best_metric or np.nan)
            self.epochs_run_ = float(trainer.state.epoch or 0)
            self.history_ = [
                {k.removeprefix("eval_"): float(v) for k, v in entry.items() if k in _HISTORY}
                for entry in trainer.state.log_history
                if "eval_loss" in entry
            ]
        self.model_ = self.model_.to("cpu").eval()  # the trainer loaded the best epoch into it
        if val_idx is not None:
            self.holdout_ = (val_idx, self.predict_proba(take_rows(X, val_idx)))
        elif hasattr(self, "holdout_"):
            del self.holdout_  # a slice of an earlier fit's rows
        return self

    def _targets(self, y: Any) -> np.ndarray:
        """``y`` as the training targets were coded (an unseen class is an error)."""
        y = np.asarray(y)
        if self.multilabel_:
            return y.astype(np.float32)
        unseen = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unseen:
            raise ValueError(f"eval_set has classes {unseen} the training labels do not")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _loss(self, targets: np.ndarray) -> Any:
        """Weighted or focal loss (:mod:`~cxml.comments.backends._losses`); None: the model's
        own cross-entropy."""
        if self.class_weight is None and not self.focal_gamma:
            return None
        weights = None
        if self.class_weight == "balanced":
            weights = balanced_weights(targets, len(self.classes_))
        return imbalance_loss(weights, self.focal_gamma, multilabel=self.multilabel_)

    def predict_proba(self, X: Any) -> np.ndarray:
        import torch

        check_is_fitted(self, "model_")
        texts, aspects = split_input(X)
        out = []
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                idx = order[start : start + 64]
                batch = self.tokenizer_(
                    [texts[i] for i in idx],
                    None if aspects is None else self._sentences(aspects[idx]),
                    truncation=True,
                    max_length=self.max_length_,
                    padding=True,
                    return_tensors="pt",
                )
                logits = self.model_(**batch).logits
                probs = torch.sigmoid(logits) if self.multilabel_ else logits.softmax(-1)
                out.append(probs.numpy())
        proba = np.zeros((len(texts), len(self.classes_)))
        if out:
            proba[order] = np.concatenate(out)
        return proba

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = pack(self.model_, self.tokenizer_)
            del state["tokenizer_"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("model_"), bytes):
            from transformers import AutoModelForSequenceClassification

            state["model_"], state["tokenizer_"] = unpack(
                state["model_"], AutoModelForSequenceClassification
            )
        for name, default in (("max_length_", state.get("max_length")), *_ADDED):
            state.setdefault(name, default)  # a model fitted before the parameter existed
        self.__dict__.update(state)
