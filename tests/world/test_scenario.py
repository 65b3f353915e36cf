"""Scenario files: the default Wood, large generated Woods, and refusals that name the field."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
import pytest

from server.world import (
    LEGENDS,
    Scenario,
    ScenarioError,
    large_scenario,
    load_scenario,
    new_world,
    parse_scenario,
    step,
)

from .conftest import GOODS, creature, make_scenario


def default_doc() -> dict[str, Any]:
    return load_scenario().model_dump(mode="json", by_alias=True)


def test_default_scenario_is_the_wood() -> None:
    scn = load_scenario(None)
    assert len(scn.creatures) == 5
    assert len({c.id for c in scn.creatures}) == 5
    assert tuple(scn.goods) == GOODS
    assert scn.fuel == "firewood"
    assert set(scn.foods) == {"acorns", "berries", "mushrooms", "honey"}
    # one woodcutter alone; every good has its maker
    assert Counter(c.produces for c in scn.creatures) == Counter(GOODS)
    # the seed's opening prices and Mossback's opening purse and stores
    assert {g: spec.price for g, spec in scn.goods.items()} == {
        "acorns": 4.0,
        "berries": 5.0,
        "mushrooms": 6.0,
        "honey": 9.0,
        "firewood": 5.0,
    }
    mossback = next(c for c in scn.creatures if c.id == "mossback")
    assert mossback.pebbles == 40.0
    assert mossback.stores == {
        "acorns": 10,
        "berries": 2,
        "mushrooms": 2,
        "honey": 0,
        "firewood": 4,
    }
    # berries rot fastest, honey barely
    assert scn.goods["berries"].spoil > scn.goods["honey"].spoil > 0
    assert all(s.legend in LEGENDS for s in scn.legends)


def test_scenario_is_immutable() -> None:
    scn = load_scenario()
    with pytest.raises(pydantic.ValidationError):
        scn.name = "Elsewhere"  # type: ignore[misc]


def mutate(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a value at a dotted path ("creatures.1.produces") in a scenario document."""

    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return apply


REFUSALS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown good produced", mutate("creatures.1.produces", "honney"), "creatures[1].produces"),
    ("duplicate id", mutate("creatures.2.id", "mossback"), "creatures[2].id"),
    ("unknown legend", mutate("legends.0.legend", "plague"), "legends[0].legend"),
    ("wrong type", mutate("creatures.0.pebbles", "lots"), "creatures[0].pebbles"),
    ("negative spoil", mutate("goods.acorns.spoil", -0.1), "goods.acorns.spoil"),
    ("spoil above one", mutate("goods.berries.spoil", 1.5), "goods.berries.spoil"),
    ("typo in a creature", mutate("creatures.0.pebles", 40), "creatures[0].pebles"),
    ("typo in the rules", mutate("rules.tick_per_season", 3), "rules.tick_per_season"),
    ("typo at the top", mutate("creaturs", []), "creaturs"),
    ("unknown stored good", mutate("creatures.3.stores.gold", 1), "creatures[3].stores.gold"),
    ("negative store", mutate("creatures.0.stores.acorns", -1), "creatures[0].stores.acorns"),
    ("negative purse", mutate("creatures.4.pebbles", -5), "creatures[4].pebbles"),
    ("bad id", mutate("creatures.0.id", "Moss Back"), "creatures[0].id"),
    ("bad personality", mutate("creatures.0.personality", "grumpy"), "creatures[0].personality"),
    ("unknown season", mutate("creatures.0.yield.monsoon", 2), "creatures[0].yield"),
    ("zero price", mutate("goods.honey.price", 0), "goods.honey.price"),
    ("legend on tick 0", mutate("legends.0.tick", 0), "legends[0].tick"),
    ("too many offers", mutate("rules.max_offers", 4), "rules.max_offers"),
    ("mood floor zero", mutate("rules.mood_floor", 0), "rules.mood_floor"),
    ("no creatures", mutate("creatures", []), "creatures"),
    ("two fuels", mutate("goods.acorns.fuel", True), "goods"),
    ("bad good name", mutate("goods.Gold!", {"price": 1.0}), "goods.Gold!"),
    ("missing name", lambda d: d.pop("name"), "name"),
    ("missing price", lambda d: d["goods"]["honey"].pop("price"), "goods.honey.price"),
]


@pytest.mark.parametrize(
    ("change", "field"), [(c, f) for _, c, f in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_refusal_names_the_field(change: Callable[[dict[str, Any]], None], field: str) -> None:
    doc = default_doc()
    change(doc)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc)
    assert field in str(err.value)


def test_refusal_of_an_unknown_good_lists_the_goods() -> None:
    doc = default_doc()
    doc["creatures"][1]["produces"] = "honney"
    with pytest.raises(ScenarioError, match=r"creatures\[1\]\.produces: 'honney'") as err:
        parse_scenario(doc, source="wood.toml")
    message = str(err.value)
    assert message.startswith("wood.toml:")
    assert all(g in message for g in GOODS)


def test_no_food_at_all_is_refused() -> None:
    doc = default_doc()
    for good in doc["goods"].values():
        good["food"] = False
    with pytest.raises(ScenarioError, match="at least one good must be food"):
        parse_scenario(doc)


def test_a_legend_needing_goods_the_wood_lacks_is_refused() -> None:
    doc = default_doc()
    del doc["goods"]["honey"]
    for c in doc["creatures"]:
        c["stores"].pop("honey", None)
    doc["creatures"][1]["produces"] = "acorns"
    with pytest.raises(ScenarioError, match=r"legends\[1\]\.legend: 'run_on_the_hoard' needs"):
        parse_scenario(doc)


def test_every_problem_is_reported_at_once() -> None:
    doc = default_doc()
    doc["creatures"][0]["produces"] = "gold"
    doc["creatures"][2]["id"] = "oona"
    doc["legends"][3]["legend"] = "plague"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc)
    message = str(err.value)
    assert "3 problem(s)" in message
    for field in ("creatures[0].produces", "creatures[2].id", "legends[3].legend"):
        assert field in message


def test_scenario_error_is_a_value_error() -> None:
    assert issubclass(ScenarioError, ValueError)
    with pytest.raises(ScenarioError):
        parse_scenario([1, 2, 3])


# ---- files ------------------------------------------------------------------------------


def test_toml_and_json_files_load_the_same_wood(tmp_path: Path) -> None:
    text = resources.files("server.world").joinpath("scenarios/default.toml").read_text()
    toml_file = tmp_path / "wood.toml"
    toml_file.write_text(text, encoding="utf-8")
    json_file = tmp_path / "wood.json"
    json_file.write_text(json.dumps(default_doc()), encoding="utf-8")
    from_toml = load_scenario(toml_file)
    from_json = load_scenario(str(json_file))
    assert from_toml == from_json == load_scenario()


def test_a_small_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(
        """
name = "Tiny"
[goods.nuts]
price = 2.0
[[creatures]]
id = "pip"
name = "Pip"
species = "squirrel"
produces = "nuts"
yield = { autumn = 3.0 }
[rules]
ticks_per_season = 2
""",
        encoding="utf-8",
    )
    scn = load_scenario(path)
    assert scn.name == "Tiny"
    assert scn.fuel is None
    assert scn.rules.ticks_per_season == 2
    world = new_world(scn, 1)
    for _ in range(8):
        world, _ = step(world, {})
    assert world.tick == 8


def test_bad_toml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "The Wood\n[goods', encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid toml") as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_bad_json_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "The Wood",', encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid json"):
        load_scenario(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError, match="cannot read the scenario file") as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path)


def test_file_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    doc = default_doc()
    doc["creatures"][0]["pebles"] = 3
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(path) in str(err.value)
    assert "creatures[0].pebles" in str(err.value)


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00\x81name = 1")
    with pytest.raises(ScenarioError):
        load_scenario(path)


@pytest.mark.parametrize("rule", ["commons", "join_pebbles", "return_stake"])
def test_an_infinite_amount_of_pebbles_is_refused(rule: str) -> None:
    doc = default_doc()
    doc["rules"][rule] = float("inf")
    with pytest.raises(ScenarioError, match=f"rules.{rule}"):
        parse_scenario(doc)


# ---- large Woods ------------------------------------------------------------------------


def test_large_scenario_has_a_thousand_unique_creatures() -> None:
    base = load_scenario()
    scn = large_scenario(1000)
    assert len(scn.creatures) == 1000
    assert len({c.id for c in scn.creatures}) == 1000
    assert scn.goods == base.goods
    assert scn.rules.ticks_per_season == base.rules.ticks_per_season
    # cast round-robin from the default cast, so producers keep their proportions
    assert Counter(c.produces for c in scn.creatures) == Counter(dict.fromkeys(GOODS, 200))
    assert scn.rules.commons == base.rules.commons * 200
    world = new_world(scn, 1)
    after, _ = step(world, {})
    assert len(after.creatures) == 1000


def test_large_scenario_of_a_few() -> None:
    scn = large_scenario(7)
    assert [c.id for c in scn.creatures][:6] == [
        "mossback-0",
        "oona-1",
        "bram-2",
        "vesper-3",
        "hob-4",
        "mossback-5",
    ]
    assert isinstance(scn, Scenario)


def test_large_scenario_from_another_base(small_scenario: Scenario) -> None:
    scn = large_scenario(9, base=small_scenario)
    assert len(scn.creatures) == 9
    assert scn.rules.ticks_per_season == 3
    assert copy.deepcopy(scn) == scn


@pytest.mark.parametrize(
    ("cid", "name"), [("a" * 30, "Long Id"), ("long-name", "N" * 40)], ids=["id", "name"]
)
def test_large_scenario_from_a_base_with_long_ids_or_names(cid: str, name: str) -> None:
    spec = creature(cid, "acorns")
    spec["name"] = name
    base = make_scenario([spec, creature("b", "honey")])
    scn = large_scenario(30, base=base)
    assert len({c.id for c in scn.creatures}) == 30
