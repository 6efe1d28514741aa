"""The version of sim, importable from any layer."""

__version__ = "0.1.0"
