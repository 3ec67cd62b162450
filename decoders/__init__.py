"""aura-uplink decoders: pure functions from Sigfox/LoRaWAN frames to typed messages and AURA
device events. No network, no database, no clock (callers pass ``now``): usable offline on
captured frames.

Everything a user needs is importable from here; the submodules are the implementation.
Property-based test strategies live in :mod:`decoders.testing` (``pip install
aura-uplink[testing]``), which this package does not import.
"""

from decoders.aura import DeviceEvent, DeviceState
from decoders.decode import decode, decode_uplink, frame_bytes
from decoders.envelopes.lorawan import (
    parse_chirpstack,
    parse_helium,
    parse_loriot,
    parse_thingpark,
    parse_ttn,
)
from decoders.envelopes.sigfox import parse_sigfox
from decoders.errors import (
    AuraUplinkError,
    CodecError,
    ConfigError,
    DecodeError,
    EnvelopeError,
    FrameLengthError,
    GrammarError,
    InvalidHex,
    NoDecodedPayload,
    ShortFrame,
    TrailingBytes,
    UnknownMessageType,
    UnknownModel,
    UnknownPort,
    ValueOutOfRange,
)
from decoders.fieldmap import FieldMap, parse_fields
from decoders.grammar import compile_grammar
from decoders.grammar_model import GrammarMapping, model_from_grammar
from decoders.mapping import events_for
from decoders.model import Model
from decoders.models import MODELS, get_model
from decoders.templates import Template, load_templates, select_template, templates_from_config
from decoders.types import (
    Alert,
    Battery,
    Button,
    Cancel,
    Decoded,
    Fix,
    FixSource,
    Hints,
    Location,
    Message,
    Status,
    Uplink,
    UplinkKind,
)

__all__ = [
    "MODELS",
    "Alert",
    "AuraUplinkError",
    "Battery",
    "Button",
    "Cancel",
    "CodecError",
    "ConfigError",
    "DecodeError",
    "Decoded",
    "DeviceEvent",
    "DeviceState",
    "EnvelopeError",
    "FieldMap",
    "Fix",
    "FixSource",
    "FrameLengthError",
    "GrammarError",
    "GrammarMapping",
    "Hints",
    "InvalidHex",
    "Location",
    "Message",
    "Model",
    "NoDecodedPayload",
    "ShortFrame",
    "Status",
    "Template",
    "TrailingBytes",
    "UnknownMessageType",
    "UnknownModel",
    "UnknownPort",
    "Uplink",
    "UplinkKind",
    "ValueOutOfRange",
    "compile_grammar",
    "decode",
    "decode_uplink",
    "events_for",
    "frame_bytes",
    "get_model",
    "load_templates",
    "model_from_grammar",
    "parse_chirpstack",
    "parse_fields",
    "parse_helium",
    "parse_loriot",
    "parse_sigfox",
    "parse_thingpark",
    "parse_ttn",
    "select_template",
    "templates_from_config",
]
