"""``python -m hubwatch`` and the ``hubwatch`` command: the CLI of hubwatch.cli.main."""

import gc


def main() -> None:
    """Run the CLI as a command: the process ends with it.

    A command imports a few hundred thousand objects (Prefect, SQLAlchemy, pydantic) that
    live until it exits: the cyclic garbage collector is paused while they are imported
    and they are then kept out of its passes (``gc.freeze``), which cuts about a second of
    CPU from a flow command on a 2-core machine; at exit they are frozen again so the
    interpreter's last collections skip them (another second). Reference counting frees
    everything else as usual. hubwatch.cli.main resumes the collector
    (``resume_collector``) once a command's imports are done.
    """
    gc.disable()
    from hubwatch.cli import main as cli

    cli.ENTRY_POINT = True
    try:
        cli.app(prog_name="hubwatch")
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
