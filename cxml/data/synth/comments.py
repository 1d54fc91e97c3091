"""Synthetic open-text survey comments with theme, sentiment and rating labels.

The generative story (see ``docs/synthetic_data.md``):

1. Times: a day in the window (weekends at 60 % of weekday volume), an hour from a daytime
   profile. Customers: a pool of about ``n / 2.5`` with log-normal activity, each with a region
   and a preferred channel (used 70 % of the time).
2. Themes: 0 themes for 10 % of comments (generic remarks), else 1, 2 or 3 (50 / 30 / 10 %)
   drawn without replacement by weight; chat and phone raise ``staff_service`` and
   ``waiting_time``, the app channel ``website_app``.
3. Polarity per theme from theme-specific probabilities; about 3 % of comments have one
   ``conflict`` theme (good and bad about it in one clause).
4. Trend: from 35 % to 50 % of the window, delivery is mentioned 2.2 times as often and is
   negative 72 % of the time (38 % otherwise); the Highlands region is 12 points more negative
   about delivery throughout.
5. Overall sentiment: more positive than negative themes -> positive, and the reverse ->
   negative; only neutral themes -> neutral; as many good as bad (or only conflict) -> a lean
   (negative 45 %, neutral 30 %, positive 25 %) that a closing verdict states in the text.
6. Rating 1-5 from a distribution per sentiment, more extreme when two or more themes agree.
7. Churn: after a negative comment a customer leaves with probability 0.35; their later
   comments come from new customers.
8. Text: one clause per theme from the phrase banks, joined with connectors that fit the
   polarities, optional opener, closer, emoji, lower case, dropped punctuation and typos.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.data.synth import phrases as ph
from cxml.data.synth.drift import Drift

__all__ = ["CHANNELS", "COMMENT_COLUMNS", "REGIONS", "THEMES", "make_comments"]

Lang = Literal["en", "ko", "mixed"]

THEMES = (
    "delivery",
    "product_quality",
    "price_value",
    "staff_service",
    "waiting_time",
    "billing_payment",
    "returns_refunds",
    "website_app",
    "communication",
)
COMMENT_COLUMNS = (
    "id",
    "text",
    "lang",
    "themes",
    "theme_sentiment",
    "sentiment",
    "rating",
    "created_at",
    "channel",
    "region",
    "customer_id",
)
CHANNELS = ("email", "chat", "phone", "web", "app")
REGIONS = ("North Coast", "Riverside", "Highlands", "Metro Central", "Southfield")

_NEG, _NEU, _POS, _CONFLICT = range(4)  # positions in THEME_POLARITIES
_NEW_THEME = len(THEMES)  # a drift's theme outside THEMES: in the text, never in the labels

_THEME_WEIGHTS = np.array([0.22, 0.20, 0.10, 0.14, 0.08, 0.06, 0.08, 0.07, 0.05])
_P_NEGATIVE = np.array([0.38, 0.35, 0.40, 0.28, 0.72, 0.60, 0.50, 0.45, 0.50])
_P_NEUTRAL = np.array([0.14, 0.13, 0.20, 0.10, 0.13, 0.20, 0.15, 0.20, 0.15])
_N_THEMES_P = (0.10, 0.50, 0.30, 0.10)
_CONFLICT_P = 0.033
_SPIKE = (0.35, 0.50)
_GENERIC_P = (0.20, 0.35, 0.45)  # negative, neutral, positive
_LEAN_P = (0.45, 0.30, 0.25)
_CHURN_P = 0.35
# rating 1..5 by class: strongly negative, negative, neutral, positive, strongly positive
_RATING_P = np.array(
    [
        [0.62, 0.26, 0.09, 0.02, 0.01],
        [0.42, 0.33, 0.17, 0.05, 0.03],
        [0.05, 0.15, 0.50, 0.24, 0.06],
        [0.01, 0.02, 0.07, 0.35, 0.55],
        [0.00, 0.01, 0.04, 0.25, 0.70],
    ]
)
_HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 6.5, 6.5, 6.5, 6, 5.5, 5, 5, 5, 4.5, 4, 3, 2]
)


def window_start(start: str, days: int) -> np.datetime64:
    """``start`` as a second-resolution timestamp; checks that ``days`` is positive."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    return np.datetime64(start, "s")


def weekday(hours: npt.NDArray[np.floating[Any]], t0: np.datetime64) -> npt.NDArray[np.int64]:
    """Day of the week (Monday = 0) of ``t0 + hours``."""
    first = (int(t0.astype("datetime64[D]").astype(np.int64)) + 3) % 7
    return (first + np.floor(hours / 24).astype(np.int64)) % 7


def sample_hours(
    rng: np.random.Generator, n: int, t0: np.datetime64, days: int
) -> npt.NDArray[np.float64]:
    """Sorted event times, in hours after ``t0``: daytime-heavy, weekends at 60 % volume."""
    day_weights = np.where(weekday(np.arange(days) * 24.0, t0) >= 5, 0.6, 1.0)
    day = rng.choice(days, size=n, p=day_weights / day_weights.sum())
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    return np.sort(day * 24.0 + hour + rng.integers(0, 3600, size=n) / 3600.0)


def iso(t0: np.datetime64, hours: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """ISO 8601 strings (second resolution) of ``t0 + hours``."""
    seconds = np.rint(hours * 3600).astype(np.int64).astype("timedelta64[s]")
    return np.datetime_as_string(t0 + seconds, unit="s")


def draw_langs(
    rng: np.random.Generator, lang: Lang, changed: npt.NDArray[np.bool_], drift: Drift | None
) -> npt.NDArray[np.str_]:
    """Per-row languages: all ``lang``, or for ``"mixed"`` 70 % English and 30 % Korean.

    A ``language_mix`` ``drift`` raises the Korean share in the ``changed`` rows (one per row).
    """
    n = len(changed)
    if lang not in ("en", "ko", "mixed"):
        raise ValueError(f"lang must be 'en', 'ko' or 'mixed', got {lang!r}")
    if drift is not None and lang != "mixed":
        raise ValueError(f"a language_mix drift needs lang='mixed', got {lang!r}")
    if lang == "mixed":
        korean = np.where(changed, drift.share(0.3, 0.15), 0.3) if drift else 0.3
        return np.where(rng.random(n) < 1 - korean, "en", "ko")
    return np.full(n, lang)


def make_comments(
    n: int,
    *,
    lang: Lang = "en",
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 180,
    drift: Drift | None = None,
    spike: bool = True,
) -> pd.DataFrame:
    """Generate ``n`` labelled customer-experience survey comments.

    Parameters
    ----------
    n : int
        Number of comments.
    lang : {"en", "ko", "mixed"}, default="en"
        Language of the comments; ``"mixed"`` draws 70 % English and 30 % Korean per row.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``; the same arguments give an identical frame.
    start : str, default="2026-01-01"
        First day of the window (ISO 8601).
    days : int, default=180
        Length of the window in days.
    drift : Drift or None, default=None
        A change from a given week on (:mod:`cxml.data.synth.drift`); rows created before it
        are the rows generated without it, but for the labels of ``customer_id``.
    spike : bool, default=True
        The delivery trend from 35 % to 50 % of the window (step 4); False gives a stream
        without a change.

    Returns
    -------
    pandas.DataFrame
        One row per comment, columns :data:`COMMENT_COLUMNS`, ordered by ``created_at``:
        ``themes`` is a sorted list of :data:`THEMES`, ``theme_sentiment`` maps each of them to
        negative, neutral, positive or conflict, ``rating`` is an int 1-5.

    Examples
    --------
    >>> df = make_comments(3, seed=1)
    >>> list(df.columns[:3])
    ['id', 'text', 'lang']
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    rng = np.random.default_rng(seed)
    t0 = window_start(start, days)
    hours = sample_hours(rng, n, t0, days)
    changed = drift.changed(t0, hours) if drift else np.zeros(n, dtype=bool)
    langs = draw_langs(
        rng, lang, changed, drift if drift and drift.kind == "language_mix" else None
    )

    n_customers = max(1, round(n / 2.5))
    activity = rng.lognormal(0.0, 1.0, n_customers)
    customer = rng.choice(n_customers, size=n, p=activity / activity.sum())
    region = rng.choice(len(REGIONS), size=n_customers, p=[0.25, 0.22, 0.13, 0.25, 0.15])[customer]
    preferred = rng.choice(len(CHANNELS), size=n_customers, p=[0.3, 0.2, 0.1, 0.2, 0.2])
    channel = np.where(
        rng.random(n) < 0.7,
        preferred[customer],
        rng.choice(len(CHANNELS), size=n, p=[0.25, 0.2, 0.15, 0.25, 0.15]),
    )

    in_spike = spike & (hours >= _SPIKE[0] * days * 24) & (hours < _SPIKE[1] * days * 24)
    shift = None
    if drift and drift.kind != "language_mix":
        shift = _shift(drift, changed, channel, seed)
    first_state = rng.bit_generator.state
    labels = _labels(rng, in_spike, channel, region, customer, None)
    person = labels.person
    if shift is not None:
        # The drift's labels come from the same numbers as those without it, and the texts
        # from where the generator without drift is: the churn's numbering takes as many
        # numbers as there are people, which the drift changes.
        texts_state = rng.bit_generator.state
        rng.bit_generator.state = first_state
        plain, labels = labels, _labels(rng, in_spike, channel, region, customer, shift)
        rng.bit_generator.state = texts_state
        person = _renumber(plain, labels)
    order, n_themes, polarity, sentiment, lean, rating = labels[:6]
    new_theme = shift.new_theme if shift else np.zeros(n, dtype=bool)

    order_rows = [row[:k] for row, k in zip(order.tolist(), n_themes.tolist(), strict=True)]
    pol_rows = np.column_stack([polarity, np.full(n, _NEG)]).tolist()
    texts = [
        _compose(lang_i, draws, text_themes, [pols[t] for t in text_themes], s, le)
        for lang_i, draws, text_themes, pols, s, le in zip(
            langs.tolist(),
            ph.row_draws(rng, n),
            (
                [*themes, _NEW_THEME] if new else themes
                for themes, new in zip(order_rows, new_theme.tolist(), strict=True)
            ),
            pol_rows,
            sentiment.tolist(),
            lean.tolist(),
            strict=True,
        )
    ]
    names = [sorted(THEMES[t] for t in themes) for themes in order_rows]
    theme_sentiment = [
        {THEMES[t]: THEME_POLARITIES[pols[t]] for t in sorted(themes, key=THEMES.__getitem__)}
        for themes, pols in zip(order_rows, pol_rows, strict=True)
    ]
    return pd.DataFrame(
        {
            "id": [f"c{i + 1:06d}" for i in range(n)],
            "text": texts,
            "lang": langs,
            "themes": names,
            "theme_sentiment": theme_sentiment,
            "sentiment": np.array(SENTIMENTS)[sentiment],
            "rating": rating,
            "created_at": iso(t0, hours),
            "channel": np.array(CHANNELS)[channel],
            "region": np.array(REGIONS)[region],
            "customer_id": [f"u{p:06d}" for p in person.tolist()],
        },
        columns=list(COMMENT_COLUMNS),
    )


class _Shift(NamedTuple):
    """A drift's effect on the labels: factors on the theme weights and on the odds of a
    negative polarity (rows x themes), and the rows that add the new theme."""

    weight: npt.NDArray[np.float64]
    negative_odds: npt.NDArray[np.float64]
    new_theme: npt.NDArray[np.bool_]


class _Labels(NamedTuple):
    order: npt.NDArray[np.int64]
    n_themes: npt.NDArray[np.int64]
    polarity: npt.NDArray[np.int64]
    sentiment: npt.NDArray[np.int64]
    lean: npt.NDArray[np.bool_]
    rating: npt.NDArray[np.int64]
    key: npt.NDArray[np.int64]
    person: npt.NDArray[np.int64]


def _shift(
    drift: Drift, changed: npt.NDArray[np.bool_], channel: npt.NDArray[np.int64], seed: int
) -> _Shift:
    """What ``drift`` does to the labels of the ``changed`` rows (see the drift module)."""
    n = len(changed)
    weight, odds = np.ones((n, len(THEMES))), np.ones((n, len(THEMES)))
    new_theme = np.zeros(n, dtype=bool)
    if drift.kind == "category_surge":
        weight[changed, drift.target_code(THEMES, "billing_payment")] = drift.factor(4.0)
    elif drift.kind == "slow_queues":
        rows = changed & drift.on(CHANNELS, channel)
        waiting = THEMES.index("waiting_time")
        weight[rows, waiting] = drift.factor(2.5)
        odds[rows, waiting] = drift.factor(3.0)
    elif drift.kind == "new_theme":
        # its own stream, so the other labels draw the same numbers as without drift
        u = np.random.default_rng([seed, 1]).random(n)
        new_theme = changed & (u < drift.share(0.0, 0.25))
    return _Shift(weight, odds, new_theme)


def _labels(
    rng: np.random.Generator,
    spike: npt.NDArray[np.bool_],
    channel: npt.NDArray[np.int64],
    region: npt.NDArray[np.int64],
    customer: npt.NDArray[np.int64],
    shift: _Shift | None,
) -> _Labels:
    """Themes, polarities, sentiment, rating and customer ids (steps 2-7)."""
    new_theme = shift.new_theme if shift else np.zeros(len(spike), dtype=bool)
    order, n_themes, polarity = _draw_themes(rng, spike, channel, region, shift)
    sentiment, lean = _overall_sentiment(rng, order, n_themes, polarity, new_theme)
    rating = _draw_rating(rng, sentiment, order, n_themes, polarity, new_theme)
    key, person = _churn(rng, customer, sentiment)
    return _Labels(order, n_themes, polarity, sentiment, lean, rating, key, person)


def _draw_themes(
    rng: np.random.Generator,
    spike: npt.NDArray[np.bool_],
    channel: npt.NDArray[np.int64],
    region: npt.NDArray[np.int64],
    shift: _Shift | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Theme order per row (Gumbel top-k), number of themes, polarity of every theme."""
    n = len(spike)
    weights = np.tile(_THEME_WEIGHTS, (n, 1))
    weights[spike, 0] *= 2.2
    weights[np.isin(channel, (1, 2)), 3:5] *= 1.6
    weights[channel == 4, 7] *= 2.5
    if shift:
        weights *= shift.weight
    order = np.argsort(-(np.log(weights) + rng.gumbel(size=weights.shape)), axis=1)
    n_themes = rng.choice(4, size=n, p=_N_THEMES_P)

    p_neg = np.tile(_P_NEGATIVE, (n, 1))
    p_neu = np.tile(_P_NEUTRAL, (n, 1))
    p_neg[spike, 0], p_neu[spike, 0] = 0.72, 0.08
    p_neg[region == REGIONS.index("Highlands"), 0] += 0.12
    if shift:
        hit = shift.negative_odds != 1
        odds = shift.negative_odds[hit] * p_neg[hit] / (1 - p_neg[hit])
        p_neu[hit] *= (1 - odds / (1 + odds)) / (1 - p_neg[hit])
        p_neg[hit] = odds / (1 + odds)
    u = rng.random(weights.shape)
    polarity = np.where(u < p_neg, _NEG, np.where(u < p_neg + p_neu, _NEU, _POS))
    conflict = (n_themes > 0) & (rng.random(n) < _CONFLICT_P / (1 - _N_THEMES_P[0]))
    polarity[conflict, order[conflict, 0]] = _CONFLICT
    return order, n_themes, polarity


def _counts(
    order: npt.NDArray[np.int64],
    n_themes: npt.NDArray[np.int64],
    polarity: npt.NDArray[np.int64],
    new_theme: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Numbers of negative (the new theme is one), positive and conflict themes per row."""
    rank = np.argsort(order, axis=1)
    mentioned = rank < n_themes[:, None]
    neg, pos, conflict = (
        ((polarity == p) & mentioned).sum(axis=1) for p in (_NEG, _POS, _CONFLICT)
    )
    return neg + new_theme, pos, conflict


def _overall_sentiment(
    rng: np.random.Generator,
    order: npt.NDArray[np.int64],
    n_themes: npt.NDArray[np.int64],
    polarity: npt.NDArray[np.int64],
    new_theme: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Overall sentiment codes (0-2) and whether a closing verdict has to state a lean."""
    neg, pos, conflict = _counts(order, n_themes, polarity, new_theme)
    n = len(n_themes)
    generic = rng.choice(3, size=n, p=_GENERIC_P)
    lean_draw = rng.choice(3, size=n, p=_LEAN_P)
    tie = (neg == pos) & (neg + conflict > 0)
    sentiment = np.select(
        [(n_themes == 0) & ~new_theme, pos > neg, neg > pos, tie],
        [generic, _POS, _NEG, lean_draw],
        _NEU,
    )
    return sentiment, tie


def _draw_rating(
    rng: np.random.Generator,
    sentiment: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    n_themes: npt.NDArray[np.int64],
    polarity: npt.NDArray[np.int64],
    new_theme: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """CSAT 1-5 from the sentiment, more extreme when two or more themes agree."""
    neg, pos, _ = _counts(order, n_themes, polarity, new_theme)
    cls = np.select(
        [
            (sentiment == _NEG) & (neg >= 2) & (pos == 0),
            sentiment == _NEG,
            sentiment == _NEU,
            (sentiment == _POS) & (pos >= 2) & (neg == 0),
        ],
        [0, 1, 2, 4],
        3,
    )
    cdf = np.cumsum(_RATING_P, axis=1)[cls]
    return 1 + (rng.random(len(cls))[:, None] >= cdf[:, :4]).sum(axis=1)


def _churn(
    rng: np.random.Generator, customer: npt.NDArray[np.int64], sentiment: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Customers after churn: comments after a churn event belong to a new customer.

    Returns a key per row (the customer and their churn count) and the person's number.
    """
    event = ((sentiment == _NEG) & (rng.random(len(customer)) < _CHURN_P)).astype(np.int64)
    earlier = pd.Series(event).groupby(customer).cumsum().to_numpy() - event
    key = customer * (len(customer) + 1) + earlier
    _, person = np.unique(key, return_inverse=True)
    shuffled = rng.permutation(int(person.max()) + 1 if len(person) else 0)
    return key, shuffled[person]


def _renumber(plain: _Labels, drifted: _Labels) -> npt.NDArray[np.int64]:
    """The drifted rows' person numbers: as without drift where the person is the same (the
    customer and churn count), new numbers for people only the drift made."""
    if not len(plain.key):
        return plain.person
    order = np.argsort(plain.key)
    known = plain.key[order]
    at = np.minimum(np.searchsorted(known, drifted.key), len(known) - 1)
    found = known[at] == drifted.key
    person = np.empty(len(drifted.key), dtype=np.int64)
    person[found] = plain.person[order][at[found]]
    _, fresh = np.unique(drifted.key[~found], return_inverse=True)
    person[~found] = plain.person.max() + 1 + fresh
    return person


def _relation(a: int, b: int) -> str:
    """How two clauses connect: "contrast" (good vs bad), "same" polarity or "neutral"."""
    if {a, b} == {_NEG, _POS}:
        return "contrast"
    return "same" if a == b and a != _NEU and a != _CONFLICT else "neutral"


def _clauses(
    lang: str, draws: ph.Draws, themes: list[int], pols: list[int]
) -> list[tuple[str, int]]:
    """Clause templates with their polarity; a single theme sometimes gets a second clause."""
    out = []
    for theme, pol in zip(themes, pols, strict=True):
        if theme == _NEW_THEME:
            bank = ph.NEW_THEME_CLAUSES[lang]
        else:
            bank = ph.CLAUSES[lang][THEMES[theme]][THEME_POLARITIES[pol]]
        i = int(draws.uniform() * len(bank))
        out.append((bank[i], pol))
        if len(themes) == 1 and pol != _CONFLICT and draws.chance(0.3):
            out.append((bank[(i + 1 + int(draws.uniform() * (len(bank) - 1))) % len(bank)], pol))
    return out


def _compose(
    lang: str,
    draws: ph.Draws,
    themes: list[int],
    pols: list[int],
    sentiment: int,
    lean: bool,
) -> str:
    """The text of one comment."""
    mood = SENTIMENTS[sentiment]
    slots = ph.Slots(lang, draws)
    if themes:
        clauses = [(t.format_map(slots), p) for t, p in _clauses(lang, draws, themes, pols)]
        body = _join_en(clauses, draws) if lang == "en" else _join_ko(clauses, draws)
        if draws.chance(0.2):
            opener = draws.pick(ph.OPENERS[lang]).format_map(slots)
            if lang == "en" and opener.endswith("."):
                body = ph.capitalize(body)
            body = f"{opener} {body}"
    else:
        body = draws.pick(ph.GENERIC[lang][mood])
    text = ph.capitalize(body) if lang == "en" else body
    text += _final_mark(lang, mood, text, draws)
    if lean and (mood != "neutral" or draws.chance(0.5)):
        text += " " + draws.pick(ph.LEAN[lang][mood])
    elif not lean and draws.chance(0.3):
        text += " " + draws.pick(ph.CLOSERS[lang]["any" if draws.chance(0.5) else mood])
    if draws.chance(0.07):
        text += " " + draws.pick(ph.EMOJI[lang][mood])
    if lang == "ko":
        text = ph.resolve_particles(text)
    return _typos(lang, text, draws)


def _join_en(clauses: list[tuple[str, int]], draws: ph.Draws) -> str:
    text, prev = clauses[0][0], clauses[0][1]
    for clause, pol in clauses[1:]:
        connector = draws.pick(ph.EN_CONNECTORS[_relation(prev, pol)])
        if text.endswith("?"):
            connector = " "
        if connector.rstrip().endswith(".") or connector == " ":
            clause = ph.capitalize(clause)
        text += connector + clause
        prev = pol
    return text


def _join_ko(clauses: list[tuple[str, int]], draws: ph.Draws) -> str:
    register = "polite" if draws.chance(0.55) else "casual"
    parts = []
    for i, (clause, pol) in enumerate(clauses):
        marker = clause[-1] if clause[-1] in ph.KO_ENDINGS else ""
        stem = clause[:-1] if marker else clause
        if i + 1 == len(clauses):
            parts.append(stem + (draws.pick(ph.KO_ENDINGS[marker][register]) if marker else ""))
            break
        next_pol = clauses[i + 1][1]
        relation = _relation(pol, next_pol)
        if marker and draws.chance(0.55):
            kind = "contrast" if relation == "contrast" else "same"
            parts.append(stem + draws.pick(ph.KO_ENDINGS[marker][kind]))
            continue
        ending = draws.pick(ph.KO_ENDINGS[marker][register]) if marker else ""
        stop = "" if stem.endswith("?") else draws.pick((".", ".", ".", "", ".."))
        parts.append(stem + ending + stop)
        options = ph.KO_CONNECTORS[relation]
        if relation == "contrast":
            extra = "to_positive" if next_pol == _POS else "to_negative"
            options = options + ph.KO_CONNECTORS[extra]
        connector = draws.pick(options)
        if connector:
            parts.append(connector)
    return " ".join(parts)


def _final_mark(lang: str, mood: str, text: str, draws: ph.Draws) -> str:
    """Closing punctuation, unless the text already ends in some."""
    if text.endswith(("?", "!", ".")):
        return ""
    return draws.pick(ph.FINAL_MARKS[lang][mood])


def _typos(lang: str, text: str, draws: ph.Draws) -> str:
    """Occasional lower case, misspellings, casual spellings and missing spaces."""
    if lang == "ko":
        if draws.chance(0.15):
            src, dst = draws.pick(ph.TYPOS["ko"])
            text = text.replace(src, dst, 1)
        if draws.chance(0.12) and " " in text:
            pos = draws.pick([i for i, c in enumerate(text) if c == " "])
            text = text[:pos] + text[pos + 1 :]
        return text
    if draws.chance(0.07):
        text = text.lower()
    if draws.chance(0.12):
        src, dst = draws.pick(ph.TYPOS["en"])
        if src in text:
            text = text.replace(src, dst, 1)
        else:
            words = text.split(" ")
            j = int(draws.uniform() * len(words))
            w = words[j]
            if len(w) >= 5 and w.isalpha():
                k = 1 + int(draws.uniform() * (len(w) - 2))
                words[j] = w[: k - 1] + w[k] + w[k - 1] + w[k + 1 :]
                text = " ".join(words)
    return text
