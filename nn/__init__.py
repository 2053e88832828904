"""A tiny neural-network library built on ``autograd`` (work in progress)."""
