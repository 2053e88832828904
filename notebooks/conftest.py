"""pytest in notebooks/: the answers files are notebook cells (they use the lesson's names), not modules."""

collect_ignore = ["answers"]
