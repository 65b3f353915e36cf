"""The call auction: one uniform clearing price per good per tick, limits respected on both
sides, reservations that make overdrafts impossible, and a reference price that drifts with
what is left unmatched."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.world import Action, Order, new_world, step
from server.world.events import MarketCleared, OfferRejected, TradeCleared
from server.world.market import REF_CEILING, REF_FLOOR

from .conftest import market_scenario, of_type, pebbles_total


def buy(good: str, qty: int, price: int) -> Order:
    return Order("buy", good, qty, price)


def sell(good: str, qty: int, price: int) -> Order:
    return Order("sell", good, qty, price)


def test_hand_computed_auction() -> None:
    # Bids 10 @ 6 and 5 @ 5; asks 8 @ 4 and 10 @ 5.5. Walking the book: the 6-bid takes all
    # 8 of the 4-ask, then 2 of the 5.5-ask; the 5-bid is below the next ask, so 10 units
    # trade. The partly filled 5.5-ask and the unfilled 5-bid bound the price: 5.5.
    scn = market_scenario(
        {
            "b1": (100.0, {}),
            "b2": (100.0, {}),
            "s1": (0.0, {"acorns": 8}),
            "s2": (0.0, {"acorns": 10}),
        }
    )
    world = new_world(scn, 1)
    after, events = step(
        world,
        {
            "b1": Action((buy("acorns", 10, 600),)),
            "b2": Action((buy("acorns", 5, 500),)),
            "s1": Action((sell("acorns", 8, 400),)),
            "s2": Action((sell("acorns", 10, 550),)),
        },
    )
    assert of_type(events, TradeCleared) == [
        TradeCleared("acorns", 8, 550, "b1", "s1"),
        TradeCleared("acorns", 2, 550, "b1", "s2"),
    ]
    [cleared] = of_type(events, MarketCleared)
    assert (cleared.good, cleared.price, cleared.volume) == ("acorns", 550, 10)
    assert (cleared.unmet_demand, cleared.unsold_supply) == (5, 8)
    # The drift: 33 units were offered, 5 left wanting and 8 left unsold, then a pull of
    # 0.3 toward the 5.5 that cleared.
    ref = 5.0 * (1 + 0.1 * (5 - 8) / 33)
    ref += 0.3 * (5.5 - ref)
    assert cleared.ref_price == round(ref, 4)
    assert after.ref_prices["acorns"] == pytest.approx(ref)
    assert after.last_prices["acorns"] == 550
    purse = {cid: c.purse for cid, c in after.creatures.items()}
    assert purse == {"b1": 10_000 - 5500, "b2": 10_000, "s1": 4400, "s2": 1100}
    acorns = {cid: c.stores["acorns"] for cid, c in after.creatures.items()}
    assert acorns == {"b1": 10, "b2": 0, "s1": 0, "s2": 8}
    assert [(t.good, t.qty, t.price, t.buyer, t.seller) for t in after.trades] == [
        ("acorns", 8, 550, "b1", "s1"),
        ("acorns", 2, 550, "b1", "s2"),
    ]


def test_partly_filled_bid_sets_the_price_when_demand_exceeds_supply() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"honey": 3})})
    after, events = step(
        new_world(scn, 1),
        {"b": Action((buy("honey", 5, 900),)), "s": Action((sell("honey", 3, 700),))},
    )
    assert of_type(events, TradeCleared) == [TradeCleared("honey", 3, 900, "b", "s")]
    # The bid still wants 2 more at 9: any lower price would leave it willing and unfilled.
    [cleared] = of_type(events, MarketCleared)
    assert (cleared.unmet_demand, cleared.unsold_supply) == (2, 0)
    assert after.creatures["s"].purse == 2700


def test_exactly_matched_book_clears_between_the_marginal_orders() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"honey": 4})})
    _, events = step(
        new_world(scn, 1),
        {"b": Action((buy("honey", 4, 1000),)), "s": Action((sell("honey", 4, 600),))},
    )
    assert of_type(events, TradeCleared) == [TradeCleared("honey", 4, 800, "b", "s")]


def test_no_trade_when_the_book_does_not_cross() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"honey": 4})})
    after, events = step(
        new_world(scn, 1),
        {"b": Action((buy("honey", 4, 500),)), "s": Action((sell("honey", 4, 600),))},
    )
    assert of_type(events, TradeCleared) == []
    [cleared] = of_type(events, MarketCleared)
    assert (cleared.price, cleared.volume, cleared.unmet_demand, cleared.unsold_supply) == (
        0,
        0,
        4,
        4,
    )
    assert "honey" not in after.last_prices
    assert after.creatures["b"].purse == 10_000
    assert after.creatures["s"].stores["honey"] == 4


def test_insufficient_goods() -> None:
    scn = market_scenario({"s": (0.0, {"acorns": 3})})
    after, events = step(new_world(scn, 1), {"s": Action((sell("acorns", 4, 100),))})
    assert of_type(events, OfferRejected) == [OfferRejected("s", 0, "insufficient_goods")]
    assert of_type(events, MarketCleared) == []
    assert after.creatures["s"].stores["acorns"] == 3


def test_insufficient_goods_counts_earlier_sales_of_the_same_good() -> None:
    scn = market_scenario({"s": (0.0, {"acorns": 3}), "b": (100.0, {})})
    _, events = step(
        new_world(scn, 1),
        {
            "s": Action((sell("acorns", 2, 100), sell("acorns", 2, 100))),
            "b": Action((buy("acorns", 5, 500),)),
        },
    )
    assert of_type(events, OfferRejected) == [OfferRejected("s", 1, "insufficient_goods")]
    assert sum(t.qty for t in of_type(events, TradeCleared)) == 2


def test_insufficient_pebbles_reserves_at_the_limit() -> None:
    # 3 units at a limit of 4 pebbles need 12 pebbles reserved; 11.99 is not enough, even
    # though the sale would clear at 1 pebble.
    scn = market_scenario({"b": (11.99, {}), "s": (0.0, {"acorns": 3})})
    after, events = step(
        new_world(scn, 1),
        {"b": Action((buy("acorns", 3, 400),)), "s": Action((sell("acorns", 3, 100),))},
    )
    assert of_type(events, OfferRejected) == [OfferRejected("b", 0, "insufficient_pebbles")]
    assert of_type(events, TradeCleared) == []
    assert after.creatures["b"].purse == 1199


def test_insufficient_pebbles_counts_earlier_bids() -> None:
    scn = market_scenario({"b": (12.0, {})})
    _, events = step(
        new_world(scn, 1),
        {"b": Action((buy("acorns", 2, 400), buy("honey", 1, 401), buy("honey", 1, 400)))},
    )
    assert of_type(events, OfferRejected) == [OfferRejected("b", 1, "insufficient_pebbles")]


def test_a_full_purse_at_the_limit_is_enough() -> None:
    scn = market_scenario({"b": (12.0, {}), "s": (0.0, {"acorns": 3})})
    after, events = step(
        new_world(scn, 1),
        {"b": Action((buy("acorns", 3, 400),)), "s": Action((sell("acorns", 3, 400),))},
    )
    assert of_type(events, OfferRejected) == []
    assert after.creatures["b"].purse == 0
    assert after.creatures["b"].stores["acorns"] == 3


def test_crossed_own_offer_is_refused_and_cannot_trade_with_itself() -> None:
    scn = market_scenario({"x": (100.0, {"acorns": 5})})
    after, events = step(
        new_world(scn, 1), {"x": Action((buy("acorns", 2, 900), sell("acorns", 2, 100)))}
    )
    assert of_type(events, OfferRejected) == [OfferRejected("x", 1, "crossed_own_offer")]
    assert of_type(events, TradeCleared) == []
    assert after.creatures["x"].purse == 10_000


def test_every_fill_of_a_good_shares_one_price_and_goods_move_with_pebbles() -> None:
    scn = market_scenario(
        {
            "a": (100.0, {"honey": 5}),
            "b": (100.0, {"honey": 5}),
            "c": (100.0, {}),
            "d": (100.0, {}),
        }
    )
    world = new_world(scn, 4)
    after, events = step(
        world,
        {
            "a": Action((sell("honey", 5, 700),)),
            "b": Action((sell("honey", 5, 820),)),
            "c": Action((buy("honey", 4, 1000),)),
            "d": Action((buy("honey", 4, 850),)),
        },
    )
    trades = of_type(events, TradeCleared)
    assert {t.price for t in trades} == {820}
    assert sum(t.qty for t in trades) == 8
    assert pebbles_total(after) == pebbles_total(world)
    assert after.creatures["c"].purse == 10_000 - 4 * 820
    assert after.creatures["d"].stores["honey"] == 4


def test_reference_price_rises_with_unmet_demand() -> None:
    scn = market_scenario({"b": (500.0, {})})
    world = new_world(scn, 1)
    refs = [world.ref_prices["acorns"]]
    for _ in range(5):
        world, events = step(world, {"b": Action((buy("acorns", 3, 400),))})
        refs.append(world.ref_prices["acorns"])
        [cleared] = of_type(events, MarketCleared)
        assert cleared.unmet_demand == 3
    # A fully one-sided book moves the reference by `price_drift` (10%) each tick.
    assert refs == pytest.approx([5.0 * 1.1**k for k in range(6)])
    assert world.ref_prices["honey"] == 9.0


def test_reference_price_falls_with_unsold_supply() -> None:
    scn = market_scenario({"s": (0.0, {"acorns": 30})})
    world = new_world(scn, 1)
    refs = [world.ref_prices["acorns"]]
    for _ in range(4):
        world, _ = step(world, {"s": Action((sell("acorns", 2, 900),))})
        refs.append(world.ref_prices["acorns"])
    assert refs == pytest.approx([5.0 * 0.9**k for k in range(5)])


def test_partial_imbalance_moves_the_reference_in_proportion() -> None:
    # 6 wanted, 2 offered, no cross: (6 - 2) / 8 of a full drift upward.
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"acorns": 2})})
    after, _ = step(
        new_world(scn, 1),
        {"b": Action((buy("acorns", 6, 300),)), "s": Action((sell("acorns", 2, 800),))},
    )
    assert after.ref_prices["acorns"] == pytest.approx(5.0 * (1 + 0.1 * 4 / 8))


def test_trades_pull_the_reference_toward_the_clearing_price() -> None:
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"acorns": 4})})
    world = new_world(scn, 1)
    after, events = step(
        world,
        {"b": Action((buy("acorns", 4, 900),)), "s": Action((sell("acorns", 4, 900),))},
    )
    [cleared] = of_type(events, MarketCleared)
    assert (cleared.price, cleared.unmet_demand, cleared.unsold_supply) == (900, 0, 0)
    assert after.ref_prices["acorns"] == pytest.approx(5.0 + 0.3 * (9.0 - 5.0))
    # and from above, downward
    scn = market_scenario({"b": (100.0, {}), "s": (0.0, {"honey": 4})})
    after, _ = step(
        new_world(scn, 1),
        {"b": Action((buy("honey", 4, 300),)), "s": Action((sell("honey", 4, 300),))},
    )
    assert after.ref_prices["honey"] == pytest.approx(9.0 + 0.3 * (3.0 - 9.0))


def test_reference_price_stays_within_its_bounds() -> None:
    scn = market_scenario({"b": (10_000.0, {}), "s": (0.0, {"honey": 999})})
    world = new_world(scn, 1)
    up = world
    for _ in range(60):
        up, _ = step(up, {"b": Action((buy("honey", 1, 100),))})
    assert up.ref_prices["honey"] == pytest.approx(9.0 * REF_CEILING)
    down = world
    for _ in range(60):
        down, _ = step(down, {"s": Action((sell("honey", 1, 100_000),))})
    assert down.ref_prices["honey"] == pytest.approx(9.0 * REF_FLOOR)


def test_quiet_market_leaves_the_reference_alone() -> None:
    scn = market_scenario({"b": (100.0, {})})
    after, events = step(new_world(scn, 1), {})
    assert of_type(events, MarketCleared) == []
    assert after.ref_prices == {"bread": 1.0, "acorns": 5.0, "honey": 9.0}


# ---- properties over random books --------------------------------------------------------

TRADERS = tuple(f"t{i}" for i in range(6))
BOOK_GOODS = ("acorns", "honey")
BOOK_SCENARIO = market_scenario(
    {cid: (1000.0, {"acorns": 30, "honey": 30}) for cid in TRADERS}, rules={"max_offers": 2}
)

one_order = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 20), st.integers(100, 1500))
books = st.fixed_dictionaries(
    {cid: st.dictionaries(st.sampled_from(BOOK_GOODS), one_order, max_size=2) for cid in TRADERS}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=books, seed=st.integers(0, 2**32))
def test_random_books_clear_at_one_price_inside_every_limit(
    book: dict[str, dict[str, tuple[str, int, int]]], seed: int
) -> None:
    world = new_world(BOOK_SCENARIO, seed)
    actions = {
        cid: Action(
            tuple(Order(side, good, qty, price) for good, (side, qty, price) in mine.items())
        )
        for cid, mine in book.items()
    }
    after, events = step(world, actions)
    assert of_type(events, OfferRejected) == []
    trades = of_type(events, TradeCleared)
    cleared = {m.good: m for m in of_type(events, MarketCleared)}
    rules = BOOK_SCENARIO.rules

    for good in BOOK_GOODS:
        bids = {cid: o for cid, mine in book.items() if (o := mine.get(good)) and o[0] == "buy"}
        asks = {cid: o for cid, mine in book.items() if (o := mine.get(good)) and o[0] == "sell"}
        fills = [t for t in trades if t.good == good]
        if not bids and not asks:
            assert good not in cleared
            continue
        market = cleared[good]
        bought: Counter[str] = Counter()
        sold: Counter[str] = Counter()
        for t in fills:
            bought[t.buyer] += t.qty
            sold[t.seller] += t.qty
            assert t.buyer != t.seller
        volume = sum(t.qty for t in fills)
        assert market.volume == volume
        assert market.unmet_demand == sum(q for _, q, _ in bids.values()) - volume
        assert market.unsold_supply == sum(q for _, q, _ in asks.values()) - volume
        if not fills:
            assert market.price == 0
            if bids and asks:
                assert max(p for *_, p in bids.values()) < min(p for *_, p in asks.values())
        else:
            price = market.price
            # one uniform price for every fill of the good
            assert {t.price for t in fills} == {price}
            for cid, (_, qty, limit) in bids.items():
                assert bought[cid] <= qty
                if bought[cid]:
                    assert limit >= price, "a buyer paid above its limit"
                if limit > price:
                    assert bought[cid] == qty, "a bid willing at the price was left unfilled"
            for cid, (_, qty, limit) in asks.items():
                assert sold[cid] <= qty
                if sold[cid]:
                    assert limit <= price, "a seller got below its limit"
                if limit < price:
                    assert sold[cid] == qty, "an ask willing at the price was left unsold"
            assert set(bought) <= set(bids)
            assert set(sold) <= set(asks)
        # the reference drift, exactly as documented
        offered = sum(q for _, q, _ in bids.values()) + sum(q for _, q, _ in asks.values())
        ref = 5.0 if good == "acorns" else 9.0
        opening = ref
        ref *= 1 + rules.price_drift * (market.unmet_demand - market.unsold_supply) / offered
        if volume:
            ref += rules.price_pull * (market.price / 100 - ref)
        ref = min(max(ref, opening * REF_FLOOR), opening * REF_CEILING)
        assert after.ref_prices[good] == pytest.approx(ref)

    # everyone's purse and stores moved by exactly their fills, at the clearing prices
    for cid in TRADERS:
        was, now = world.creatures[cid], after.creatures[cid]
        paid = sum(t.qty * t.price for t in trades if t.buyer == cid)
        got = sum(t.qty * t.price for t in trades if t.seller == cid)
        assert now.purse == was.purse - paid + got
        for good in BOOK_GOODS:
            delta = sum(t.qty for t in trades if t.good == good and t.buyer == cid) - sum(
                t.qty for t in trades if t.good == good and t.seller == cid
            )
            assert now.stores[good] == was.stores[good] + delta
    assert pebbles_total(after) == pebbles_total(world)


@settings(max_examples=60, deadline=None)
@given(
    purse=st.integers(0, 3000),
    held=st.integers(0, 10),
    book=st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 8), st.integers(1, 900)),
        max_size=3,
    ),
)
def test_bookings_never_overdraw(purse: int, held: int, book: list[tuple[str, int, int]]) -> None:
    """Whatever one creature asks, against a deep counterparty, it never ends below zero."""
    scn = market_scenario(
        {"me": (purse / 100, {"acorns": held}), "deep": (100_000.0, {"acorns": 999})}
    )
    orders = tuple(Order(side, "acorns", qty, price) for side, qty, price in book)
    after, events = step(
        new_world(scn, 1),
        {
            "me": Action(orders),
            "deep": Action((buy("acorns", 999, 901),) if held else (sell("acorns", 999, 1),)),
        },
    )
    me = after.creatures["me"]
    assert me.purse >= 0
    assert me.stores["acorns"] >= 0
    for e in of_type(events, OfferRejected):
        assert e.creature == "me"
        assert e.reason in {"insufficient_goods", "insufficient_pebbles", "crossed_own_offer"}
