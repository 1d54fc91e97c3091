"""The ``emerging`` task of ``run.py``: when ``cxml trends`` first flags a planted new theme.

Generated comment streams (``make_comments``, English, no built-in spike) of :data:`WEEKS` weeks
x :data:`PER_WEEK` comments from a Monday; for each seed in :data:`SEEDS` one stream with a new
theme (``Drift("new_theme", week=PLANTED_WEEK)``: a quarter of the comments add a complaint
about the support chatbot) and the same stream without it. The known themes are those
discovered on the first :data:`KNOWN_WEEKS` weeks. Each week from then on is judged the way a
weekly job would judge it: :func:`cxml.monitoring.trends.trends` on the stream up to that week's
end, with the known themes; the week alerts when any of its tests does (theme spikes or an
emerging theme). Per stream: ``first_alert_period`` (week index of the first alert on or after
the plant, None when none), ``false_alerts`` (weeks alerting before the plant; on streams
without one, every alerting week). Flat figures are means over the seeds.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from cxml.data.synth import Drift, make_comments
from cxml.discovery import KnownThemes, discover
from cxml.monitoring.monitor import period_starts
from cxml.monitoring.trends import trends

WEEKS, PER_WEEK, PLANTED_WEEK, KNOWN_WEEKS = 12, 250, 8, 4
#: Seeds 0-2 were seen when the emerging alert rule was set; 3-5 were not.
SEEDS = (0, 1, 2, 3, 4, 5)
START = "2026-01-05"  # a Monday


def stream(seed: int, planted: bool) -> pd.DataFrame:
    """A generated stream of :data:`WEEKS` weeks, with the new theme or without it."""
    drift = Drift("new_theme", week=PLANTED_WEEK) if planted else None
    return make_comments(
        WEEKS * PER_WEEK, seed=seed, start=START, days=7 * WEEKS, spike=False, drift=drift
    )


def alert_weeks(frame: pd.DataFrame) -> tuple[list[int], list[str]]:
    """The weeks (from :data:`KNOWN_WEEKS` on) whose weekly job alerts, and what each said."""
    week = (
        (
            period_starts(pd.to_datetime(frame["created_at"], utc=True), "W")
            - pd.Timestamp(START, tz="UTC")
        ).dt.days
        // 7
    ).to_numpy()
    known = KnownThemes.from_discovery(discover(frame[week < KNOWN_WEEKS]))
    weeks, said = [], []
    for w in range(KNOWN_WEEKS, WEEKS):
        result = trends(frame[week <= w], period="W", known=known)
        fired = [a for a in result.alerts if a.period == result.periods["period"].iloc[-1]]
        if fired:
            weeks.append(w)
            said.append(f"week {w}: " + "; ".join(a.message for a in fired))
    return weeks, said


def task_emerging(args: argparse.Namespace) -> dict[str, Any]:
    """First alert week and false alerts over :data:`SEEDS`, with and without a new theme."""
    if args.train or args.test:
        raise SystemExit("the emerging task generates its streams; it takes no --train/--test")
    started = time.perf_counter()
    first, before, plain = [], [], []
    for seed in SEEDS:
        weeks, said = alert_weeks(stream(seed, planted=True))
        after = [w for w in weeks if w >= PLANTED_WEEK]
        first.append(after[0] if after else None)
        before.append(sum(w < PLANTED_WEEK for w in weeks))
        quiet, quiet_said = alert_weeks(stream(seed, planted=False))
        plain.append(len(quiet))
        print(f"seed {seed}: planted stream alerts {weeks}, plain stream alerts {quiet}")
        for line in [*said, *quiet_said]:
            print("  " + line)
    found = [f for f in first if f is not None]
    return {
        "planted_period": float(PLANTED_WEEK),
        "first_alert_period": float(np.mean(found)) if found else None,
        "detected_share": len(found) / len(SEEDS),
        "false_alerts": float(np.mean(before)),
        "false_alerts_without_new_theme": float(np.mean(plain)),
        "weeks_judged_per_stream": float(WEEKS - KNOWN_WEEKS),
        "seconds": time.perf_counter() - started,
    }
