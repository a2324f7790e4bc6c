"""plainrun: a self-hosted engine that runs business processes written in plain English."""

from plainrun._version import __version__

__all__ = ["__version__"]
