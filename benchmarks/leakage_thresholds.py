"""The measurements behind the leakage audit's thresholds (``docs/leakage.md``).

    python -m benchmarks.leakage_thresholds [--out FILE.json]     # from the repository root

Runs :func:`cxml.training.leakage.audit_leakage` with the default ticket features on generated
tickets (``make_tickets``, 10 % open: :data:`GENERATED`, mixed English / Korean, English, Korean,
and good / bad ratings with stations; each again with the survey comment mapped as the text), on
the women's clothing reviews (``configs/csat_reviews.yaml``: text, age, department, class; a
review is written with its rating) and on the flipkart export (its mapping, and its ``Customer
Remarks`` as the text) under ``$CXML_DATA_DIR``. Prints, per data set, each field's figures; a
data set whose file is missing is skipped. Not part of the benchmark command: nothing records
its output.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from benchmarks.flipkart_task import flipkart_config
from benchmarks.tasks import ROOT, data_dir
from cxml.config import CsatConfig, DataConfig, load_config
from cxml.contracts.fields import COMMENTS, TICKETS
from cxml.data import read_valid
from cxml.data.synth import make_tickets
from cxml.training.csat import bad_labels
from cxml.training.leakage import audit_leakage

_REJECTS = Path(tempfile.gettempdir()) / "cxml-leakage-thresholds.rejects.csv"
GENERATED: list[tuple[int, int, Literal["en", "ko", "mixed"], bool]] = [
    *((n, seed, "mixed", False) for n in (500, 1_000, 2_000) for seed in range(1, 6)),
    *((20_000, seed, "mixed", False) for seed in range(1, 4)),
    *((5_000, seed, lang, False) for lang in ("en", "ko") for seed in (1, 2)),
    *((5_000, seed, "mixed", True) for seed in (1, 2)),
]


def _figures(frame: pd.DataFrame, config: CsatConfig) -> dict[str, Any]:
    rated = frame["rating"].notna().to_numpy()
    bad = bad_labels(frame.loc[rated, "rating"], config.labels.bad_ratings)
    audit = audit_leakage(
        frame, rated, bad, features=config.features, columns=config.data.columns, random_state=13
    )
    return audit.as_dict() | {"thresholds": None}


def generated(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, seed, lang, binary in GENERATED:
        path = folder / f"tickets_{n}_{seed}_{lang}.csv"
        tickets = make_tickets(
            n, seed=seed, lang=lang, open_share=0.1, binary_ratings=binary, stations=binary
        )
        tickets.to_csv(path, index=False)
        kind = f"{lang}, good/bad and stations" if binary else lang
        frame, _, _ = read_valid(path, TICKETS, config=DataConfig(), rejects=folder / "r.csv")
        config = CsatConfig()
        out[f"generated n={n} seed={seed} {kind}"] = _figures(frame, config)
        leaky = frame.assign(text=frame["survey_comment"])
        mapped = config.model_copy(update={"data": DataConfig(columns={"text": "survey_comment"})})
        out[f"generated n={n} seed={seed} {kind}, survey comment as text"] = _figures(leaky, mapped)
    return out


def womens(path: Path) -> dict[str, Any]:
    frame, _, _ = read_valid(path, COMMENTS, config=DataConfig(), rejects=_REJECTS)
    meta = pd.DataFrame(frame["meta"].map(lambda m: m if isinstance(m, dict) else {}).tolist())
    frame = pd.concat([frame.drop(columns="meta"), meta[["age", "department", "class"]]], axis=1)
    frame = frame.rename(columns={"id": "ticket_id"}).assign(created_at=None)
    config = load_config(CsatConfig, ROOT / "configs" / "csat_reviews.yaml")
    return {"womens (file order)": _figures(frame, config)}


def flipkart(path: Path) -> dict[str, Any]:
    args = argparse.Namespace(set=[], csat_config=None)
    out = {}
    for remarks in (False, True):
        config = flipkart_config(args, remarks=remarks)
        frame, _, _ = read_valid(path, TICKETS, config=config.data, rejects=_REJECTS)
        out[f"flipkart{', remarks as text' if remarks else ''}"] = _figures(frame, config)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write every figure here as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = generated(Path(tmp))
    sources = [
        (womens, data_dir() / "womens_clothing" / "train.jsonl"),
        (flipkart, data_dir() / "flipkart_csat_sample" / "tickets.csv"),
    ]
    for measure, path in sources:
        if path.is_file():
            results |= measure(path)
    for name, audit in results.items():
        print(name)
        for field, figures in audit["fields"].items():
            shown = {
                k: round(v, 3) if isinstance(v, float) and np.isfinite(v) else v
                for k, v in figures.items()
                if k not in ("column", "filled_rated_rows")
            }
            print(f"  {field:<20} {shown}")
        for finding in audit["findings"]:
            print(f"  FINDING {finding['field']} {finding['check']} {finding['value']:.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
