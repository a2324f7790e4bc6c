"""Reliability tests: real processes killed, a database restarted (run apart from the suite)."""
