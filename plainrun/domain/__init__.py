"""The domain: pure rules and records with no I/O.

Run states and their moves (``runs``), processes and their settings, schedules and their fire
times, e-mail addresses and message parsing, the Test Suite's judging, ids, the clock and the
signed page tokens of every list. Every other package builds on these; this one imports none of them.
"""
