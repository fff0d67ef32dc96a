"""Executors: LiteLLM calls and command-line tools behind one result type."""
