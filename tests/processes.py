"""``qa`` commands run as real child processes on this tree (for the many-processes tests), and what an
index folder holds read afresh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qa.index import Index
from tests.conftest import ROOT

TIMEOUT = 180  # a safety net for a hung child, not a measurement


def env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])  # keeps the network guard's
    return {**os.environ, "PYTHONPATH": path, **extra}


def qa(*args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env(**extra), text=True,
                          capture_output=True, timeout=TIMEOUT)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def start_qa(*args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env(**extra), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def documents(folder: Path) -> set[str]:
    """The file names of the documents in the folder's live generation, read afresh."""
    return {Path(d["path"]).name for d in Index.open(folder, verify=False).snapshot.documents}
