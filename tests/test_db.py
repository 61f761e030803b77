"""atomic(): concurrent writers queue instead of failing, and a write from a commit's own hook does not wait on itself."""
from __future__ import annotations

import threading

from sqlalchemy import event, text

from zhongcao.db import atomic, new_session

WRITERS = 4
WRITES_EACH = 25


def _bump(session) -> None:
    session.exec(text("UPDATE content_version SET value = value + 1 WHERE id = 1"))


def _version(session) -> int:
    return session.exec(text("SELECT value FROM content_version WHERE id = 1")).scalar_one()


def test_writers_in_several_threads_each_get_their_turn(engine, session):
    before = _version(session)
    session.rollback()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with new_session(engine) as own:
                for _ in range(WRITES_EACH):
                    _version(own)  # a read first: the write must end it and queue for the lock
                    with atomic(own):
                        _bump(own)
        except BaseException as error:  # reported below; a thread's exception would vanish
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors and not any(thread.is_alive() for thread in threads)
    assert _version(session) == before + WRITERS * WRITES_EACH


def test_a_commit_hook_that_writes_in_a_session_of_its_own_does_not_wait_on_itself(engine, session):
    before = _version(session)
    session.rollback()

    def write_after(_committed) -> None:
        with new_session(engine) as own:
            with atomic(own):
                _bump(own)

    def write() -> None:
        with new_session(engine) as outer:
            event.listen(outer, "after_commit", write_after, once=True)
            with atomic(outer):
                _bump(outer)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(timeout=30)

    assert not thread.is_alive(), "the hook's write waited for the commit that called it"
    assert _version(session) == before + 2
