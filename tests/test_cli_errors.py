"""How ``qa`` ends on a Ctrl-C: exit code 130 and one line saying what was kept."""

import os
import signal
import subprocess
import sys

from click.testing import CliRunner

from qa import Assistant
from qa.cli import main
from qa.cli_errors import ingest_kept
from tests.conftest import PARALLEL, ROOT


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_ctrl_c_during_an_ingest_exits_130_and_applies_none_of_it(tmp_path):
    """A real ``qa ingest`` process sent SIGINT once it has begun embedding: exit code 130 (not the
    crash code 1), one line saying what was kept, and the index holds exactly what it held before."""
    assert run("ingest", str(PARALLEL / "en" / "bridge.txt"), "--index", str(tmp_path / "idx")).exit_code == 0
    many = tmp_path / "many"
    many.mkdir()
    for i in range(40):  # distinct texts (an ingest embeds a repeated text once): seconds of embedding
        (many / f"note{i}.txt").write_text(f"Note {i}.\n" + " ".join(
            f"Station {i}-{j} recorded {i * 7 + j} millimetres of rain on day {j}." for j in range(12)))
    child = subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(many), "--index", str(tmp_path / "idx")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    seen = b""
    while b"embedding" not in seen:  # the progress bar: files read, the first batch being embedded
        part = child.stderr.read1(4096)
        assert part, f"the ingest ended before embedding: {seen.decode()}"
        seen += part
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    lines = [line for line in (seen + err).decode().splitlines() if line.startswith("interrupted:")]
    assert child.returncode == 130, (out, seen + err)
    assert lines == ["interrupted: nothing of this ingest was applied; the index holds what it held before "
                     "(run it again to add the files)"]
    assert [d["title"] for d in Assistant.open(tmp_path / "idx").documents()] == ["The New River Bridge."]


def test_an_interrupted_ingest_says_nothing_was_applied_only_while_the_generation_is_unchanged(seed_assistant):
    unchanged = ingest_kept(seed_assistant, seed_assistant.index.snapshot.generation)
    assert unchanged.startswith("nothing of this ingest was applied")
    changed = ingest_kept(seed_assistant, "a generation before this one")
    assert "the index changed" in changed and "qa docs" in changed


def test_a_ctrl_c_in_any_other_command_exits_130_too(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Assistant, "open", interrupted)
    result = run("docs", "--index", str(tmp_path))
    assert result.exit_code == 130 and result.stderr.strip() == "interrupted: stopped before it finished"
    assert "Aborted" not in result.output
