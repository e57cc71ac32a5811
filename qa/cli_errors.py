"""How the ``qa`` command line ends on a domain error or a Ctrl-C.

Domain errors (``ValueError`` and its subclasses) become one clean line on stderr and exit code 1;
a Ctrl-C becomes one line saying what was kept and exit code 130 (the shell's 128 + SIGINT, so a
script can tell it from a failure); anything else is a bug and keeps its traceback.
Out of scope: the commands themselves (``cli``, ``cli_eval``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .assistant import Assistant

INTERRUPTED_RC = 130


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C during a command that knows what it kept: ``kept`` is the line ``qa`` prints."""

    def __init__(self, kept: str):
        super().__init__(kept)
        self.kept = kept


class DomainErrors(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValueError as e:
            raise click.ClickException(str(e)) from e
        except KeyboardInterrupt as e:
            # click's own handling prints "Aborted!" and exits 1, the code of a failure.
            kept = e.kept if isinstance(e, Interrupted) else "stopped before it finished"
            click.echo(f"\ninterrupted: {kept}", err=True)  # the newline ends a progress bar's line
            raise click.exceptions.Exit(INTERRUPTED_RC) from e


def ingest_kept(assistant: Assistant, generation_before: str) -> str:
    """What an interrupted ingest left. An ingest applies all it embedded in one commit at its end
    (an atomic replace of the index's CURRENT), so before that nothing of it is visible; a changed
    generation means that commit (or another writer's) got through."""
    if assistant.index.snapshot.generation == generation_before:
        return ("nothing of this ingest was applied; the index holds what it held before "
                "(run it again to add the files)")
    return ("the index changed while the ingest ran (its final commit or another writer's); "
            "`qa docs` lists what it holds")

