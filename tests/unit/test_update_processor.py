"""Updates of different chats run concurrently, bounded; one chat's updates run one at a time, in order."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from handlers.update_processor import ChatOrderedUpdateProcessor, ordering_key

A, B, C = 1001, 1002, 1003


def _update(update_id: int, chat_id: int) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "text": f"m{update_id}",
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "委员"}},
    }, None)


class Recorder:
    """Coroutines standing in for ``process_update``: each waits for its own gate, logging start and end."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.running = 0
        self.peak = 0

    def work(self, update_id: int) -> Any:
        gate = self.gates.setdefault(update_id, asyncio.Event())

        async def run() -> None:
            self.log.append(("start", update_id))
            self.running += 1
            self.peak = max(self.peak, self.running)
            await gate.wait()
            self.running -= 1
            self.log.append(("end", update_id))

        return run()

    def started(self) -> list[int]:
        return [u for event, u in self.log if event == "start"]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _feed(processor: ChatOrderedUpdateProcessor, recorder: Recorder,
          updates: list[tuple[int, int]]) -> list[asyncio.Task[None]]:
    """Like PTB's update fetcher: one task per update, created in arrival order."""
    return [asyncio.create_task(processor.process_update(_update(u, chat), recorder.work(u)))
            for u, chat in updates]


async def test_different_chats_run_concurrently_one_chat_in_order() -> None:
    processor, rec = ChatOrderedUpdateProcessor(max_running=8), Recorder()
    tasks = _feed(processor, rec, [(1, A), (2, A), (3, B), (4, A), (5, C)])
    await _settle()
    assert rec.started() == [1, 3, 5]  # A's first, B's and C's run side by side; A's 2 and 4 wait
    assert processor.busy_chats == 3
    rec.gates[3].set()  # B finishing does not release A's next update
    await _settle()
    assert rec.started() == [1, 3, 5]
    rec.gates[1].set()
    await _settle()
    assert rec.started() == [1, 3, 5, 2]
    rec.gates[4].set()  # 4 may finish its wait early, it still starts only after 2
    await _settle()
    assert rec.started() == [1, 3, 5, 2]
    rec.gates[2].set()
    rec.gates[5].set()
    await asyncio.gather(*tasks)
    a_events = [(e, u) for e, u in rec.log if u in (1, 2, 4)]
    assert a_events == [("start", 1), ("end", 1), ("start", 2), ("end", 2), ("start", 4), ("end", 4)]
    assert processor.busy_chats == 0


async def test_at_most_max_running_in_flight_and_waiters_of_a_busy_chat_take_no_place() -> None:
    processor, rec = ChatOrderedUpdateProcessor(max_running=3), Recorder()
    # Ten updates of chat A queue behind its first; six other chats compete for three places.
    updates = [(i, A) for i in range(1, 11)] + [(100 + i, 2000 + i) for i in range(6)]
    tasks = _feed(processor, rec, updates)
    await _settle()
    assert rec.started() == [1, 100, 101] and rec.peak == 3
    for u in (100, 101):
        rec.gates[u].set()
    await _settle()
    assert rec.started() == [1, 100, 101, 102, 103]
    for gate_id in [1, *range(2, 11), *range(102, 106)]:
        rec.gates.setdefault(gate_id, asyncio.Event()).set()
    await asyncio.gather(*tasks)
    assert rec.peak == 3
    assert [u for u in rec.started() if u <= 10] == list(range(1, 11))


async def test_an_update_of_a_failed_predecessor_still_runs() -> None:
    processor = ChatOrderedUpdateProcessor(max_running=4)
    seen: list[int] = []

    async def fails() -> None:
        seen.append(1)
        raise RuntimeError("handler bug")

    async def works() -> None:
        seen.append(2)

    first = asyncio.create_task(processor.process_update(_update(1, A), fails()))
    second = asyncio.create_task(processor.process_update(_update(2, A), works()))
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert seen == [1, 2]


def test_ordering_key_is_the_chat_else_the_sender() -> None:
    assert ordering_key(_update(1, A)) == ("chat", A)
    query = Update.de_json({"update_id": 2, "callback_query": {
        "id": "q", "chat_instance": "c", "inline_message_id": "i", "data": "x",
        "from": {"id": B, "is_bot": False, "first_name": "委员"}}}, None)
    assert ordering_key(query) == ("user", B)
    assert ordering_key(object()) is None
