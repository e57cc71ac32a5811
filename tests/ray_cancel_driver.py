"""A Ray driver of its own for tests/test_ingest_ray.py: a ray ingest cancelled after its first block, then
Ray shut down at once, as a test's teardown does. A Ray Data thread still calling into Ray at that moment
ends the process ("The core worker has already been shutdown ... The process will exit", rc 1); in the test
process it took the whole suite down. A busy machine is made certain: each step of Ray Data's scheduling
loop takes 0.5 s, and the executor's own 2 s wait for its loop to stop runs out at once.

    python -m tests.ray_cancel_driver RAY_ADDRESS CORPUS INDEX_FOLDER
prints ``RESULT {"outcome", "staged" (documents per staged segment), "left" (Ray Data threads alive)}``
after the job, then ``SHUT DOWN`` once Ray is.
"""

import json
import sys
import threading
import time
from pathlib import Path

import ray
from ray.data._internal.execution import streaming_executor as se

from qa import Assistant
from qa.index import Index
from qa.ingest import get_runner
from qa.ingest.ray_runner import EXECUTOR_THREADS


class Cancelled(Exception):
    pass


def busy_machine() -> None:
    step, join = se.StreamingExecutor._scheduling_loop_step, se.StreamingExecutor.join
    se.StreamingExecutor._scheduling_loop_step = lambda self, topology: time.sleep(0.5) or step(self, topology)
    se.StreamingExecutor.join = lambda self, timeout=None: join(self, 0.01 if timeout == 2.0 else timeout)


def main(address: str, corpus: Path, folder: Path) -> None:
    busy_machine()
    staged, stage = [], Index.stage

    def recording(index, additions):
        staged.append(len(additions))
        return stage(index, additions)

    def cancel(done, total):
        if done:  # after the first block, whose documents are staged by now
            raise Cancelled

    Index.stage = recording
    try:
        Assistant.open(folder).add([corpus], progress=cancel, runner=get_runner("ray", address=address,
                                                                                 segment_rows=1))
        outcome = "finished"
    except Cancelled:
        outcome = "cancelled"
    left = [t.name for t in threading.enumerate() if t.name.startswith(EXECUTOR_THREADS)]
    print("RESULT " + json.dumps({"outcome": outcome, "staged": staged, "left": left}), flush=True)
    ray.shutdown()
    print("SHUT DOWN", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
