"""The edge's check of a bot's offers: each one stands or is refused, with a reason, at once.

The rule (docs/protocol.md, "What happens to your offers"): an `act` whose frame is sound is
accepted, and its `accepted` reply lists which offers stand (as the market will book them,
the price rounded to the cent) and which were refused and why, for everything that can be
known before the market opens. What only the market can know (pebbles and goods once earlier
offers are booked) arrives as `offer_rejected` in the next turn, beside the fills.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from server.world.units import to_bits, to_pebbles
from shared.decision import MAX_OFFERS, Offer, Side
from shared.protocol import BotOffer, RefusedOffer, StandingOffer

FIELD_REASONS = {
    "side": "invalid_side",
    "good": "unknown_good",
    "qty": "invalid_qty",
    "price": "invalid_price",
}


@dataclass(frozen=True, slots=True)
class Checked:
    offers: tuple[Offer, ...]
    """The offers that stand, in act order, for the market."""
    indices: tuple[int, ...]
    """Each standing offer's index in the act (the market's index `i` is `indices[i]`)."""
    standing: tuple[StandingOffer, ...]
    refused: tuple[RefusedOffer, ...]


def check_offers(
    raw: Sequence[Any],
    *,
    goods: Collection[str],
    produces: str,
    own_good_buys: bool,
    exiled: bool,
) -> Checked:
    """Sort an act's offers into standing and refused (see the module)."""
    offers: list[Offer] = []
    indices: list[int] = []
    standing: list[StandingOffer] = []
    refused: list[RefusedOffer] = []
    sides: dict[str, str] = {}

    def refuse(index: int, reason: str, message: str) -> None:
        refused.append(RefusedOffer(index=index, reason=reason, message=message))

    for index, item in enumerate(raw):
        if index >= MAX_OFFERS:
            refuse(index, "too_many_offers", f"only the first {MAX_OFFERS} offers can stand")
            continue
        try:
            offer = BotOffer.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else ""
            reason = FIELD_REASONS.get(field, "not_an_offer")
            refuse(index, reason, f"{field or 'offer'}: {err['msg']}")
            continue
        bits = to_bits(offer.price)
        if bits < 1:
            refuse(index, "invalid_price", "price: rounds to less than 0.01")
            continue
        if offer.good not in goods:
            refuse(index, "unknown_good", f"good: {offer.good[:32]!r} is not a good of this Wood")
            continue
        if exiled:
            refuse(index, "exiled", "an exiled creature cannot trade until it returns")
            continue
        if offer.side == "buy" and offer.good == produces and not own_good_buys:
            refuse(index, "own_good", f"this creature produces {produces}: it never buys it")
            continue
        if sides.get(offer.good, offer.side) != offer.side:
            refuse(index, "crossed_own_offer", f"a buy and a sell of {offer.good} in one act")
            continue
        sides[offer.good] = offer.side
        price = to_pebbles(bits)
        offers.append(Offer(side=Side(offer.side), good=offer.good, qty=offer.qty, price=price))
        indices.append(index)
        standing.append(
            StandingOffer(index=index, side=offer.side, good=offer.good, qty=offer.qty, price=price)
        )
    return Checked(tuple(offers), tuple(indices), tuple(standing), tuple(refused))
