"""Recurrence matching: is this new text an issue the organisation has raised before?

Pure (no Django). ``embedding`` turns text into unit vectors (local ONNX model), ``lexical``
scores spelling like PostgreSQL's pg_trgm, ``ranker`` combines meaning, spelling and context
into ranked suggestions (``weights`` holds every number), ``evaluation`` replays a
``recur-history/1`` file to measure it, and ``bench`` prints the figures.
"""
