"""The exercises' checkers, one module per lesson (``l00.py`` … ``l14.py``); ``course`` imports them all.

Each module registers its lesson's checkers with ``course.exercise("LL.k", hint=..., wrong=[...])``.
"""
