"""Batch scoring on Spark (``--engine spark``): the same pyfunc models through
:func:`mlflow.pyfunc.spark_udf`, for files one machine cannot score in time.

The input is read by Spark (CSV with a header, JSON Lines or Parquet), shaped as the local path
shapes it (comments: ``text`` cut to the text limit, ``lang``; tickets:
:func:`~cxml.contracts.tickets.ticket_inputs`' columns and types, with one scoring moment), scored
by each model's UDF and written as Parquet with the input columns and the models' outputs (and,
for comments without a ``lang`` column, the language detected as the local batch detects it,
whose counts give the same notes on languages a model never saw). Rows
without a usable text (comments) or without ``ticket_id`` / ``created_at`` (tickets) go to
``<output>.rejects`` (Parquet) with a reason. Unlike the local path, Spark does not check ids for
duplicates. With a prediction log, the executors append the written output's rows to it
(``source="spark"``), each Spark task its own files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.config import DataConfig
from cxml.contracts.outputs import output_names, spark_type
from cxml.contracts.tickets import TICKET_COUNTS, TICKET_INPUTS, TICKET_TIMES
from cxml.errors import BadInputError
from cxml.monitoring.log import PredictionLog
from cxml.scoring.batch import COMMENT_INPUTS, load_comment_models, load_ticket_model
from cxml.scoring.languages import unseen_lang_notes
from cxml.text.lang import detect_lang
from cxml.tracking.loader import LoadedModel
from cxml.tracking.store import quiet_mlflow

__all__ = ["SparkResult", "score_with_spark", "spark_session"]


@dataclass
class SparkResult:
    """What a Spark job wrote."""

    output: Path
    rows: int
    rejected: int
    rejects: Path | None
    models: list[str]
    logged: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Model:
    """What the executors need of a model to log its rows (no pyfunc: it does not pickle)."""

    task: str
    name: str
    version: str
    estimator: Any


def spark_session(master: str = "local[2]") -> Any:
    """A Spark session whose Python workers run this interpreter (so they can load cxml)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName("cxml")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def _spark_path(path: Path) -> str:
    """``path`` made absolute: Spark resolves relative paths against the folder its JVM started
    in, which is not this process's working folder once that changed."""
    return str(path.absolute())


def _read(spark: Any, path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return spark.read.csv(
            _spark_path(path),
            header=True,
            sep="\t" if suffix == ".tsv" else ",",
            multiLine=True,
            escape='"',
            inferSchema=False,
        )
    if suffix in (".jsonl", ".json", ".ndjson"):
        return spark.read.json(_spark_path(path))
    if suffix == ".parquet":
        return spark.read.parquet(_spark_path(path))
    raise BadInputError(f"{path}: Spark reads CSV, JSON Lines or Parquet, not {suffix!r}")


def score_with_spark(
    path: str | Path,
    output: str | Path,
    *,
    task: str,
    models: Sequence[str] | None = None,
    as_of: pd.Timestamp | None = None,
    config: DataConfig | None = None,
    master: str = "local[2]",
    log: str | None = None,
) -> SparkResult:
    """Score ``path`` on Spark and write Parquet to ``output`` (a folder, as Spark writes).

    ``task`` is ``comments`` (``models``: comment model URIs, default the registered champions)
    or ``tickets`` (``models``: at most one URI, default the ``cxml-csat`` champion; ``as_of``:
    the scoring moment of open tickets, default now). ``log`` is a prediction log (folder or
    fsspec URL) that gets the scored rows, scored at the job's moment (``as_of`` for tickets).
    """
    import mlflow
    from pyspark.sql import functions as F

    config = config or DataConfig()
    prediction_log = PredictionLog(log) if log else None
    moment = as_of or pd.Timestamp.now(tz="UTC")
    source, out = Path(path), Path(output)
    if task == "comments":
        loaded = load_comment_models(models)
    elif task == "tickets":
        loaded = [load_ticket_model(models[0] if models else None)]
    else:
        raise BadInputError(f"unknown task {task!r}; expected comments or tickets")
    spark = spark_session(master)
    frame = _read(spark, source)
    for name, column in config.columns.items():
        frame = frame.withColumnRenamed(column, name)
    if task == "comments":
        if "text" not in frame.columns:
            raise BadInputError(f"{source}: no text column; map one with --column text=NAME")
        text = F.substring(F.col("text").cast("string"), 1, config.max_text_chars)
        frame = frame.withColumn("text", text)
        usable = F.col("text").isNotNull() & (F.length(F.trim(F.col("text"))) > 0)
        reason = F.lit("empty text")
        inputs = ["text", *(["lang"] if "lang" in frame.columns else [])]
    else:
        frame = _ticket_columns(frame, moment.isoformat())
        usable = F.col("ticket_id").isNotNull() & F.col("created_at").isNotNull()
        reason = F.lit("missing ticket_id or created_at")
        inputs = list(TICKET_INPUTS)
    frame = frame.withColumn("_usable", usable).cache()
    rejects = out.with_name(out.name + ".rejects")
    bad = frame.filter(~F.col("_usable")).drop("_usable").withColumn("_reason", reason)
    rejected = bad.count()
    if rejected:
        bad.write.mode("overwrite").parquet(_spark_path(rejects))
    scored = frame.filter(F.col("_usable")).drop("_usable")
    for i, model in enumerate(loaded):
        with quiet_mlflow():
            udf = mlflow.pyfunc.spark_udf(
                spark,
                model.uri,
                result_type=spark_type(model.task),
                env_manager="local",
            )
        scored = scored.withColumn(f"_out{i}", udf(F.struct(*[F.col(c) for c in inputs])))
    if task == "comments" and "lang" not in inputs:
        detect: Any = F.pandas_udf(_detect_lang, "string")  # type: ignore[call-overload]
        scored = scored.withColumn("lang", detect(F.col("text")))
    scored = _flatten(scored, loaded)
    scored.write.mode("overwrite").parquet(_spark_path(out))
    written = spark.read.parquet(_spark_path(out))
    rows = written.count()
    notes = []
    if task == "comments":
        counts = {r["lang"]: r["count"] for r in written.groupBy("lang").count().collect()}
        notes = unseen_lang_notes({k: v for k, v in counts.items() if k is not None}, loaded)
    frame.unpersist()
    logged = 0
    if prediction_log is not None:
        logged = _log(written, loaded, prediction_log, task=task, moment=moment)
    return SparkResult(
        output=out,
        rows=rows,
        rejected=rejected,
        rejects=rejects if rejected else None,
        models=[f"{m.name}/{m.version}" for m in loaded],
        logged=logged,
        notes=notes,
    )


def _detect_lang(texts: pd.Series) -> pd.Series:
    """The language of each text, as the local batch detects it (runs on the executors)."""
    return pd.Series(detect_lang(texts), index=texts.index, dtype=object)


def _log(
    written: Any,
    loaded: list[LoadedModel],
    prediction_log: PredictionLog,
    *,
    task: str,
    moment: pd.Timestamp,
) -> int:
    """Append the rows of the written output to the prediction log from the executors; return
    how many rows were logged (all tasks together)."""
    from pyspark.sql import functions as F

    models = [_Model(m.task, m.name, m.version, m.estimator) for m in loaded]
    url = prediction_log.url
    inputs, id_field = (TICKET_INPUTS, "ticket_id") if task == "tickets" else (COMMENT_INPUTS, "id")

    def append(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        log = PredictionLog(url)
        for frame in frames:
            ids = frame[id_field].tolist() if id_field in frame else [None] * len(frame)
            shown = frame[[c for c in inputs if c in frame]]
            rows = log.append_scored(frame, models, shown, ids, source="spark", scored_at=moment)
            yield pd.DataFrame({"rows": [rows]})

    total = written.mapInPandas(append, "rows long").agg(F.sum("rows")).first()[0]
    return int(total or 0)


def _ticket_columns(frame: Any, moment: str) -> Any:
    """The ticket columns as :func:`~cxml.contracts.tickets.ticket_inputs` passes them."""
    from pyspark.sql import functions as F

    for name in TICKET_INPUTS:
        if name not in frame.columns:
            frame = frame.withColumn(name, F.lit(None).cast("string"))
    for name in TICKET_COUNTS:
        frame = frame.withColumn(name, F.col(name).cast("double"))
    for name in TICKET_TIMES:
        frame = frame.withColumn(name, F.col(name).cast("string"))
    return frame.withColumn("as_of", F.coalesce(F.col("as_of"), F.lit(moment)))


def _flatten(scored: Any, loaded: list[LoadedModel]) -> Any:
    """One column per output; model name and version of several models joined with ``+``."""
    from pyspark.sql import functions as F

    outputs, produced = [], set()
    for i, model in enumerate(loaded):
        names = output_names(model.task)
        outputs += [F.col(f"_out{i}.{name}").alias(name) for name in names]
        produced |= {*names, "model_name", "model_version"}
    keep = [
        F.col(c).alias(f"{c}_input" if c in produced else c)
        for c in scored.columns
        if not c.startswith("_out")
    ]
    return scored.select(
        *keep,
        *outputs,
        F.lit("+".join(m.name for m in loaded)).alias("model_name"),
        F.lit("+".join(m.version for m in loaded)).alias("model_version"),
    )
