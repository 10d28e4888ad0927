"""Supervision: crashed actors restart with backoff; past the intensity the tree gives up;
children start in order and stop in reverse."""

from __future__ import annotations

from functools import partial

import anyio
import pytest
from anyio.abc import TaskStatus

from teambot.errors import FatalError, find_error
from teambot.supervisor import ChildSpec, RestartIntensityExceeded, Supervisor

pytestmark = pytest.mark.anyio


async def test_a_crashing_actor_is_restarted_and_the_others_keep_running() -> None:
    starts = {"flaky": 0, "steady": 0}
    steady_ticks = 0
    restarted: list[str] = []
    third_start = anyio.Event()

    async def flaky(*, task_status: TaskStatus[None]) -> None:
        starts["flaky"] += 1
        task_status.started()
        if starts["flaky"] <= 2:
            await anyio.sleep(0.01)
            raise RuntimeError("boom")
        third_start.set()
        await anyio.sleep_forever()

    async def steady(*, task_status: TaskStatus[None]) -> None:
        nonlocal steady_ticks
        starts["steady"] += 1
        task_status.started()
        while True:
            steady_ticks += 1
            await anyio.sleep(0.005)

    supervisor = Supervisor(
        [ChildSpec("flaky", flaky), ChildSpec("steady", steady)],
        intensity=5,
        period=10,
        min_backoff=0.01,
        max_backoff=0.02,
        on_restart=restarted.append,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        with anyio.fail_after(5):
            await third_start.wait()
        ticks_before = steady_ticks
        await anyio.sleep(0.05)
        supervisor.request_stop()
    assert restarted == ["flaky", "flaky"]
    assert starts["steady"] == 1  # one-for-one: the neighbour was never restarted
    assert steady_ticks > ticks_before


async def test_past_the_restart_intensity_the_supervisor_gives_up() -> None:
    async def broken(*, task_status: TaskStatus[None]) -> None:
        task_status.started()
        raise RuntimeError("always")

    supervisor = Supervisor(
        [ChildSpec("broken", broken)],
        intensity=3,
        period=10,
        min_backoff=0.001,
        max_backoff=0.002,
    )
    with anyio.fail_after(5), pytest.raises(BaseException) as caught:
        await supervisor.run()
    gave_up = find_error(caught.value, RestartIntensityExceeded)
    assert gave_up is not None
    assert "more than 3 restarts" in str(gave_up)


async def test_a_fatal_error_is_not_retried() -> None:
    starts = 0

    async def bad_token(*, task_status: TaskStatus[None]) -> None:
        nonlocal starts
        starts += 1
        raise FatalError("BOT_TOKEN was rejected")

    supervisor = Supervisor([ChildSpec("telegram", bad_token)], min_backoff=0.001)
    with anyio.fail_after(5), pytest.raises(BaseException) as caught:
        await supervisor.run()
    assert find_error(caught.value, FatalError) is not None
    assert starts == 1


async def test_children_start_in_order_and_stop_in_reverse() -> None:
    events: list[str] = []

    def child(name: str, startup: float) -> ChildSpec:
        async def run(*, task_status: TaskStatus[None]) -> None:
            await anyio.sleep(startup)
            events.append(f"start {name}")
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                events.append(f"stop {name}")

        return ChildSpec(name, run)

    supervisor = Supervisor(
        [child("database", 0.03), child("telegram", 0.01), child("pipeline", 0)]
    )
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        supervisor.request_stop()
    assert events == [
        "start database",
        "start telegram",
        "start pipeline",
        "stop pipeline",
        "stop telegram",
        "stop database",
    ]


async def test_a_child_gets_its_graceful_stop_window() -> None:
    drained = anyio.Event()
    stop_asked = anyio.Event()

    async def pipeline(*, task_status: TaskStatus[None]) -> None:
        task_status.started()
        await stop_asked.wait()
        await anyio.sleep(0.05)  # finishing work in flight
        drained.set()

    supervisor = Supervisor(
        [ChildSpec("pipeline", pipeline, request_stop=stop_asked.set, stop_timeout=2)]
    )
    async with anyio.create_task_group() as tg:
        await tg.start(supervisor.run)
        supervisor.request_stop()
    assert drained.is_set()


async def test_a_stop_while_children_start_cancels_the_start_and_stops_the_started() -> None:
    events: list[str] = []
    waiting = anyio.Event()

    async def first(*, task_status: TaskStatus[None]) -> None:
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            events.append("first stopped")

    async def never_ready(*, task_status: TaskStatus[None]) -> None:
        waiting.set()
        try:
            await anyio.sleep_forever()  # waiting for a database that never comes
        finally:
            events.append("start cancelled")

    async def third(*, task_status: TaskStatus[None]) -> None:
        events.append("third started")
        task_status.started()

    supervisor = Supervisor(
        [ChildSpec("first", first), ChildSpec("slow", never_ready), ChildSpec("third", third)]
    )
    reported: list[str] = []

    class Status:
        def started(self, value: None = None) -> None:
            reported.append("started")

    with anyio.fail_after(10):  # before: the stop waited for a start that never ended
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(supervisor.run, task_status=Status()))
            await waiting.wait()
            supervisor.request_stop()
    assert events == ["start cancelled", "first stopped"]
    assert reported == [] and not supervisor.started


async def test_a_stage_stopped_with_the_pipeline_is_not_reported_as_a_crash() -> None:
    """A pipeline being stopped (the lead lost, a restart) may close a stage before the one
    feeding it notices the stop (it was finishing a shielded database call): that is the
    stop, not a crash with a traceback in the journal. A stage gone while nothing stops
    is still an error."""
    from teambot.actors.pipeline.streams import send_all

    send, receive = anyio.create_memory_object_stream[int](1)
    with anyio.CancelScope() as stopping:
        stopping.cancel()
        receive.close()
        await send_all(send, [1, 2])
    assert stopping.cancelled_caught
    with pytest.raises(anyio.BrokenResourceError):
        await send_all(send, [3])
