"""Executors behind one seam (``executor.py``): LiteLLM, command-line tools, a test double."""
