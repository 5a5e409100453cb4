"""The benchmark harness (``make bench``); see bench/RESULTS.md for the figures."""
