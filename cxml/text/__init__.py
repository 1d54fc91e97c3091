"""Text processing shared by every model: normalisation and language detection."""

from cxml.text.lang import SUPPORTED_LANGS, detect_lang
from cxml.text.normalize import normalize_text

__all__ = ["SUPPORTED_LANGS", "detect_lang", "normalize_text"]
