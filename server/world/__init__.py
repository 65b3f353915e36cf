"""The Wood's pure core: state, rules, market, legends and scenarios.

No asyncio, no I/O, no clock. Everything random comes from the generator inside the state,
so `step(state, actions)` gives the same world for the same inputs, byte for byte.
"""

from .actions import NOOP, Action, Command, Order, RetireCreature, SpawnCreature, TriggerLegend
from .document import world_document
from .events import Event
from .legend_book import LEGENDS
from .observe import Observation, observe, observe_all
from .scenario import Scenario, ScenarioError, large_scenario, load_scenario, parse_scenario
from .state import WorldState, new_world, state_from_dict, state_hash, state_to_dict
from .step import step

__all__ = [
    "LEGENDS",
    "NOOP",
    "Action",
    "Command",
    "Event",
    "Observation",
    "Order",
    "RetireCreature",
    "Scenario",
    "ScenarioError",
    "SpawnCreature",
    "TriggerLegend",
    "WorldState",
    "large_scenario",
    "load_scenario",
    "new_world",
    "observe",
    "observe_all",
    "parse_scenario",
    "state_from_dict",
    "state_hash",
    "state_to_dict",
    "step",
    "world_document",
]
