"""The command line (typer): ``hubwatch ...``. Only the entry point imports it."""
