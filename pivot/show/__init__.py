"""Metrics, params, plots and output diffs, in the workspace or at any git revision.

``views`` gives one interface to "the project at a point"; ``metrics``,
``params``, ``plots`` and ``diff`` are pure functions of views; ``api`` is what
the CLI and notebooks call.
"""
