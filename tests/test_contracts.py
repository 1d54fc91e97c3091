"""Each contract is said once (cxml.contracts); every form derived from it agrees with it.

Tiny fitted models give real outputs, so an estimator, the pyfunc signature, the Spark result type
or an HTTP response model that drifts from :mod:`cxml.contracts.outputs` fails here, as does a
ticket input frame or a label vocabulary that is not the contract's.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any, get_args, get_origin

import pandas as pd
import pytest
from mlflow.models import infer_signature
from pydantic import BaseModel, TypeAdapter

from cxml.comments import (
    SentimentClassifier,
    ThemeClassifier,
    ThemeModel,
    ThemeSentimentClassifier,
    theme_pairs,
)
from cxml.contracts.fields import COMMENTS, POST_SURVEY_FIELDS
from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.contracts.outputs import MODEL_COLUMNS, OUTPUTS, Output, output_names, spark_type
from cxml.contracts.tickets import (
    TICKET_COUNTS,
    TICKET_FIELDS,
    TICKET_INPUTS,
    TICKET_TIMES,
    ticket_inputs,
)
from cxml.contracts.times import read_instant
from cxml.data.synth import make_comments, make_tickets
from cxml.scoring.api import CommentResult, Ticket, TicketScore
from cxml.scoring.service import create_app, tickets_input
from cxml.scoring.settings import ServiceSettings
from cxml.tickets import TicketRiskModel
from cxml.tracking.pyfunc import CxmlModel, output_schema
from cxml.training.csat import TICKET_EXAMPLE

MOMENT = pd.Timestamp("2026-07-01T09:00:00Z")
#: Each response model of the service, the tasks it reports and whether their fields may be null.
RESPONSES: list[tuple[type[BaseModel], tuple[str, ...], bool]] = [
    (CommentResult, ("sentiment", "themes"), True),
    (TicketScore, ("csat",), False),
]
#: Word n-grams only: the comment models learn in seconds.
QUICK = {"char_ngrams": None}


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[Any, pd.DataFrame]]:
    """A tiny fitted estimator of each task, and new rows in its pyfunc input form."""
    comments = make_comments(400, lang="mixed", seed=4)
    pairs = theme_pairs(comments["text"], comments["theme_sentiment"])
    tickets = make_tickets(800, seed=5)
    new_comments = make_comments(60, lang="mixed", seed=6)[["text", "lang"]]
    new_tickets = ticket_inputs(make_tickets(60, seed=7, open_share=0.5), MOMENT)
    texts = comments["text"]
    sentiment = SentimentClassifier(params=QUICK).fit(texts, comments["sentiment"])
    themes = ThemeModel(
        themes=ThemeClassifier(params=QUICK, threshold=0.5).fit(texts, comments["themes"]),
        sentiment=ThemeSentimentClassifier(params=QUICK).fit(pairs, pairs["polarity"]),
    )
    csat = TicketRiskModel(random_state=0).fit(tickets, (tickets["rating"] <= 2).to_numpy(int))
    return {
        "sentiment": (sentiment, new_comments),
        "themes": (themes, new_comments),
        "csat": (csat, new_tickets),
    }


@pytest.fixture(scope="module")
def predicted(fitted: dict[str, tuple[Any, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Each task's pyfunc output."""
    return {
        task: CxmlModel().bind(model, {"task": task}).predict(None, rows)
        for task, (model, rows) in fitted.items()
    }


def _every(task: str) -> tuple[Output, ...]:
    """The task's outputs and the model columns, in the order the pyfunc returns them."""
    return (*OUTPUTS[task], *MODEL_COLUMNS)


def _sample(values: pd.Series) -> Any:
    """The first value that is not an empty list or dict."""
    return next(v for v in values.tolist() if not isinstance(v, list | dict) or v)


def _conforms(value: Any, python: Any) -> bool:
    """Whether ``value`` is of the contract's Python type (``str``, ``list[str]``, ...)."""
    origin, args = get_origin(python), get_args(python)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items()
        )
    return isinstance(value, float) if python is float else type(value) is python


@pytest.mark.parametrize("task", list(OUTPUTS))
def test_predict_frame_and_the_pyfunc_give_the_contract_columns_and_types(
    task: str,
    fitted: dict[str, tuple[Any, pd.DataFrame]],
    predicted: dict[str, pd.DataFrame],
) -> None:
    model, rows = fitted[task]
    assert tuple(model.predict_frame(rows).columns) == output_names(task)
    out = predicted[task]
    assert list(out.columns) == [c.name for c in _every(task)]
    for column in _every(task):
        wrong = [v for v in out[column.name].tolist() if not _conforms(v, column.type.python)]
        assert not wrong, f"{task} {column.name}: not {column.type.python}: {wrong[:3]}"


@pytest.mark.parametrize("task", list(OUTPUTS))
def test_pyfunc_output_signature_is_what_mlflow_infers_from_the_output(
    task: str, predicted: dict[str, pd.DataFrame]
) -> None:
    out = predicted[task]
    example = pd.DataFrame({c: [_sample(out[c])] for c in out.columns})
    inferred = infer_signature(example).inputs.to_dict()
    for spec in inferred:  # a dict is an object of the example's keys; a map for any keys
        if spec["type"] == "object":
            (value,) = {p["type"] for p in spec.pop("properties").values()}
            spec.update(type="map", values={"type": value})
    assert output_schema(task).to_dict() == inferred


@pytest.mark.parametrize("task", list(OUTPUTS))
def test_spark_result_type_is_what_spark_infers_from_the_output(
    task: str, predicted: dict[str, pd.DataFrame]
) -> None:
    spark_types = pytest.importorskip("pyspark.sql.types")
    out = predicted[task]
    inferred = [
        f"{c} {spark_types._infer_type(_sample(out[c])).simpleString()}" for c in out.columns
    ]
    assert spark_type(task) == ", ".join(inferred)


@pytest.mark.parametrize(("model", "tasks", "nullable"), RESPONSES)
def test_response_models_follow_the_contract(
    model: type[BaseModel], tasks: tuple[str, ...], nullable: bool
) -> None:
    for output in chain(*(OUTPUTS[t] for t in tasks)):
        field = model.model_fields[output.name]
        assert field.annotation == (output.type.python | None if nullable else output.type.python)
        assert field.description == output.description
    for output in MODEL_COLUMNS:
        field = model.model_fields[output.name]
        assert (field.annotation, field.description) == (output.type.python, output.description)


@pytest.mark.parametrize(("model", "tasks", "nullable"), RESPONSES)
def test_openapi_documents_the_contract_types(
    model: type[BaseModel], tasks: tuple[str, ...], nullable: bool
) -> None:
    app = create_app(ServiceSettings(sentiment_model=None, themes_model=None, csat_model=None))
    properties = app.openapi()["components"]["schemas"][model.__name__]["properties"]
    for output in chain(*(OUTPUTS[t] for t in tasks), MODEL_COLUMNS):
        python = output.type.python
        expected = python | None if nullable and output not in MODEL_COLUMNS else python
        documented = properties[output.name]
        assert documented["description"] == output.description
        shape = {k: v for k, v in documented.items() if k not in ("title", "description")}
        shape.pop("default", None)
        assert shape == TypeAdapter(expected).json_schema(mode="serialization")


def test_ticket_input_frame_is_the_contract() -> None:
    tickets = make_tickets(40, seed=8, lang="mixed", open_share=0.5, stations=True)
    inputs = ticket_inputs(tickets, MOMENT)
    assert tuple(inputs.columns) == TICKET_INPUTS == (*TICKET_FIELDS, "as_of")
    assert not set(POST_SURVEY_FIELDS) & set(TICKET_INPUTS)
    floats = tuple(c for c in inputs.columns if inputs[c].dtype == "float64")
    assert floats == TICKET_COUNTS
    assert all(inputs[c].dtype == object for c in inputs.columns if c not in TICKET_COUNTS)
    for name in TICKET_TIMES:
        given = inputs[name].dropna()
        assert all(isinstance(v, str) and read_instant(v)[0] is not None for v in given), name
    assert tuple(Ticket.model_fields) == TICKET_FIELDS  # the HTTP request body
    bodies = json.loads(tickets[list(TICKET_FIELDS)].to_json(orient="records"))
    requests = [Ticket.model_validate(body) for body in bodies]
    served = tickets_input(requests, MOMENT.to_pydatetime())
    pd.testing.assert_series_equal(served.dtypes, inputs.dtypes)
    assert tuple(TICKET_EXAMPLE.columns) == TICKET_INPUTS  # stored with every ticket model
    pd.testing.assert_series_equal(TICKET_EXAMPLE.dtypes, inputs.dtypes)


def test_label_vocabularies_are_the_fields_and_the_served_models(
    fitted: dict[str, tuple[Any, pd.DataFrame]], predicted: dict[str, pd.DataFrame]
) -> None:
    assert COMMENTS.field("sentiment").choices == SENTIMENTS
    assert COMMENTS.field("theme_sentiment").choices == THEME_POLARITIES
    assert THEME_POLARITIES[: len(SENTIMENTS)] == SENTIMENTS
    sentiment, themes = fitted["sentiment"][0], fitted["themes"][0]
    assert set(sentiment.classes_) == set(SENTIMENTS)
    assert themes.sentiment is not None and set(themes.sentiment.classes_) == set(THEME_POLARITIES)
    assert set(predicted["sentiment"]["sentiment"]) <= set(SENTIMENTS)
    given = {p for m in predicted["themes"]["theme_sentiment"] for p in m.values()}
    assert given and given <= set(THEME_POLARITIES)
    with pytest.raises(ValueError, match="must be in"):
        SentimentClassifier().fit(["a", "b"], ["positive", "conflict"])
