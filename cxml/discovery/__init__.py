"""Unsupervised theme discovery: sentence vectors, clustering, c-TF-IDF labels, a taxonomy."""

from cxml.discovery.model import OUTLIER, ThemeDiscovery, strip_noise
from cxml.discovery.result import DiscoveryResult, discover, write_discovery

__all__ = [
    "OUTLIER",
    "DiscoveryResult",
    "ThemeDiscovery",
    "discover",
    "strip_noise",
    "write_discovery",
]
