"""The AURA simulator: a stand-in for AURA's API, shipped for local work and tests
(``aura-uplink simulate-aura``). It is a test double, outside the service path: nothing the
service runs imports it."""

from webhook.aurasim.server import (
    RunningSimulator,
    create_sim_app,
    run_simulator,
    serve_simulator,
    validate_event,
)
from webhook.aurasim.state import Fault, SimState

__all__ = [
    "Fault",
    "RunningSimulator",
    "SimState",
    "create_sim_app",
    "run_simulator",
    "serve_simulator",
    "validate_event",
]
