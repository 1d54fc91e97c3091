"""Configs: YAML + overrides, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cxml.catalog import backends
from cxml.config import (
    CsatConfig,
    SentimentConfig,
    ThemesConfig,
    apply_overrides,
    load_config,
)
from cxml.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def _resolved(config: SentimentConfig | ThemesConfig | CsatConfig) -> dict:
    dumped = config.model_dump(mode="json")
    sections = [dumped.get("model"), dumped.get("theme_sentiment")]
    sections.append(dumped.get("features", {}).get("text"))
    for section in sections:
        if section and "backend" in section:
            entry = backends.get(section["backend"])
            section["params"] = entry.validate(section["params"]).model_dump(mode="json")
    return dumped


@pytest.mark.parametrize("model", [SentimentConfig, ThemesConfig, CsatConfig])
def test_shipped_config_equals_the_built_in_defaults(
    model: type[SentimentConfig] | type[ThemesConfig] | type[CsatConfig],
) -> None:
    shipped = load_config(model, REPO / "configs" / f"{model().task}.yaml")
    assert _resolved(shipped) == _resolved(model())


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("sentiment_accurate", "cxml.ensemble.v1"),
        ("themes_accurate", "cxml.ensemble.v1"),
        ("sentiment_distilled", "cxml.distilled.v1"),
        ("sentiment_korean", "cxml.tfidf_linear.v1"),
    ],
)
def test_presets_are_valid(name: str, backend: str) -> None:
    model = ThemesConfig if name.startswith("themes") else SentimentConfig
    config = load_config(model, REPO / "configs" / f"{name}.yaml")
    assert config.model.backend == backend
    backends.get(backend).validate(config.model.params)  # the nested teacher and members too


def test_the_fast_reviews_preset_distils_the_reviews_text_model() -> None:
    fast = load_config(CsatConfig, REPO / "configs" / "csat_reviews_fast.yaml")
    slow = load_config(CsatConfig, REPO / "configs" / "csat_reviews.yaml")
    text = fast.features.text
    assert text is not None and slow.features.text is not None
    assert text.backend == "cxml.distilled.v1"
    assert text.params["teacher"] == slow.features.text.model_dump()
    assert fast.model_dump(exclude={"features": {"text"}}) == slow.model_dump(
        exclude={"features": {"text"}}
    )
    backends.get(text.backend).validate(text.params)


def test_overrides_are_typed_and_nested() -> None:
    config = load_config(
        SentimentConfig, None, ["split.seed=7", "model.params.C=0.5", "data.columns.text=Remarks"]
    )
    assert config.split.seed == 7
    assert config.model.params == {"C": 0.5}
    assert config.data.columns == {"text": "Remarks"}


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"split": {"sead": 3}}))
    with pytest.raises(ConfigError, match=r"(?s)c\.yaml.*split\.sead: unknown key"):
        load_config(SentimentConfig, path)


def test_out_of_range_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(SentimentConfig, None, ["split.validation_fraction=1.5", "split.folds=many"])
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "split.validation_fraction: Input should be less than 1" in message
    assert "split.folds" in message and "'many'" in message


def test_unknown_backend_and_backend_param() -> None:
    with pytest.raises(ConfigError, match=r"Unknown backends 'cxml\.nope\.v1'\. Known backends:"):
        load_config(SentimentConfig, None, ["model.backend=cxml.nope.v1"])
    with pytest.raises(ConfigError, match=r"'cxml.tfidf_linear.v1'.*Cee: Extra inputs"):
        load_config(SentimentConfig, None, ["model.params.Cee=1"])


def test_a_backend_error_inside_validation_keeps_its_own_message() -> None:
    """Pydantic wraps a validator's ValueError, ConfigError included; the catalog's message and
    the ConfigError type come through as they are."""
    members = "[{backend: cxml.nope.v1}, {backend: cxml.tfidf_linear.v1}]"
    overrides = ["model.backend=cxml.ensemble.v1", f"model.params.members={members}"]
    with pytest.raises(ValueError) as info:
        load_config(ThemesConfig, None, overrides)
    assert isinstance(info.value, ConfigError)
    assert str(info.value) == (
        "(defaults of ThemesConfig): Unknown backends 'cxml.nope.v1'. Known backends: "
        + ", ".join(backends.names())
        + "."
    )
    member = {"backend": "cxml.tfidf_linear.v1", "params": {"Cee": 1}}
    with pytest.raises(ConfigError, match=r"^Bad parameters for 'cxml\.tfidf_linear\.v1': Cee"):
        backends.get("cxml.ensemble.v1").validate({"members": [member, member]})


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("split: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(SentimentConfig, tmp_path / "b.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(SentimentConfig, tmp_path / "none.yaml")
    (tmp_path / "l.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(SentimentConfig, tmp_path / "l.yaml")


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["split.seed"])
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_overrides({"split": 3}, ["split.seed=1"])


@pytest.mark.parametrize("column", ["rating", "survey_answered_at", "Survey_response_Date"])
def test_ticket_features_refuse_post_survey_columns(column: str) -> None:
    with pytest.raises(ConfigError, match="only after the customer answered the survey"):
        load_config(CsatConfig, None, [f"features.categorical=[channel, {column}]"])


def test_reviews_preset_is_valid() -> None:
    config = load_config(CsatConfig, REPO / "configs" / "csat_reviews.yaml")
    assert config.features.text is not None and config.features.numeric == ["age"]
