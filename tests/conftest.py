"""Shared test settings."""

from hypothesis import settings

# Timing varies on shared CI machines: no per-example deadline.
settings.register_profile("project", deadline=None, print_blob=True)
# `pytest --hypothesis-profile=stress` looks much harder for counter-examples.
settings.register_profile("stress", parent=settings.get_profile("project"), max_examples=3000)
settings.load_profile("project")
