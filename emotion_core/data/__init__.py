"""Datasets: one reader per format, FER+ votes, person splits, photo crops, summaries, evaluation, and which
paths the dashboard may open."""
