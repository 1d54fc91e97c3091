"""The few-text paths of the linear backends (what one ticket in the service pays) give what
scikit-learn's own ``transform`` and ``predict_proba`` give, on any text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.catalog import backends
from cxml.comments.backends.tfidf import FEW, TfidfLinear, tfidf_rows
from cxml.data.synth import make_comments


@pytest.fixture(scope="module")
def fitted() -> dict[str, TfidfLinear]:
    frame = make_comments(600, lang="mixed", seed=11)
    texts = frame["text"].to_numpy(dtype=object)
    common = frame["themes"].explode().value_counts().index[:2]
    themes = np.array([[t in ts for t in common] for ts in frame["themes"]])
    build = backends.get("cxml.tfidf_linear.v1").build
    return {
        "three classes": build({}, random_state=0).fit(texts, frame["sentiment"]),
        "two classes": build({}, random_state=0).fit(texts, frame["sentiment"] == "negative"),
        "two labels": build({}, random_state=0).fit(texts, themes.astype(int)),
        "across spaces": build(
            {"word_ngrams": [1, 3], "char_ngrams": [1, 5], "char_analyzer": "char"}, random_state=0
        ).fit(texts, frame["sentiment"]),
    }


#: Words the generated comments use, Hangul, emoji, controls and punctuation.
_TEXTS = st.lists(
    st.one_of(
        st.sampled_from(["late", "refund", "staff", "kind", "배송", "너무", "좋아요", "!!", "🙂"]),
        st.text(min_size=0, max_size=12),
    ),
    max_size=30,
).map(" ".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(_TEXTS, min_size=1, max_size=FEW))
def test_few_texts_score_as_scikit_learn_does(
    fitted: dict[str, TfidfLinear], texts: list[str]
) -> None:
    for model in fitted.values():
        words, chars = model._inputs(texts)
        for vectorizer, docs in ((model.word_, words), (model.char_, chars)):
            fast = tfidf_rows(vectorizer, docs)
            np.testing.assert_allclose(
                fast.toarray(), vectorizer.transform(docs).toarray(), atol=1e-6
            )
        design = model._predict_design(np.array(texts, dtype=object))
        np.testing.assert_allclose(
            model.predict_proba(np.array(texts, dtype=object)),
            model.head_.predict_proba(design),
            atol=1e-6,
        )


def test_many_texts_take_scikit_learns_path(fitted: dict[str, TfidfLinear]) -> None:
    texts = make_comments(FEW * 3, lang="mixed", seed=12)["text"].tolist()
    model = fitted["three classes"]
    one_by_one = np.vstack([model.predict_proba(np.array([t], dtype=object)) for t in texts])
    np.testing.assert_allclose(
        model.predict_proba(np.array(texts, dtype=object)), one_by_one, atol=1e-6
    )
