"""The child of tests/test_reliability_crash.py: load everything, say READY, then ingest a folder.

    python -m tests.crash_child INDEX DOCS MODE

MODE ``run``: just ingest (the test kills it at a moment of its choosing). MODE ``step:N``: an audit
hook counts the changes this process makes inside the index folder (opening a file for writing, mkdir,
rename, replace, remove, truncate) and SIGKILLs the process just before the N-th; N=0 only counts, and
``DONE`` is followed by the steps seen, as JSON.
"""

import json
import os
import signal
import sys

WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate"}


def kill_before_step(index: str, target: int, steps: list[str]):
    """An audit hook that records each change inside ``index`` and SIGKILLs before the ``target``-th."""

    def hook(event, args):
        if event == "open":
            path, fmode, flags = args
            if not (any(c in fmode for c in "wax+") if isinstance(fmode, str) else (flags or 0) & WRITE):
                return
        elif event not in EVENTS:
            return
        path = args[0]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return
        path = os.path.abspath(os.fsdecode(path))
        if path != index and not path.startswith(index + os.sep):
            return
        steps.append(event + " " + os.path.relpath(path, index))
        if len(steps) == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main() -> None:
    index, docs, mode = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    from qa import Assistant
    from qa.embed import get_embedder

    get_embedder("e5-small").embed_passages(["warm up"])
    steps: list[str] = []
    if mode.startswith("step:"):
        sys.addaudithook(kill_before_step(index, int(mode[5:]), steps))
    print("READY", flush=True)
    Assistant.build([docs], index)
    print("DONE", json.dumps(steps) if mode.startswith("step:") else "", flush=True)


if __name__ == "__main__":
    main()
