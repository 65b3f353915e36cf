"""The world's gossip cleaning keeps what a reader sees as one character whole (issue 12):
emoji ZWJ sequences, flags, skin tones, letters and their marks, Hangul syllables."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.world import Action, new_world, step
from server.world.events import GossipSpoken
from server.world.validate import CLUSTER, clean_gossip
from shared.text import clean_text

from .conftest import market_scenario, of_type

RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈: four code points, one flag
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
THUMB = "\U0001f44d\U0001f3fd"  # 👍🏽
FRANCE = "\U0001f1eb\U0001f1f7"
KEYCAP = "1\ufe0f\u20e3"
CLUSTERS = [
    "a", "Z", "7", ".", "é", "e\u0301", "n\u0303\u0323", "\u1100\u1161\u11a8", "각", "कि",
    "ж", "ß", "中", RAINBOW, FAMILY, SCOTLAND, THUMB, FRANCE, KEYCAP, "\u2764\ufe0f",
]  # fmt: skip
"""Each one cluster (\\X) that a second pass of the cleaning leaves as it is."""
JUNK = ["\x1b", "\x00", "\n", "\u202e", "\u200b", "\u2066", "\x7f", "\ufeff"]

words = st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=8).map("".join)
lines = st.lists(words, min_size=1, max_size=12).map(" ".join)


def whole_prefix(line: str, limit: int) -> str:
    """The longest run of `line`'s clusters, as generated, within `limit` code points."""
    out, size = [], 0
    for cluster in CLUSTER.findall(line):
        size += len(cluster)
        if size > limit:
            break
        out.append(cluster)
    return "".join(out).rstrip()


def test_the_generated_clusters_are_one_cluster_each() -> None:
    for cluster in CLUSTERS:
        assert CLUSTER.findall(cluster) == [cluster], cluster
        assert clean_gossip(cluster, 40) == cluster


@settings(max_examples=300, deadline=None)
@given(line=lines, limit=st.integers(0, 160))
@example(line="a" * 118 + THUMB, limit=119)  # the skin tone alone would not fit
@example(line="x" * 5 + " " + RAINBOW, limit=8)  # the flag's ZWJ sits at the limit
def test_truncation_keeps_whole_clusters(line: str, limit: int) -> None:
    out = clean_gossip(line, limit)
    assert len(out) <= limit
    assert out == whole_prefix(line, limit)  # never a cluster cut: all of one, or none
    kept = CLUSTER.findall(out)
    assert kept == CLUSTER.findall(line)[: len(kept)]


@settings(max_examples=300, deadline=None)
@given(line=lines, limit=st.integers(1, 160))
def test_a_text_cut_on_a_cluster_is_the_same_text_cut_by_hand(line: str, limit: int) -> None:
    # An independent count: the generated atoms, not the regex, say where clusters end.
    atoms: list[str] = []
    for word in line.split(" "):
        rest = word
        while rest:
            atom = next(c for c in sorted(CLUSTERS, key=len, reverse=True) if rest.startswith(c))
            atoms.append(atom)
            rest = rest[len(atom) :]
        atoms.append(" ")
    size, cut = 0, []
    for atom in atoms[:-1]:
        size += len(atom)
        if size > limit:
            break
        cut.append(atom)
    assert clean_gossip(line, limit) == "".join(cut).rstrip()


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), limit=st.integers(0, 200))
def test_cleaning_clean_gossip_changes_nothing(text: str, limit: int) -> None:
    once = clean_gossip(text, limit)
    assert clean_gossip(once, limit) == once
    assert "  " not in once and once == once.strip()


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(st.sampled_from(CLUSTERS), st.sampled_from(JUNK), st.just(" "))),
    limit=st.integers(1, 120),
)
def test_the_world_leaves_what_the_edge_cleaned_as_it_is(parts: list[str], limit: int) -> None:
    edge = clean_text("".join(parts), limit)  # what a bot's gossip is when the world gets it
    assert clean_gossip(edge, limit) == edge


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), limit=st.integers(0, 120))
@example(text=" " * 19 + "e\u0301", limit=5)  # the mark runs on past what is read
def test_anything_is_cut_at_a_cluster_boundary_of_its_cleaned_whole(text: str, limit: int) -> None:
    out = clean_gossip(text, limit)
    full = clean_gossip(text, 10**6)  # the same cleaning, nothing cut
    boundaries = [0]
    for cluster in CLUSTER.findall(full):
        boundaries.append(boundaries[-1] + len(cluster))
    assert any(full[:b].rstrip() == out for b in boundaries)


def test_emoji_sequences_in_gossip_survive_the_step() -> None:
    world = new_world(market_scenario({"me": (1.0, {})}), 1)
    limit = world.scenario.rules.gossip_chars
    said = f"selling honey {RAINBOW} {FAMILY}"
    _, events = step(world, {"me": Action(gossip=said)})
    assert [e.text for e in of_type(events, GossipSpoken)] == [said]
    long = "honey " * 30
    cut = long[: limit - 2] + RAINBOW  # the flag straddles the limit: it goes whole
    _, events = step(world, {"me": Action(gossip=cut)})
    [spoken] = of_type(events, GossipSpoken)
    assert spoken.text == cut[: limit - 2].rstrip()
    assert "\u200d" not in spoken.text and "\U0001f3f3" not in spoken.text
