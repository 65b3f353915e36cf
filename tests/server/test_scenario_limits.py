"""A scenario too big or too deep is refused with one clear error, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from server.serve import start
from server.world import ScenarioError
from server.world.scenario import MAX_FILE_CREATURES

from .conftest import config


def creatures(n: int) -> str:
    return "\n".join(
        f'[[creatures]]\nid = "c{i}"\nname = "C{i}"\nspecies = "vole"\nproduces = "acorns"'
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("crowd.toml", creatures(MAX_FILE_CREATURES + 1), "at most 1000"),
        ("deep.toml", "x = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("deep2.json", orjson.dumps({"goods": "x"}).decode()[:-1] + "[" * 50_000, "not valid"),
    ],
)
async def test_a_bad_scenario_leaves_no_data_dir(
    tmp_path: Path, name: str, text: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    data = tmp_path / "data"
    with pytest.raises(ScenarioError) as refused:
        await start(config(data, scenario=path))
    assert says in str(refused.value)
    assert not data.exists()
