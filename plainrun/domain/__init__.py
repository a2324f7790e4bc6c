"""The domain: pure rules with no I/O (run states, process stages, tokens)."""
