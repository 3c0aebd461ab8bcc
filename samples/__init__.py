"""Fetchers of the demo's sample material, each with its own command line (python -m
samples.NAME): kept apart from the library, whose data formats they only write."""
