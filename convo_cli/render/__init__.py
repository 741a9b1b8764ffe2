"""Output: the only place that knows about terminals (Rich), pipes (TSV) and `--json`."""
