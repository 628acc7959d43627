"""Typed identifiers shared by every layer (no behaviour here)."""

from __future__ import annotations

from typing import NewType

__all__ = ["NodeId", "RunId", "SkillId"]

SkillId = NewType("SkillId", str)
"""A skill's id: lowercase letters, digits and ``-`` (``quantum-vqe``)."""

NodeId = NewType("NodeId", str)
"""A node's id, unique within one workflow (``vqe``)."""

RunId = NewType("RunId", str)
"""A run's id: 12 hex digits, unique per run, also in the trace's file name."""
