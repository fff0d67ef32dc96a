"""The ``ccw`` command line: thin Typer commands over the library."""
