"""aura-uplink decoders: pure functions from Sigfox/LoRaWAN frames to typed messages and AURA
device events. No network, no database: usable offline on captured frames."""

from decoders.decode import decode, frame_bytes
from decoders.errors import (
    AuraUplinkError,
    ConfigError,
    DecodeError,
    FrameLengthError,
    InvalidHex,
    ShortFrame,
    TrailingBytes,
    UnknownMessageType,
    UnknownModel,
    UnknownPort,
    ValueOutOfRange,
)
from decoders.models import MODELS, get_model
from decoders.types import (
    Alert,
    Battery,
    Button,
    Cancel,
    Decoded,
    Fix,
    Location,
    Message,
    Status,
    Uplink,
)

__all__ = [
    "MODELS",
    "Alert",
    "AuraUplinkError",
    "Battery",
    "Button",
    "Cancel",
    "ConfigError",
    "DecodeError",
    "Decoded",
    "Fix",
    "FrameLengthError",
    "InvalidHex",
    "Location",
    "Message",
    "ShortFrame",
    "Status",
    "TrailingBytes",
    "UnknownMessageType",
    "UnknownModel",
    "UnknownPort",
    "Uplink",
    "ValueOutOfRange",
    "decode",
    "frame_bytes",
    "get_model",
]
