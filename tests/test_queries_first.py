"""The questions-first gate between query embeddings and ingest batches (qa/queries_first.py); the
real engine answering a question while an ingest batch runs is in tests/test_ingest_workers.py."""

import threading

from qa.queries_first import PRIORITY, QueriesFirst


def test_an_ingest_batch_waits_while_a_question_is_in_flight():
    gate = QueriesFirst(max_pause=30)
    entered, go = threading.Event(), threading.Event()
    turns = []

    def question():
        with gate.query():
            entered.set()
            go.wait(30)

    q = threading.Thread(target=question)
    q.start()
    entered.wait(30)
    assert gate.turn(max_pause=0.05) is False  # a question is being embedded: the batch waits
    t = threading.Thread(target=lambda: turns.append(gate.turn()))
    t.start()
    go.set()
    q.join()
    t.join(30)
    assert turns == [True]  # its turn comes when the question is done, not after max_pause
    assert gate.turn(quiet=30, max_pause=0.05) is False  # questions came in just now: extra workers wait
    assert PRIORITY.max_pause <= 2  # the default gate lets an ingest move under nonstop questions
