"""Shared test settings."""

from hypothesis import settings

# Timing varies on shared CI machines: no per-example deadline.
settings.register_profile("project", deadline=None, print_blob=True)
settings.load_profile("project")
