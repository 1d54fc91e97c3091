"""Theme discovery on generated comments: agreement with the gold themes, outliers, determinism,
Korean labels, and a taxonomy the zero-shot classifier accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score
from sklearn.utils._param_validation import InvalidParameterError

from cxml.comments import ZeroShotThemeClassifier, load_taxonomy
from cxml.data import read_table
from cxml.data.synth import make_comments
from cxml.discovery import OUTLIER, ThemeDiscovery, discover, strip_noise, write_discovery
from cxml.discovery.label import content_terms
from cxml.errors import InsufficientDataError
from cxml.text.encoders import encode, resolve_encoder
from cxml.text.tokenize import has_hangul

Corpus = tuple[pd.DataFrame, np.ndarray]


def _corpus(
    tmp_path_factory: pytest.TempPathFactory, lang: Literal["en", "mixed"], n: int, seed: int
) -> Corpus:
    """Generated comments and their vectors, encoded once (in a cache of their own)."""
    frame = make_comments(n, lang=lang, seed=seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXML_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        cleaned = [strip_noise(t) for t in frame["text"]]
        vectors = encode(cleaned, resolve_encoder("auto", cleaned))
    return frame, vectors


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return _corpus(tmp_path_factory, "en", 600, seed=1)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return _corpus(tmp_path_factory, "mixed", 600, seed=1)


def _nmi_single_theme(frame: pd.DataFrame, theme_ids: np.ndarray) -> float:
    """NMI against the gold theme, on the comments with exactly one."""
    one = (frame["themes"].map(len) == 1).to_numpy()
    gold = frame["themes"][one].map(lambda t: t[0])
    return float(normalized_mutual_info_score(gold, theme_ids[one]))


def test_english_themes_follow_the_gold_ones(english: Corpus) -> None:
    frame, vectors = english
    result = discover(frame[["id", "text"]], vectors=vectors)
    assert 5 <= len(result.themes) <= 20
    # measured 0.61 (random assignment: ~0.02)
    assert _nmi_single_theme(frame, result.assignments["theme_id"].to_numpy()) >= 0.5
    assert result.outlier_share <= 0.10
    assert list(result.assignments["id"]) == list(frame["id"])
    themes = result.themes
    assert themes["size"].is_monotonic_decreasing and themes["theme"].is_unique
    assert themes["size"].sum() + result.assignments["outlier"].sum() == len(frame)
    assert all(1 <= len(r) <= 5 for r in themes["representatives"])


def test_mixed_themes_have_korean_labels_from_morphemes(mixed: Corpus) -> None:
    frame, vectors = mixed
    result = discover(frame, vectors=vectors)
    # measured 0.56
    assert _nmi_single_theme(frame, result.assignments["theme_id"].to_numpy()) >= 0.45
    assert result.outlier_share <= 0.10
    terms = [t for row in result.themes["top_terms"] for t in row]
    assert any(has_hangul(label) for label in result.themes["theme"])
    particles_and_endings = {"이", "가", "을", "를", "은", "는", "에", "어요", "었", "네요", "고"}
    assert not particles_and_endings & set(terms)


def test_korean_content_terms_are_nouns() -> None:
    assert content_terms(["배송이 너무 늦어요", "The app crashed twice!", "@AirCo"]) == [
        ["배송"],
        ["app", "crashed", "twice"],
        ["airco"],
    ]


def test_shuffled_rows_give_the_same_themes(mixed: Corpus) -> None:
    frame, vectors = mixed
    first = discover(frame[["text"]], vectors=vectors)
    order = np.random.default_rng(7).permutation(len(frame))
    again = discover(frame[["text"]].iloc[order], vectors=vectors[order])
    pd.testing.assert_frame_equal(first.themes, again.themes)
    assert (again.assignments["theme_id"].to_numpy() == first.assignments["theme_id"][order]).all()
    assert (again.assignments["theme"].to_numpy() == first.assignments["theme"][order]).all()


def test_predict_gives_the_fitted_themes(english: Corpus) -> None:
    frame, vectors = english
    model = ThemeDiscovery().fit(frame["text"], vectors=vectors)
    assert (model.predict(frame["text"], vectors=vectors) == model.labels_).all()
    assert model.candidates_[0] == 2 and len(model.merge_costs_) == len(model.candidates_)


def test_taxonomy_loads_and_classifies(english: Corpus, tmp_path: Path) -> None:
    frame, vectors = english
    result = discover(frame[["id", "text"]], vectors=vectors, n_representatives=8)
    paths = write_discovery(result, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "assignments.parquet",
        "taxonomy.yaml",
        "themes.csv",
    ]
    assignments, _ = read_table(paths["assignments"])
    assert list(assignments["theme_id"]) == list(result.assignments["theme_id"])
    themes, _ = read_table(paths["themes"])
    assert list(themes["theme"]) == list(result.themes["theme"])

    taxonomy = load_taxonomy(paths["taxonomy"])
    taxonomy_names = [t.name for t in taxonomy.themes]
    assert taxonomy_names == list(result.themes["theme"])
    classifier = ZeroShotThemeClassifier(taxonomy=str(paths["taxonomy"])).fit()
    new = make_comments(150, lang="en", seed=11)["text"]
    assert {t for row in classifier.predict_themes(new) for t in row} <= set(taxonomy_names)
    # zero-shot from the taxonomy mostly agrees with the discovered themes (measured 0.77;
    # chance ~0.1)
    nearest_theme = result.model.predict(new)
    top = classifier.predict_proba(new).argmax(axis=1)
    kept = nearest_theme != OUTLIER
    assert (top[kept] == nearest_theme[kept]).mean() >= 0.5


def test_empty_texts_are_outliers(english: Corpus) -> None:
    frame, vectors = english
    texts = ["", "   ", "@AirCo http://t.co/x 12345", *frame["text"]]
    padded = np.vstack([np.zeros((3, vectors.shape[1]), np.float32), vectors])
    result = discover(texts, vectors=padded)
    assert result.assignments["theme_id"][:3].tolist() == [OUTLIER] * 3
    assert result.assignments["theme"][:3].tolist() == [""] * 3
    assert result.assignments["theme_similarity"][:3].isna().all()
    assert (result.assignments["theme_id"][3:] != OUTLIER).mean() >= 0.9
    assert ThemeDiscovery().fit(texts, vectors=padded).predict(["", " "]).tolist() == [-1, -1]
    numbers = discover(["12 34"] * 25, vectors=vectors[:25])  # no terms to label with
    assert set(numbers.themes["theme"]) <= {"(no terms)", "(no terms) (2)"}


def test_too_few_comments_and_bad_parameters_are_refused() -> None:
    with pytest.raises(InsufficientDataError, match="at least 20 non-empty comments"):
        discover(["", "  "] + ["late parcel"] * 5)
    with pytest.raises(InvalidParameterError, match="min_theme_size"):
        discover(["late parcel"] * 30, min_theme_size=0)
    with pytest.raises(ValueError, match="min_themes"):
        discover(["late parcel"] * 30, min_themes=9, max_themes=3)
    with pytest.raises(ValueError, match="vectors must have shape"):
        discover(["late parcel"] * 30, vectors=np.zeros((2, 4)))
