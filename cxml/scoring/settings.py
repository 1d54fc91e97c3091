"""Settings of the scoring service, read from ``CXML_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from cxml.errors import ConfigError

__all__ = ["ENV_VARS", "ServiceSettings"]

#: Environment variable of each setting.
ENV_VARS = {
    "api_key": "CXML_API_KEY",
    "max_body_bytes": "CXML_MAX_BODY_BYTES",
    "max_batch": "CXML_MAX_BATCH",
    "sentiment_model": "CXML_SENTIMENT_MODEL",
    "themes_model": "CXML_THEMES_MODEL",
    "csat_model": "CXML_CSAT_MODEL",
    "reload_seconds": "CXML_RELOAD_SECONDS",
    "log": "CXML_PREDICTION_LOG",
    "log_queue_rows": "CXML_PREDICTION_LOG_QUEUE",
    "zendesk_signing_secret": "CXML_ZENDESK_SIGNING_SECRET",
    "zendesk_tag": "CXML_ZENDESK_TAG",
    "zendesk_probability_field": "CXML_ZENDESK_PROBABILITY_FIELD",
    "zendesk_flag_field": "CXML_ZENDESK_FLAG_FIELD",
    "webhook_tolerance_seconds": "CXML_WEBHOOK_TOLERANCE_SECONDS",
}


class ServiceSettings(BaseModel):
    """What ``cxml serve`` serves and how.

    Parameters
    ----------
    api_key : SecretStr, default=None
        Key that clients send in the ``X-API-Key`` header. None disables authentication (the
        service logs a warning at startup).
    max_body_bytes : int, default=1_048_576
        Largest request body; larger ones get 413.
    max_batch : int, default=1000
        Most comments or tickets in one request; more get 413.
    sentiment_model, themes_model, csat_model : str or None
        URIs that :func:`cxml.tracking.load_model` accepts; None (an empty variable) leaves the
        model out. A ``models:/NAME@ALIAS`` URI follows its alias.
    reload_seconds : float, default=30
        How often the registry is asked whether an alias moved; 0 never asks.
    log : str or None, default=None
        Prediction log (:class:`~cxml.monitoring.log.PredictionLog`): a folder or an fsspec URL
        that every scored ticket is written to. None (an empty variable) logs nothing.
    log_queue_rows : int, default=10_000
        Most rows waiting to be written to the log; rows scored while it is full are not logged
        (and counted in ``/metrics``), so that a slow log never slows down scoring.
    zendesk_signing_secret : SecretStr, default=None
        The signing secret of the Zendesk webhook that calls ``POST /v1/webhooks/zendesk``;
        None: that endpoint answers 503.
    zendesk_tag : str, default=None
        The tag the webhook's update adds to tickets at risk (None: ``cxml_at_risk``).
    zendesk_probability_field, zendesk_flag_field : str, default=None
        Ids of the Zendesk numeric and checkbox custom fields the update writes the probability
        and the flag into; None leaves that field out.
    webhook_tolerance_seconds : float, default=300
        How far a webhook request's signed timestamp may be from now; older (or replayed)
        requests are refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_batch: int = Field(default=1000, ge=1)
    sentiment_model: str | None = "models:/cxml-sentiment@champion"
    themes_model: str | None = "models:/cxml-themes@champion"
    csat_model: str | None = "models:/cxml-csat@champion"
    reload_seconds: float = Field(default=30.0, ge=0)
    log: str | None = None
    log_queue_rows: int = Field(default=10_000, ge=1)
    zendesk_signing_secret: SecretStr | None = None
    zendesk_tag: str | None = Field(default=None, pattern=r"^\S+$")
    zendesk_probability_field: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,18}$")
    zendesk_flag_field: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,18}$")
    webhook_tolerance_seconds: float = Field(default=300.0, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Defaults overridden by the variables of :data:`ENV_VARS` that are set.

        An empty ``CXML_API_KEY`` means no key; an empty model variable leaves that model out.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, var in ENV_VARS.items():
            if var in env:
                values[field] = env[var].strip() or None
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_VARS[str(e['loc'][0])]}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise ConfigError(f"invalid service settings: {problems}") from None

    def to_env(self) -> dict[str, str]:
        """The variables that :meth:`from_env` reads back as these settings."""
        env = {}
        for field, var in ENV_VARS.items():
            value = getattr(self, field)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[var] = "" if value is None else str(value)
        return env

    def model_uris(self) -> dict[str, str]:
        """Task -> URI of each model to serve."""
        uris = {
            "sentiment": self.sentiment_model,
            "themes": self.themes_model,
            "csat": self.csat_model,
        }
        return {task: uri for task, uri in uris.items() if uri}
