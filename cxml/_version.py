"""The installed distribution's version, in a module of its own so any layer can import it."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("cxml")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
