"""The second sentence of a (comment, theme) pair, as a fine-tuned encoder reads it.

BERT-pair models (Sun et al., 2019, "Utilizing BERT for Aspect-Based Sentiment Analysis via
Constructing Auxiliary Sentence") ask about the aspect in a second sentence: the bare aspect
(NLI-M, "food") or a question (QA-M, "what do you think of the food of it?"). A template with
``{aspect}`` (the theme name as stored) or ``{words}`` (the name as words: ``_`` and ``-`` as
spaces, ``/`` as "or", ``#`` as a space) writes that sentence.
"""

from __future__ import annotations

import re
import string

__all__ = ["QUESTION", "aspect_sentence", "check_template", "theme_words"]

#: The QA-M template.
QUESTION = "what do you think of the {words} of it?"

_FIELDS = {"aspect", "words"}


def theme_words(name: str) -> str:
    """A theme name as words.

    >>> theme_words("anecdotes/miscellaneous"), theme_words("FOOD#STYLE_OPTIONS")
    ('anecdotes or miscellaneous', 'food style options')
    """
    words = name.replace("/", " or ").replace("#", " ").replace("_", " ").replace("-", " ")
    return re.sub(r"\s+", " ", words).strip().lower()


def check_template(template: str) -> str:
    """``template`` when it names ``{aspect}`` or ``{words}`` and nothing else; else ValueError.

    >>> check_template("about {sth}")
    Traceback (most recent call last):
    ...
    ValueError: a pair template names {aspect} or {words}, nothing else; got 'about {sth}'
    """
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as err:
        raise ValueError(f"a pair template is a format string; got {template!r}: {err}") from err
    if not fields or not fields <= _FIELDS:
        raise ValueError(
            f"a pair template names {{aspect}} or {{words}}, nothing else; got {template!r}"
        )
    return template


def aspect_sentence(aspect: str, template: str) -> str:
    """The second sentence for ``aspect``.

    >>> aspect_sentence("service_speed", QUESTION)
    'what do you think of the service speed of it?'
    >>> aspect_sentence("service_speed", "{aspect}")
    'service_speed'
    """
    return template.format(aspect=aspect, words=theme_words(aspect))
