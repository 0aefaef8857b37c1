"""``python -m hubwatch``: the same CLI as the ``hubwatch`` command."""

from hubwatch.cli.main import app

if __name__ == "__main__":
    app(prog_name="hubwatch")
