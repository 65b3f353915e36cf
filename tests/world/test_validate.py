"""The first phase: every offer that could never be valid is refused with a reason, and the
step goes on; gossip is cleaned to one bounded printable line."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.world import Action, Order, SpawnCreature, TriggerLegend, new_world, state_hash, step
from server.world.events import GossipSpoken, MarketCleared, OfferRejected
from server.world.validate import MAX_PRICE_BITS, TAGS, ZWJ, clean_gossip

from .conftest import market_scenario, of_type

SCN = market_scenario({"me": (100.0, {"acorns": 5}), "you": (100.0, {"honey": 5})})


def rejections(orders: tuple[Any, ...], creature: str = "me") -> list[OfferRejected]:
    _, events = step(new_world(SCN, 1), {creature: Action(orders)})
    return of_type(events, OfferRejected)


def test_valid_order_is_not_refused() -> None:
    assert rejections((Order("sell", "acorns", 5, 100), Order("buy", "honey", 1, 900))) == []


@pytest.mark.parametrize("side", ["hold", "BUY", "Sell", "", " buy", None, 1, b"buy"])
def test_invalid_side(side: Any) -> None:
    assert rejections((Order(side, "acorns", 1, 100),)) == [OfferRejected("me", 0, "invalid_side")]


@pytest.mark.parametrize("good", ["gold", "", "Acorns", "pebbles", None, 3, ("acorns",)])
def test_unknown_good(good: Any) -> None:
    assert rejections((Order("buy", good, 1, 100),)) == [OfferRejected("me", 0, "unknown_good")]


@pytest.mark.parametrize("qty", [0, -1, -1000, 1000, 10**12, 2.0, 1.5, True, "3", None])
def test_invalid_qty(qty: Any) -> None:
    assert rejections((Order("buy", "acorns", qty, 100),)) == [
        OfferRejected("me", 0, "invalid_qty")
    ]


@pytest.mark.parametrize(
    "price", [0, -1, -400, MAX_PRICE_BITS + 1, 10**15, 5.0, float("nan"), True, "5", None]
)
def test_invalid_price(price: Any) -> None:
    assert rejections((Order("buy", "acorns", 1, price),)) == [
        OfferRejected("me", 0, "invalid_price")
    ]


def test_limits_are_inclusive() -> None:
    scn = market_scenario({"me": (100_000.0, {"acorns": 999})})
    _, events = step(
        new_world(scn, 1),
        {"me": Action((Order("sell", "acorns", 999, 1), Order("buy", "honey", 1, MAX_PRICE_BITS)))},
    )
    assert of_type(events, OfferRejected) == []


def test_too_many_offers() -> None:
    orders = (
        Order("buy", "honey", 1, 100),
        Order("buy", "honey", 1, 100),
        Order("buy", "honey", 1, 100),
        Order("buy", "honey", 1, 100),
        Order("nonsense", "gold", 0, 0),
    )
    assert rejections(orders) == [
        OfferRejected("me", 3, "too_many_offers"),
        OfferRejected("me", 4, "too_many_offers"),
    ]


def test_too_many_offers_follows_the_scenario() -> None:
    scn = market_scenario({"me": (100.0, {})}, rules={"max_offers": 1})
    _, events = step(
        new_world(scn, 1),
        {"me": Action((Order("buy", "honey", 1, 100), Order("buy", "acorns", 1, 100)))},
    )
    assert of_type(events, OfferRejected) == [OfferRejected("me", 1, "too_many_offers")]


def test_crossed_own_offer_only_against_an_accepted_order() -> None:
    # The first offer is refused (bad qty), so the sell that follows crosses nothing.
    orders = (Order("buy", "acorns", 0, 100), Order("sell", "acorns", 1, 100))
    assert rejections(orders) == [OfferRejected("me", 0, "invalid_qty")]
    orders = (Order("sell", "acorns", 1, 100), Order("buy", "acorns", 1, 100))
    assert rejections(orders) == [OfferRejected("me", 1, "crossed_own_offer")]


def test_not_an_order() -> None:
    assert rejections(("buy 3 acorns", None, {"side": "buy"})) == [
        OfferRejected("me", 0, "not_an_order"),
        OfferRejected("me", 1, "not_an_order"),
        OfferRejected("me", 2, "not_an_order"),
    ]


def test_unknown_creature() -> None:
    world = new_world(SCN, 1)
    after, events = step(
        world, {"ghost": Action((Order("buy", "acorns", 1, 100),) * 2, gossip="boo")}
    )
    assert of_type(events, OfferRejected) == [
        OfferRejected("ghost", 0, "unknown_creature"),
        OfferRejected("ghost", 1, "unknown_creature"),
    ]
    assert of_type(events, GossipSpoken) == []
    assert "ghost" not in after.creatures


def test_exiled_creature_can_neither_trade_nor_speak() -> None:
    world = new_world(SCN, 1)
    world.creatures["me"].exiled_until = 10
    after, events = step(
        world,
        {"me": Action((Order("sell", "acorns", 1, 100), Order("x", "y", 0, 0)), gossip="hi")},
    )
    assert of_type(events, OfferRejected) == [
        OfferRejected("me", 0, "exiled"),
        OfferRejected("me", 1, "exiled"),
    ]
    assert of_type(events, GossipSpoken) == []
    assert of_type(events, MarketCleared) == []
    assert after.creatures["me"].stores["acorns"] == 5


def test_rejections_do_not_stop_other_creatures() -> None:
    _, events = step(
        new_world(SCN, 1),
        {
            "me": Action((Order("sell", "acorns", 2, 100), Order("sell", "gold", 1, 1))),
            "ghost": Action((Order("buy", "acorns", 1, 100),)),
            "you": Action((Order("buy", "acorns", 2, 500),)),
        },
    )
    assert [(e.creature, e.reason) for e in of_type(events, OfferRejected)] == [
        ("ghost", "unknown_creature"),
        ("me", "unknown_good"),
    ]
    assert of_type(events, MarketCleared)[0].volume == 2


def test_gossip_is_spoken_and_kept_on_the_board() -> None:
    world = new_world(SCN, 1)
    world, events = step(world, {"me": Action(gossip="Acorns, fresh acorns!")})
    assert of_type(events, GossipSpoken) == [GossipSpoken("me", "Acorns, fresh acorns!")]
    assert [(g.tick, g.creature, g.text) for g in world.gossip] == [
        (1, "me", "Acorns, fresh acorns!")
    ]


def test_gossip_feed_keeps_only_the_recent_lines() -> None:
    world = new_world(SCN, 1)
    history = SCN.rules.history
    for i in range(history + 5):
        world, _ = step(world, {"me": Action(gossip=f"line {i}"), "you": Action(gossip="hm")})
    assert len(world.gossip) == history
    assert world.gossip[-1].text == "hm"
    assert world.gossip[-2].text == f"line {history + 4}"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("", ""),
        ("   ", ""),
        ("hello", "hello"),
        ("  two   spaces\tand\ttabs ", "two spaces and tabs"),
        ("line\nbreak\r\nhere", "line break here"),
        ("bell\x07null\x00esc\x1b[31m", "bell null esc [31m"),
        ("zero\u200bwidth", "zero width"),
        (None, ""),
        (42, ""),
        (["a"], ""),
    ],
)
def test_clean_gossip(raw: object, clean: str) -> None:
    assert clean_gossip(raw, 120) == clean


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=800), limit=st.integers(0, 280))
def test_gossip_is_one_bounded_printable_line(text: str, limit: int) -> None:
    out = clean_gossip(text, limit)
    assert len(out) <= limit
    assert "\n" not in out
    assert "\r" not in out
    assert "  " not in out
    # Printable, or what holds an emoji sequence together (tests/world/test_clean_gossip.py).
    assert all(ch == " " or ch.isprintable() or ch == ZWJ or TAGS[0] <= ch <= TAGS[1] for ch in out)


def test_gossip_longer_than_the_limit_is_cut() -> None:
    _, events = step(new_world(SCN, 1), {"me": Action(gossip="a" * 500)})
    [spoken] = of_type(events, GossipSpoken)
    assert spoken.text == "a" * SCN.rules.gossip_chars


# ---- anything at all may be passed in (actions.py's promise) --------------------------------


def test_an_action_that_is_not_an_action_is_ignored() -> None:
    world = new_world(SCN, 1)
    after, events = step(world, {"me": None, "you": "buy everything"})  # type: ignore[dict-item]
    assert after.tick == 1
    assert of_type(events, OfferRejected) == []


@pytest.mark.parametrize("who", ["me", "ghost"])
def test_orders_that_are_not_a_sequence_are_refused(who: str) -> None:
    after, _ = step(new_world(SCN, 1), {who: Action(orders=None)})  # type: ignore[arg-type]
    assert after.tick == 1


@pytest.mark.parametrize(
    "command",
    [
        SpawnCreature("newt", "Newt", "newt", ["acorns"]),  # type: ignore[arg-type]
        SpawnCreature("newt", "Newt", "newt", "acorns", personality=["steady"]),  # type: ignore[arg-type]
        SpawnCreature("newt", "Newt", "newt", "acorns", yields=None),  # type: ignore[arg-type]
        TriggerLegend(["drought"]),  # type: ignore[arg-type]
    ],
    ids=["produces-list", "personality-list", "yields-none", "legend-list"],
)
def test_malformed_commands_are_rejected_not_raised(command: Any) -> None:
    after, _ = step(new_world(SCN, 1), {}, [command])
    assert after.tick == 1


def test_rejected_actions_leave_the_input_state_alone() -> None:
    world = new_world(SCN, 1)
    before = state_hash(world)
    step(world, {"me": Action((Order("sell", "acorns", 99, 1), "junk", Order("?", "?", 0, 0)))})
    assert state_hash(world) == before
