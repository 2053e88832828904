"""Checkers of lesson 12's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations
