"""Commands waiting for the next tick: operators' legends and newcomers' spawns.

The admin API and the bot relay add to it; the clock takes everything at each step, in the
order it arrived, and stores it with the tick so a replay applies the same commands.
"""

from __future__ import annotations

from server.world import Command


class PendingCommands:
    def __init__(self) -> None:
        self._queue: list[Command] = []

    def add(self, command: Command) -> None:
        self._queue.append(command)

    def take(self) -> tuple[Command, ...]:
        taken, self._queue = tuple(self._queue), []
        return taken

    def __len__(self) -> int:
        return len(self._queue)
