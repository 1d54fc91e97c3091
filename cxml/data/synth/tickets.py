"""Synthetic support tickets whose bad-rating probability is known.

The generative story (also in ``docs/synthetic_data.md``); times are in hours:

1. ``created_at``: a day in the window (weekends at 60 % volume) and a daytime-heavy hour.
   Open tickets (``open_share``) are instead created ``age`` before the end of the window,
   ``age ~ LogNormal(log 30, 1.0)``.
2. Circumstances: ``customer_tier`` (standard 72 %, plus 20 %, vip 8 %); ``priority`` by tier;
   ``category`` (delivery is 1.8 times as frequent from 35 % to 50 % of the window); ``channel``;
   a latent complexity ``z ~ N(0, 1)``; ``reassignments ~ Poisson(exp(-1.05 + z + c_cat))``
   capped at 12; ``reopens ~ Poisson(exp(-2.1 + 0.45 z + 0.15 reassignments))`` capped at 6;
   a tone (calm / frustrated / angry, multinomial logit on category and priority).
3. First response: out of business hours (weekdays 08:00-20:00) the clock starts at the next
   opening; then a log-normal delay with a channel median (chat 2.4 min, phone 1.2 min, social
   1.5 h, web 5 h, email 6 h), shorter for high priority and better tiers, doubled for email,
   web and social during the backlog from 35 % to 50 % of the window.
4. Resolution: first response + ``LogNormal(log m_cat + 0.35 reassignments + 0.6 reopens
   + 0.3 z, 1.1)`` (a quarter of that for chat and phone) + about 36 h per reopen; replies
   ``1 + Poisson((0.5 + 0.5 reassignments + 1.2 reopens) m_channel)``.
5. Open tickets are seen as of the end of the window: elapsed time replaces the resolution
   time, the first response counts only if it happened, and reassignments, reopens and replies
   are thinned binomially to the elapsed share of the ticket's life.
6. ``logit = b0 + b1 log1p(first_response_hours) + b2 reassignments + b3 reopens
   + b4 [reassignments >= 4] + b5 log1p(resolution_hours) + b6 out_of_hours + channel + tier
   + priority + tone`` with :data:`TICKET_COEFFICIENTS`; ``true_bad_probability =
   sigmoid(logit)``; bad ~ Bernoulli(p); rating 1 or 2 when bad (55 / 45 %), else 3, 4 or 5
   (15 / 35 / 50 %). Open tickets have no rating.
7. Text: the first message frames the issue in the tone, then a complaint about hops (half of
   the tickets with 2+ reassignments) and one follow-up per reopen. The survey is sent 24 h
   after solving, answered a log-normal few hours later, with a comment (75 % of bad ratings,
   50 % of 3s, 45 % of good ones) that for bad ratings may name a driver.

Options that draw nothing from the stream above (every other column stays as it is):
``binary_ratings`` writes the rating as a binary CSAT label, ``bad`` for 1-2 and ``good`` for 3-5
(so ``bad`` is exactly the drawn bad outcome); ``stations`` adds ``group_stations`` and
``assignee_stations``: each reassignment moves the ticket to another group with probability 0.7
(else to another agent of its group), drawn from a second generator seeded ``[seed, 1]``;
``group_stations = 1 + group moves`` and ``assignee_stations = 1 + reassignments``.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cxml.data.synth import phrases as ph
from cxml.data.synth.comments import draw_langs, iso, sample_hours, weekday, window_start
from cxml.data.synth.drift import Drift

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "POST_SURVEY_COLUMNS",
    "PRIORITIES",
    "TICKET_COEFFICIENTS",
    "TICKET_COLUMNS",
    "TIERS",
    "TONES",
    "make_tickets",
]

TICKET_COLUMNS = (
    "ticket_id",
    "created_at",
    "first_response_at",
    "solved_at",
    "channel",
    "category",
    "priority",
    "customer_tier",
    "replies",
    "reopens",
    "reassignments",
    "lang",
    "text",
    "rating",
)
#: Columns that exist only once the customer answered the survey.
POST_SURVEY_COLUMNS = ("survey_sent_at", "survey_answered_at", "survey_comment")

CHANNELS = ("email", "chat", "phone", "web", "social")
CATEGORIES = ("delivery", "billing", "returns", "account", "technical", "product")
PRIORITIES = ("low", "normal", "high", "urgent")
TIERS = ("standard", "plus", "vip")
TONES = ("calm", "frustrated", "angry")

#: Coefficients of the bad-rating logit; ``name=value`` entries are the categorical effects.
TICKET_COEFFICIENTS: Final[dict[str, float]] = {
    "intercept": -5.4,
    "log1p_first_response_hours": 0.5,
    "reassignments": 0.35,
    "reopens": 1.0,
    "ping_pong": 0.8,
    "log1p_resolution_hours": 0.45,
    "out_of_hours": 0.15,
    "channel=email": 0.0,
    "channel=chat": -0.15,
    "channel=phone": -0.25,
    "channel=web": 0.1,
    "channel=social": 0.35,
    "tier=standard": 0.0,
    "tier=plus": 0.1,
    "tier=vip": 0.3,
    "priority=low": -0.2,
    "priority=normal": 0.0,
    "priority=high": 0.15,
    "priority=urgent": 0.3,
    "tone=calm": 0.0,
    "tone=frustrated": 1.0,
    "tone=angry": 2.3,
}

_TIER_P = (0.72, 0.20, 0.08)
_PRIORITY_P = np.array(
    [[0.22, 0.56, 0.16, 0.06], [0.18, 0.56, 0.19, 0.07], [0.10, 0.50, 0.28, 0.12]]
)
_CATEGORY_P = np.array([0.24, 0.15, 0.18, 0.12, 0.14, 0.17])
_CHANNEL_P = (0.35, 0.22, 0.12, 0.22, 0.09)
_EMPTY_CATEGORY_P = 0.05
_SPIKE = (0.35, 0.50)
_REASSIGN_CAT = np.array([0.0, 0.2, 0.1, 0.0, 0.35, -0.1])
_TONE_CAT = np.array([0.2, 0.25, 0.25, 0.0, -0.1, 0.0])
_TONE_PRIORITY = np.array([-0.3, 0.0, 0.2, 0.45])
_DELAY_MEDIAN_H = np.array([6.0, 0.04, 0.02, 5.0, 1.5])
_DELAY_SIGMA = np.array([1.0, 1.0, 0.8, 1.0, 1.1])
_DELAY_PRIORITY = np.array([1.3, 1.0, 0.6, 0.35])
_DELAY_TIER = np.array([1.0, 0.8, 0.5])
_HANDLING_MEDIAN_H = np.array([20.0, 16.0, 30.0, 6.0, 26.0, 22.0])
_REPLIES_CHANNEL = np.array([1.2, 0.7, 0.5, 1.1, 1.0])
_OPEN_AGE_MEDIAN_H = 30.0
#: Longest handling time of a generated ticket (90 days).
_MAX_HANDLING_H = 90 * 24.0
_NEW_THEME_ISSUES = {
    lang: dict.fromkeys(CATEGORIES, ph.NEW_THEME_ISSUES[lang]) for lang in ph.SLOTS
}
_COMMENT_P = {"bad": 0.75, "mid": 0.5, "good": 0.45}
#: Chance that a reassignment moves the ticket to another group (else to another agent).
_GROUP_MOVE_P = 0.7


def make_tickets(
    n: int,
    *,
    lang: Literal["en", "ko", "mixed"] = "en",
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 180,
    open_share: float = 0.0,
    drift: Drift | None = None,
    spike: bool = True,
    binary_ratings: bool = False,
    stations: bool = False,
) -> pd.DataFrame:
    """Generate ``n`` support tickets with CSAT ratings drawn from a known logistic model.

    Parameters
    ----------
    n : int
        Number of tickets.
    lang : {"en", "ko", "mixed"}, default="en"
        Language of the texts; ``"mixed"`` draws 70 % English and 30 % Korean per row.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``; the same arguments give an identical frame.
    start : str, default="2026-01-01"
        First day of the window (ISO 8601).
    days : int, default=180
        Length of the window in days; ``created_at`` lies inside it, later timestamps of
        solved tickets may fall after it.
    open_share : float, default=0.0
        Share of tickets still open at the end of the window: no ``solved_at``, rating or
        survey, and counts and durations as of the end of the window.
    drift : Drift or None, default=None
        A change from a given week on (:mod:`cxml.data.synth.drift`); rows created before it
        are the rows generated without it.
    spike : bool, default=True
        The delivery spike and the backlog from 35 % to 50 % of the window (step 2 and 3);
        False gives a stream without a change.
    binary_ratings : bool, default=False
        Ratings as ``good`` / ``bad`` labels (binary CSAT) instead of 1-5: 1-2 -> bad, 3-5 ->
        good.
    stations : bool, default=False
        Add ``group_stations`` and ``assignee_stations`` (groups and agents the ticket passed
        through, the first included) after ``reassignments``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TICKET_COLUMNS`, :data:`POST_SURVEY_COLUMNS` and
        ``true_bad_probability`` (``sigmoid`` of the logit, for evaluation only), ordered by
        ``created_at``. Missing values are ``NaN``; ``rating`` is a nullable ``Int64`` (labels
        with ``binary_ratings``).

    Examples
    --------
    >>> df = make_tickets(200, seed=1)
    >>> bool(df["rating"].between(1, 5).all())
    True
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if not 0.0 <= open_share <= 1.0:
        raise ValueError(f"open_share must be within [0, 1], got {open_share}")
    args = (n, lang, seed, start, days, open_share, spike)
    frame, _ = _generate(*args, None)
    if drift is not None:
        # Counts of Poisson and binomial draws depend on their parameters, so a drift shifts the
        # random stream; rows before the change are therefore taken from the stream without it.
        drifted, first_changed = _generate(*args, drift)
        frame = pd.concat([frame.iloc[:first_changed], drifted.iloc[first_changed:]])
    if stations:
        hops = frame["reassignments"].to_numpy()
        moves = np.random.default_rng([seed, 1]).binomial(hops, _GROUP_MOVE_P)
        at = list(frame.columns).index("reassignments") + 1
        frame.insert(at, "group_stations", 1 + moves)
        frame.insert(at + 1, "assignee_stations", 1 + hops)
    if binary_ratings:
        labels = frame["rating"].map({1: "bad", 2: "bad", 3: "good", 4: "good", 5: "good"})
        frame["rating"] = labels.astype(object).where(frame["rating"].notna(), np.nan)
    return frame


def _generate(
    n: int,
    lang: Literal["en", "ko", "mixed"],
    seed: int,
    start: str,
    days: int,
    open_share: float,
    spike: bool,
    drift: Drift | None,
) -> tuple[pd.DataFrame, int]:
    """The tickets of :func:`make_tickets` and the position of the first changed row."""
    rng = np.random.default_rng(seed)
    t0 = window_start(start, days)
    end = days * 24.0
    kind = drift.kind if drift else None

    is_open = np.zeros(n, dtype=bool)
    is_open[rng.choice(n, size=round(open_share * n), replace=False)] = True
    age = np.clip(rng.lognormal(np.log(_OPEN_AGE_MEDIAN_H), 1.0, n), 0.05, end)
    created = np.where(is_open, end - age, sample_hours(rng, n, t0, days))
    by_time = np.argsort(created, kind="stable")
    created, is_open = created[by_time], is_open[by_time]
    changed = drift.changed(t0, created) if drift else np.zeros(n, dtype=bool)
    langs = draw_langs(rng, lang, changed, drift if kind == "language_mix" else None)

    tier = rng.choice(3, size=n, p=_TIER_P)
    priority = _draw_rows(rng, _PRIORITY_P[tier])
    in_spike = spike & (created >= _SPIKE[0] * end) & (created < _SPIKE[1] * end)
    category_p = np.tile(_CATEGORY_P, (n, 1))
    category_p[in_spike, 0] *= 1.8
    category_p /= category_p.sum(axis=1, keepdims=True)
    novel = np.zeros(n)
    if drift and kind == "category_surge":
        novel = _surge(category_p, changed, drift)
    category = _draw_rows(rng, category_p)
    channel = rng.choice(len(CHANNELS), size=n, p=_CHANNEL_P)
    z = rng.normal(size=n)
    reassignments = np.minimum(rng.poisson(np.exp(-1.05 + z + _REASSIGN_CAT[category])), 12)
    reopens = np.minimum(rng.poisson(np.exp(-2.1 + 0.45 * z + 0.15 * reassignments)), 6)
    tone_logits = _TONE_CAT[category] + _TONE_PRIORITY[priority]
    tone_odds = np.stack(
        [np.ones(n), np.exp(-0.75 + tone_logits), np.exp(-1.55 + tone_logits)], axis=1
    )
    tone = _draw_rows(rng, tone_odds / tone_odds.sum(axis=1, keepdims=True))

    out_of_hours, opening = _business_hours(created, t0)
    backlog = np.where(in_spike & np.isin(channel, (0, 3, 4)), 2.0, 1.0)
    delay = np.exp(np.log(_DELAY_MEDIAN_H[channel]) + _DELAY_SIGMA[channel] * rng.normal(size=n))
    delay *= _DELAY_PRIORITY[priority] * _DELAY_TIER[tier] * backlog
    if drift and kind == "slow_queues":
        delay[changed & drift.on(CHANNELS, channel)] *= drift.factor(3.0)
    first_response = opening - created + delay
    handling_median = _HANDLING_MEDIAN_H[category] * np.where(np.isin(channel, (1, 2)), 0.25, 1.0)
    handling = np.exp(
        np.log(handling_median)
        + 1.1 * rng.normal(size=n)
        + 0.35 * reassignments
        + 0.6 * reopens
        + 0.3 * z
    )
    handling = np.minimum(handling, _MAX_HANDLING_H)  # the log-normal tail reaches centuries
    reopen_wait = reopens * np.exp(np.log(36.0) + 0.8 * rng.normal(size=n))
    resolution = first_response + handling + reopen_wait
    replies = 1 + rng.poisson(
        (0.5 + 0.5 * reassignments + 1.2 * reopens) * _REPLIES_CHANNEL[channel]
    )

    # open tickets, as of the end of the window
    elapsed = end - created
    resolution = np.where(
        is_open, np.maximum(resolution, elapsed * (1 + rng.random(n))), resolution
    )
    share = np.clip(elapsed / resolution, 0.0, 1.0)
    answered = ~is_open | (first_response <= elapsed)
    reassignments = np.where(is_open, rng.binomial(reassignments, share), reassignments)
    reopens = np.where(is_open, rng.binomial(reopens, share), reopens)
    replies = np.where(
        is_open, np.where(answered, np.maximum(1, rng.binomial(replies, share)), 0), replies
    )
    first_response_seen = np.where(answered, first_response, elapsed)
    resolution_seen = np.where(is_open, elapsed, resolution)

    probability = _bad_probability(
        first_response_seen,
        reassignments,
        reopens,
        resolution_seen,
        out_of_hours,
        channel,
        tier,
        priority,
        tone,
    )
    bad = rng.random(n) < probability
    u = rng.random(n)
    rating = np.where(bad, np.where(u < 0.55, 1, 2), np.select([u < 0.15, u < 0.5], [3, 4], 5))
    solved = created + resolution
    survey_sent = solved + 24.0 + rng.random(n) * 0.1
    survey_answered = survey_sent + np.exp(np.log(3.0) + 1.2 * rng.normal(size=n))

    if drift and kind == "category_surge":
        novel[category != drift.target_code(CATEGORIES, "account")] = 0.0
    elif drift and kind == "new_theme":
        novel[changed] = drift.share(0.0, 0.30)
    novel_issues = ph.SURGE_ISSUES if kind == "category_surge" else _NEW_THEME_ISSUES

    texts: list[str] = []
    comments: list[str | None] = []
    rows = zip(
        langs.tolist(),
        category.tolist(),
        novel.tolist(),
        tone.tolist(),
        reassignments.tolist(),
        reopens.tolist(),
        rating.tolist(),
        first_response.tolist(),
        is_open.tolist(),
        ph.row_draws(rng, n),
        strict=True,
    )
    for lang_i, cat, new, tone_i, hops, reopened, stars, wait, still_open, draws in rows:
        slots = ph.Slots(lang_i, draws, {"order": _order_number(lang_i, draws)})
        issues = novel_issues if new and draws.chance(new) else ph.TICKET_ISSUES
        texts.append(
            _ticket_text(
                lang_i, CATEGORIES[cat], TONES[tone_i], hops, reopened, draws, slots, issues
            )
        )
        comments.append(
            None
            if still_open
            else _survey_comment(lang_i, stars, wait, hops, reopened, draws, slots)
        )
    category_names = np.array(CATEGORIES, dtype=object)[category]
    category_names[rng.random(n) < _EMPTY_CATEGORY_P] = None

    frame = pd.DataFrame(
        {
            "ticket_id": [f"t{i + 1:06d}" for i in range(n)],
            "created_at": iso(t0, created),
            "first_response_at": _iso_where(t0, created + first_response, answered),
            "solved_at": _iso_where(t0, solved, ~is_open),
            "channel": np.array(CHANNELS)[channel],
            "category": category_names,
            "priority": np.array(PRIORITIES)[priority],
            "customer_tier": np.array(TIERS)[tier],
            "replies": replies.astype(np.int64),
            "reopens": reopens.astype(np.int64),
            "reassignments": reassignments.astype(np.int64),
            "lang": langs,
            "text": texts,
            "rating": pd.Series(rating, dtype="Int64").mask(is_open),
            "survey_sent_at": _iso_where(t0, survey_sent, ~is_open),
            "survey_answered_at": _iso_where(t0, survey_answered, ~is_open),
            "survey_comment": comments,
            "true_bad_probability": probability,
        },
        columns=[*TICKET_COLUMNS, *POST_SURVEY_COLUMNS, "true_bad_probability"],
    )
    return frame, int(np.count_nonzero(~changed))


def _surge(
    category_p: npt.NDArray[np.float64], changed: npt.NDArray[np.bool_], drift: Drift
) -> npt.NDArray[np.float64]:
    """Raise the target category's share in the changed rows of ``category_p`` (in place).

    Returns, per row, the share of the target's tickets that are new problems (the surplus).
    """
    k = drift.target_code(CATEGORIES, "account")
    base = category_p[changed, k]
    surged = drift.share(base, 0.16)
    category_p[changed] *= ((1 - surged) / (1 - base))[:, None]
    category_p[changed, k] = surged
    novel = np.zeros(len(category_p))
    novel[changed] = (surged - base) / surged
    return novel


def _draw_rows(rng: np.random.Generator, p: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """One category per row of the probability matrix ``p``."""
    cdf = np.cumsum(p, axis=1)[:, :-1]
    return (rng.random(len(p))[:, None] >= cdf).sum(axis=1)


def _business_hours(
    created: npt.NDArray[np.float64], t0: np.datetime64
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Whether each ticket came out of hours (weekdays 08:00-20:00), and the next opening."""
    day = np.floor(created / 24)
    hour = created - 24 * day
    wd = weekday(created, t0)
    out = (wd >= 5) | (hour < 8) | (hour >= 20)
    skip = np.select([(wd < 5) & (hour < 8), wd == 4, wd == 5, wd == 6], [0, 3, 2, 1], 1)
    return out, np.where(out, (day + skip) * 24 + 8, created)


def _bad_probability(
    first_response: npt.NDArray[np.float64],
    reassignments: npt.NDArray[np.int64],
    reopens: npt.NDArray[np.int64],
    resolution: npt.NDArray[np.float64],
    out_of_hours: npt.NDArray[np.bool_],
    channel: npt.NDArray[np.int64],
    tier: npt.NDArray[np.int64],
    priority: npt.NDArray[np.int64],
    tone: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """``sigmoid`` of the logit in the module docstring, with :data:`TICKET_COEFFICIENTS`."""
    c = TICKET_COEFFICIENTS

    def effect(
        name: str, levels: tuple[str, ...], codes: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        return np.array([c[f"{name}={level}"] for level in levels])[codes]

    logit = (
        c["intercept"]
        + c["log1p_first_response_hours"] * np.log1p(first_response)
        + c["reassignments"] * reassignments
        + c["reopens"] * reopens
        + c["ping_pong"] * (reassignments >= 4)
        + c["log1p_resolution_hours"] * np.log1p(resolution)
        + c["out_of_hours"] * out_of_hours
        + effect("channel", CHANNELS, channel)
        + effect("tier", TIERS, tier)
        + effect("priority", PRIORITIES, priority)
        + effect("tone", TONES, tone)
    )
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
    return result


def _iso_where(
    t0: np.datetime64, hours: npt.NDArray[np.float64], present: npt.NDArray[np.bool_]
) -> npt.NDArray[np.object_]:
    """ISO strings where ``present``, ``None`` elsewhere."""
    out = iso(t0, hours).astype(object)
    out[~present] = None
    return out


def _order_number(lang: str, draws: ph.Draws) -> str:
    number = 10_000_000 + int(draws.uniform() * 90_000_000)
    return f"#{number}" if lang == "en" else str(number)


def _ticket_text(
    lang: str,
    category: str,
    tone: str,
    reassignments: int,
    reopens: int,
    draws: ph.Draws,
    slots: ph.Slots,
    issues: dict[str, ph.Bank],
) -> str:
    """The customer's messages: the first one in ``tone`` about one of ``issues``, hops
    complaints, follow-ups."""
    issue = draws.pick(issues[lang][category]).format_map(slots)
    slots.update(
        issue=issue,
        Issue=ph.capitalize(issue),
        ISSUE=issue.upper(),
        topic=draws.pick(ph.TICKET_TOPICS[lang][category]).format_map(slots),
        hops=ph.COUNTS[lang][min(reassignments, 6) - 1] if reassignments else "",
    )
    messages = [draws.pick(ph.TICKET_FRAMES[lang][tone]).format_map(slots)]
    if reassignments >= 2 and draws.chance(0.5):
        messages.append(draws.pick(ph.TICKET_HOPS[lang]).format_map(slots))
    for k in range(reopens):
        slots["nth"] = ph.ORDINALS[lang][min(k, len(ph.ORDINALS[lang]) - 1)]
        messages.append(draws.pick(ph.TICKET_FOLLOWUPS[lang]).format_map(slots))
    text = "\n\n".join(messages)
    return ph.resolve_particles(text) if lang == "ko" else text


def _survey_comment(
    lang: str,
    rating: int,
    first_response: float,
    reassignments: int,
    reopens: int,
    draws: ph.Draws,
    slots: ph.Slots,
) -> str | None:
    """A comment that fits the rating (or none); bad ones may name what went wrong."""
    band = "bad" if rating <= 2 else "mid" if rating == 3 else "good"
    if not draws.chance(_COMMENT_P[band]):
        return None
    drivers = [
        name
        for name, hit in (
            ("slow", first_response > 24),
            ("hops", reassignments >= 3),
            ("reopen", reopens > 0),
        )
        if hit
    ]
    if band == "bad" and drivers and draws.chance(0.5):
        slots["transfers"] = ph.COUNTS[lang][min(reassignments, 7) - 2]
        return draws.pick(ph.SURVEY_DRIVERS[lang][draws.pick(drivers)]).format_map(slots)
    return draws.pick(ph.SURVEY_COMMENTS[lang][band])
