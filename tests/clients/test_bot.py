"""The bot SDK plays real games against a real server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from clients.bot import BotRunner, BotStopped, bot_url, to_act
from clients.examples.local_model import LocalModelBot
from clients.examples.market_maker import MarketMaker
from clients.examples.winter_speculator import WinterSpeculator
from shared.decision import Decision, Offer, Side
from shared.protocol import Join, Turn

from .conftest import Wood, open_wood, until


class Recorder:
    """Does nothing, and remembers every turn it was given."""

    def __init__(self) -> None:
        self.ticks: list[int] = []

    def act(self, turn: Turn) -> None:
        self.ticks.append(turn.tick)


@asynccontextmanager
async def playing(runner: BotRunner) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, 5)


async def trades_of(wood: Wood, creatures: set[str], ticks: int) -> dict[str, int]:
    """Watch `/ws` until each of `creatures` took part in a trade, or `ticks` deltas passed;
    the number of trades each took part in."""
    counts = dict.fromkeys(creatures, 0)
    async with connect(f"{wood.ws}/ws") as ws:
        seen = 0
        while seen < ticks and not all(counts.values()):
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["type"] != "delta":
                continue
            seen += 1
            for event in message["events"]:
                if event["type"] == "trade_cleared":
                    for who in (event["buyer"], event["seller"]):
                        if who in counts:
                            counts[who] += 1
    return counts


def test_urls_and_acts() -> None:
    assert bot_url("http://h:1") == "ws://h:1/ws/bot"
    assert bot_url("ws://h:1/ws/bot") == "ws://h:1/ws/bot"
    assert bot_url("https://h") == "wss://h/ws/bot"
    assert to_act(4, None).model_dump(exclude_none=True) == {
        "type": "act",
        "tick": 4,
        "offers": [],
        "gossip": "",
    }
    offer = Offer(side=Side.BUY, good="honey", qty=1, price=2.0)
    assert to_act(5, Decision(offers=[offer], gossip="hi")).offers == [offer]


async def test_joins_and_answers_every_tick(tmp_path: Path) -> None:
    # Server and bot share one event loop here: a roomier deadline keeps a busy CI machine
    # from turning a loop hiccup into a late act.
    wood = await open_wood(tmp_path, tick=0.4)
    bot = Recorder()
    runner = BotRunner(bot, wood.ws, await wood.token("hob"))
    try:
        async with playing(runner):
            await until(lambda: runner.stats.accepted >= 12, timeout=30)
    finally:
        await wood.stop()
    stats = runner.stats
    assert stats.creature == "hob"
    assert stats.joined == 1
    assert bot.ticks == list(range(bot.ticks[0], bot.ticks[0] + len(bot.ticks)))
    assert stats.acts >= stats.turns - 1
    assert stats.accepted >= stats.acts - 1
    # As with the acts: one may come late on a loaded machine (a thread hop per act), and
    # nothing else may go wrong.
    assert set(stats.errors) <= {"late"} and stats.errors["late"] <= 1, stats.errors
    assert stats.late <= 1


async def test_example_bots_trade(wood: Wood) -> None:
    maker = BotRunner(MarketMaker(), wood.ws, await wood.token("mossback"))
    speculator = BotRunner(WinterSpeculator(), wood.ws, await wood.token("vesper"))
    async with playing(maker), playing(speculator):
        await until(lambda: maker.stats.accepted > 0 and speculator.stats.accepted > 0)
        counts = await trades_of(wood, {"mossback", "vesper"}, 150)
    assert counts["mossback"] > 0, (counts, maker.stats)
    assert counts["vesper"] > 0, (counts, speculator.stats)
    # A loaded machine may deliver an act after its deadline; nothing else may be refused.
    assert set(maker.stats.errors) <= {"late"}, maker.stats.errors
    assert set(speculator.stats.errors) <= {"late"}, speculator.stats.errors


class ScriptedEngine:
    """An engine that answers every prompt with the same JSON, and keeps the prompts."""

    name = "test"
    aborts_on_cancel = True

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def generate(
        self, prompts: Any, *, schema: dict[str, Any], max_tokens: int
    ) -> list[str | None]:
        self.prompts.extend(prompts)
        text = '{"offers":[{"side":"sell","good":"honey","qty":2,"price":1}],"gossip":"sweet"}'
        return [text for _ in prompts]

    async def aclose(self) -> None:
        return None


async def test_a_local_model_drives_a_creature_through_the_prompt_builder(wood: Wood) -> None:
    engine = ScriptedEngine()
    runner = BotRunner(LocalModelBot(engine=engine), wood.ws, await wood.token("oona"))
    async with playing(runner):
        await until(lambda: runner.stats.accepted >= 3)
        counts = await trades_of(wood, {"oona"}, 50)
    assert "You are Oona the owl" in engine.prompts[0]
    assert "Never buy: honey" in engine.prompts[0]
    assert counts["oona"] > 0


class Slow:
    def __init__(self) -> None:
        self.late: list[int] = []

    def act(self, turn: Turn) -> Decision:
        time.sleep(turn.deadline_ms / 1000 + 0.05)
        return Decision(gossip="too late")

    def on_late(self, turn: Turn) -> None:
        self.late.append(turn.tick)


async def test_a_bot_still_thinking_at_the_deadline_is_told_and_its_answer_dropped(
    wood: Wood,
) -> None:
    bot = Slow()
    runner = BotRunner(bot, wood.ws, await wood.token("bram"))
    async with playing(runner):
        await until(lambda: len(bot.late) >= 3)
    assert runner.stats.late >= 3
    assert runner.stats.acts == 0
    assert "late" not in runner.stats.errors  # nothing was sent after a deadline


async def test_the_bot_survives_a_server_restart(wood: Wood) -> None:
    bot = Recorder()
    runner = BotRunner(bot, wood.ws, await wood.token("hob"), max_backoff=0.5)
    async with playing(runner) as task:
        await until(lambda: runner.stats.accepted >= 5)
        before = runner.stats.accepted
        last_tick = bot.ticks[-1]
        await wood.restart()
        await until(lambda: runner.stats.accepted >= before + 5, timeout=15)
        assert not task.done()
    assert runner.stats.connections >= 2
    assert runner.stats.joined >= 2
    assert bot.ticks[-1] > last_tick + 3


async def test_a_refused_token_stops_the_bot(wood: Wood) -> None:
    runner = BotRunner(Recorder(), wood.ws, "not-a-token")
    with pytest.raises(BotStopped, match="bad_token"):
        await asyncio.wait_for(runner.run(), 5)


async def test_a_bot_brings_a_new_creature_and_keeps_its_token(wood: Wood) -> None:
    join = Join(name="Pip", species="wren", produces="berries")
    runner = BotRunner(Recorder(), wood.ws, join=join)
    async with playing(runner):
        await until(lambda: runner.stats.accepted >= 2)
    assert runner.stats.creature == "pip"
    assert runner.token in wood.running.relay.tokens


def test_the_local_model_sees_the_observation_the_server_sent() -> None:
    from clients.examples.local_model import to_world_observation
    from server.world import load_scenario, new_world, step
    from server.world.actions import NOOP
    from server.world.observe import BoardGossip, BoardTrade, HeardLegend, observe_all
    from server.world.observe import Observation as WorldObservation
    from shared.observation import Observation

    state = new_world(load_scenario(), 3)
    for _ in range(40):
        state, _events = step(state, dict.fromkeys(state.creatures, NOOP))
    for plain in observe_all(state).values():
        world_obs = dataclasses.replace(
            plain,
            trades=(BoardTrade(tick=3, good="acorns", qty=2, price=4.5, buyer="A", seller="B"),),
            gossip=(BoardGossip(tick=3, creature="A", text="hello"),),
            legends=(HeardLegend(id="l", title="T", story="s", ticks_left=2, rumour=True),),
        )
        # What the server puts on the wire, read back as a bot reads it.
        wire = Observation.model_validate(orjson.loads(orjson.dumps(world_obs)))
        assert to_world_observation(wire) == world_obs
    assert set(Observation.model_fields) == {f.name for f in dataclasses.fields(WorldObservation)}
