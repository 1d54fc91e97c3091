"""The ticket bad-rating model: recovers the synthetic story, calibrated, no leakage, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from cxml.config import FlagPolicyConfig, TicketFeaturesConfig
from cxml.data.synth import make_tickets
from cxml.data.synth.tickets import POST_SURVEY_COLUMNS
from cxml.errors import InsufficientDataError
from cxml.tickets import TicketFeaturizer, TicketRiskModel, choose_policy
from cxml.tickets.reasons import duration
from cxml.training.evaluation import expected_calibration_error


def _bad(frame: pd.DataFrame) -> np.ndarray:
    return (frame["rating"] <= 2).to_numpy(dtype=int)


@pytest.fixture(scope="module")
def fitted() -> TicketRiskModel:
    train = make_tickets(8000, seed=11)
    return TicketRiskModel(random_state=0).fit(train, _bad(train))


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    return make_tickets(12000, seed=12, start="2026-07-01")


def test_recovers_the_generative_story(fitted: TicketRiskModel, held_out: pd.DataFrame) -> None:
    y = _bad(held_out)
    p = fitted.predict_proba(held_out)[:, 1]
    oracle = roc_auc_score(y, held_out["true_bad_probability"])
    assert roc_auc_score(y, p) >= 0.96 * oracle
    assert np.corrcoef(p, held_out["true_bad_probability"])[0, 1] > 0.85


def test_probabilities_are_calibrated(fitted: TicketRiskModel, held_out: pd.DataFrame) -> None:
    p = fitted.predict_proba(held_out)[:, 1]
    assert expected_calibration_error(_bad(held_out), p) <= 0.02
    assert abs(p.mean() - _bad(held_out).mean()) < 0.015


def test_post_survey_columns_change_nothing(fitted: TicketRiskModel) -> None:
    tickets = make_tickets(300, seed=13)
    leaked = tickets.copy()
    leaked["rating"] = 1
    leaked["survey_comment"] = "terrible, never again"
    leaked["true_bad_probability"] = 0.99
    clean = tickets.drop(columns=[*POST_SURVEY_COLUMNS, "rating", "true_bad_probability"])
    expected = fitted.predict_frame(tickets)
    pd.testing.assert_frame_equal(fitted.predict_frame(leaked), expected)
    pd.testing.assert_frame_equal(fitted.predict_frame(clean), expected)
    assert not set(fitted.featurizer_.feature_names_out_) & {"rating", *POST_SURVEY_COLUMNS}


def test_reasons_name_the_true_drivers(fitted: TicketRiskModel) -> None:
    calm = make_tickets(400, seed=14)
    base = calm[(calm["reassignments"] == 0) & (calm["reopens"] == 0)].head(1)
    created = pd.to_datetime(base["created_at"])
    hops = base.assign(reassignments=6)
    slow = base.assign(
        first_response_at=(created + pd.Timedelta(hours=60)).astype(str),
        solved_at=(created + pd.Timedelta(hours=70)).astype(str),
    )
    angry = base.assign(
        text="I am furious. My parcel never arrived and nobody cares. I want to speak to a "
        "manager. Absolutely ridiculous, WORST SERVICE EVER."
    )
    scored = fitted.predict_frame(pd.concat([base, hops, slow, angry]))
    p = scored["bad_rating_probability"].to_numpy()
    assert (p[1:] > 1.5 * p[0]).all()
    reasons = scored["reasons"].tolist()
    assert "reassigned 6 times" in reasons[1]
    assert "waited 2.5 days for a first reply" in reasons[2]
    assert "unhappy wording in the message" in reasons[3]


def test_strongest_features_are_the_story_s(fitted: TicketRiskModel) -> None:
    # reopens act through the follow-up messages and the longer life they cause
    tickets = make_tickets(2000, seed=15)
    shap = fitted.contributions(tickets).drop(columns="bias").abs().mean()
    ranked = list(shap.sort_values(ascending=False).index)
    assert {"text_score", "first_response_hours", "hours_open"} == set(ranked[:3])
    assert "reassignments" in ranked[:5]
    assert shap["created_weekday"] < shap["reassignments"] / 5


def test_open_tickets_are_scored_as_of_a_moment(fitted: TicketRiskModel) -> None:
    tickets = make_tickets(200, seed=16, open_share=1.0).head(3)
    early = fitted.featurizer_.transform(tickets.assign(as_of="2026-06-30T00:00:00Z"))
    late = fitted.featurizer_.transform(tickets.assign(as_of="2026-07-10T00:00:00Z"))
    assert (late["hours_open"] - early["hours_open"]).round(6).eq(240).all()
    replied_later = tickets.assign(
        first_response_at="2026-07-05T00:00:00Z", as_of="2026-07-01T00:00:00Z"
    )
    waiting = fitted.featurizer_.transform(replied_later)
    assert (waiting["first_response_hours"] == waiting["hours_open"]).all()


def test_broken_and_missing_values_are_never_fatal(fitted: TicketRiskModel) -> None:
    tickets = make_tickets(6, seed=17, lang="mixed")
    tickets.loc[0, "created_at"] = "not a date"
    tickets.loc[1, "first_response_at"] = "2026-13-45"
    tickets.loc[2, ["channel", "priority", "text"]] = [None, "mega-urgent", None]
    tickets.loc[3, "replies"] = np.nan
    tickets.loc[4, "reassignments"] = -3
    scored = fitted.predict_frame(tickets.drop(columns=["category"]))
    assert scored["bad_rating_probability"].between(0, 1).all()
    assert len(scored) == 6


def test_korean_and_mixed_tickets_train() -> None:
    train = make_tickets(1500, seed=18, lang="ko")
    model = TicketRiskModel(random_state=0).fit(train, _bad(train))
    test = make_tickets(1500, seed=19, lang="ko")
    assert roc_auc_score(_bad(test), model.predict_proba(test)[:, 1]) > 0.75


def test_refuses_too_little_data() -> None:
    few = make_tickets(150, seed=20)
    with pytest.raises(InsufficientDataError, match="150 rated tickets"):
        TicketRiskModel().fit(few, _bad(few))
    many = make_tickets(400, seed=21)
    bad = np.zeros(len(many), dtype=int)
    bad[:12] = 1
    with pytest.raises(InsufficientDataError, match="12 rated badly"):
        TicketRiskModel().fit(many, bad)


def test_policy_respects_capacity_and_precision() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(5000)
    y = (rng.random(5000) < p).astype(int)
    capacity = choose_policy(y, p, FlagPolicyConfig(mode="capacity", capacity=0.05))
    assert 0.045 <= capacity.flag(p).mean() <= 0.05
    precise = choose_policy(y, p, FlagPolicyConfig(mode="precision", precision=0.9))
    assert precise.expected_precision >= 0.9
    assert precise.threshold < capacity.threshold or precise.expected_flag_share > 0.05
    with pytest.warns(UserWarning, match="no threshold reaches precision"):
        choose_policy(
            np.r_[0, 1, 0, 1],
            np.r_[0.9, 0.8, 0.7, 0.6],
            FlagPolicyConfig(mode="precision", precision=0.9),
        )


def test_policy_is_stored_with_the_model(fitted: TicketRiskModel, held_out: pd.DataFrame) -> None:
    flags = fitted.predict(held_out)
    assert set(np.unique(flags)) <= {0, 1}
    assert abs(flags.mean() - fitted.flag_policy.expected_flag_share) < 0.03
    assert fitted.flag_policy.mode == "capacity"


def test_estimator_contract() -> None:
    model = TicketRiskModel(reasons=2, random_state=3)
    assert clone(model).get_params() == model.get_params()
    featurizer = TicketFeaturizer(TicketFeaturesConfig(text=None))
    tickets = make_tickets(300, seed=22)
    features = featurizer.fit(tickets, _bad(tickets)).transform(tickets)
    assert list(features.columns) == list(featurizer.get_feature_names_out())
    assert "text_score" not in features


def test_durations_read_as_plain_words() -> None:
    assert duration(0.4) == "24 min"
    assert duration(14.2) == "14 h"
    assert duration(80) == "3.3 days"


def test_solved_tickets_are_seen_as_of_their_solving(fitted: TicketRiskModel) -> None:
    tickets = make_tickets(50, seed=23, start="2030-01-01", days=30)  # solved, in the future
    features = fitted.featurizer_.transform(tickets)
    took = pd.to_datetime(tickets["solved_at"]) - pd.to_datetime(tickets["created_at"])
    assert np.allclose(features["hours_open"], took / pd.Timedelta(hours=1))
    earlier = fitted.featurizer_.transform(tickets.assign(as_of="2030-01-02T00:00:00"))
    assert (earlier["hours_open"].fillna(0) <= features["hours_open"]).all()
