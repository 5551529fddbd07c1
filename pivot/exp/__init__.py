"""Experiments: a grid of param overrides planned once, shared work done once.

``grid`` expands ``-S`` overrides, ``workcopy`` makes an isolated working copy
per experiment that shares the project's cache, ``driver`` runs every
experiment's plan together (a stage key seen in several experiments runs
once), ``records`` keeps what each experiment made, ``queue`` holds planned
ones. The user-facing verbs are in ``pivot.api.exp``.
"""
