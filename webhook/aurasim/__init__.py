"""The AURA simulator: a stand-in for AURA's API, shipped for local work and tests
(``aura-uplink simulate-aura``). It is a test double, outside the service path: nothing the
service runs imports it. The routes and choices are listed in :mod:`webhook.aurasim.server`."""

from webhook.aurasim.devices import DeviceType, SerialRule
from webhook.aurasim.faults import Fault
from webhook.aurasim.refusal import Refusal
from webhook.aurasim.server import (
    RunningSimulator,
    create_sim_app,
    run_simulator,
    serve_simulator,
)
from webhook.aurasim.state import SimState
from webhook.aurasim.tokens import TokenStyle
from webhook.aurasim.validation import validate_event

__all__ = [
    "DeviceType",
    "Fault",
    "Refusal",
    "RunningSimulator",
    "SerialRule",
    "SimState",
    "TokenStyle",
    "create_sim_app",
    "run_simulator",
    "serve_simulator",
    "validate_event",
]
