"""A request whose bytes arrived together is answered before `data_received` returns (protocol.py `start_eagerly`):
no task unless the app waits, and then the task finishes the same coroutine, with its values, errors, cancellation
and context."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from mock_server.http.protocol import start_eagerly

VARIABLE: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="outside")


def test_a_coroutine_that_never_waits_finishes_inside_the_call_without_a_task() -> None:
    async def main() -> list[str]:
        steps: list[str] = []

        async def app() -> None:
            VARIABLE.set("inside")
            steps.append("ran")

        tasks: set[Any] = set()
        start_eagerly(asyncio.get_running_loop(), app(), tasks)
        steps.append(f"returned, tasks={len(tasks)}, variable={VARIABLE.get()}")
        return steps

    # The app's context is a copy, as a task's is: what it sets stays inside.
    assert asyncio.run(main()) == ["ran", "returned, tasks=0, variable=outside"]


def test_a_coroutine_that_waits_becomes_a_task_that_gets_the_values_it_waits_for() -> None:
    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        seen: list[Any] = []

        async def app() -> None:
            VARIABLE.set("inside")
            seen.append(await first)
            await asyncio.sleep(0)
            seen.append(await second)
            seen.append(VARIABLE.get())

        tasks: set[Any] = set()
        start_eagerly(loop, app(), tasks)
        assert len(tasks) == 1 and seen == []
        first.set_result("one")
        await asyncio.sleep(0.01)
        second.set_result("two")
        await asyncio.gather(*tasks)
        await asyncio.sleep(0)  # the done callback lets go of the task
        seen.append(len(tasks))
        return seen

    assert asyncio.run(main()) == ["one", "two", "inside", 0]


def test_a_failure_and_a_cancellation_reach_the_waiting_coroutine() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        failing, forever = loop.create_future(), loop.create_future()
        seen: list[str] = []

        async def handles_failure() -> None:
            try:
                await failing
            except ValueError as exc:
                seen.append(f"caught {exc}")

        async def cancelled() -> None:
            try:
                await forever
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        tasks: set[Any] = set()
        start_eagerly(loop, handles_failure(), tasks)
        start_eagerly(loop, cancelled(), tasks)
        failing.set_exception(ValueError("boom"))
        for task in list(tasks):
            if not task.done():
                await asyncio.sleep(0)
        waiting = [task for task in tasks if not task.done()]
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        return seen

    assert asyncio.run(main()) == ["caught boom", "cancelled"]
