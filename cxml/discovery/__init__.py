"""Unsupervised theme discovery: sentence vectors, clustering, c-TF-IDF labels, a taxonomy."""

from cxml.discovery.emerging import EmergingResult, find_emerging
from cxml.discovery.known import KnownThemes
from cxml.discovery.model import OUTLIER, ThemeDiscovery, strip_noise
from cxml.discovery.result import DiscoveryResult, discover, write_discovery

__all__ = [
    "OUTLIER",
    "DiscoveryResult",
    "EmergingResult",
    "KnownThemes",
    "ThemeDiscovery",
    "discover",
    "find_emerging",
    "strip_noise",
    "write_discovery",
]
