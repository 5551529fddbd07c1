"""Pivot: typed Python data pipelines that run only what changed."""

__version__ = "0.1.0"
