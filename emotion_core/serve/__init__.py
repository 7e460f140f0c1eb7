"""Answers for other programs and people: the command line, the HTTP API, per-photo results."""
