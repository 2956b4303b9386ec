"""Recur's performance benchmark (``make bench``; see README, "Performance")."""
