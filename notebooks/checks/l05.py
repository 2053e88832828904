"""Checkers of lesson 05's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations
