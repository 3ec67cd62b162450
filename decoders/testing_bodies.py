"""Network callback bodies around a frame, for :func:`decoders.testing.callback_bodies`.

Each maker takes a ``(port, frame)`` pair and gives bodies shaped like the network's own
examples (``fixtures/bodies/lorawan.json``, ``fixtures/captures/sigfox-callbacks.jsonl``), with
the quirks the envelope parsers must take: Sigfox templates that quote numbers, LoRaWAN servers
that omit zero-valued fields and send nine fraction digits of a second.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

Body = dict[str, Any]
PortFrame = tuple[int | None, bytes]

# Which models' frames each network carries (Model.network values).
NETWORK_MODELS: dict[str, tuple[str, ...]] = {
    "sigfox": ("sigfox", "any"),
    "ttn": ("lorawan", "any"),
    "chirpstack": ("lorawan", "any"),
}

_EPOCH_2015, _EPOCH_2035 = 1_420_070_400, 2_051_222_400
_TIMES = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31))
_NANOS = st.integers(0, 999)  # the three fraction digits past Python's microseconds
_SLUG = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)  # TTS ids
_UUID = st.uuids().map(str)
_COUNTER = st.integers(0, 0xFFFF)


def _hex(size: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=size, max_size=size).map(bytes.hex)


def _maybe_quoted(numbers: st.SearchStrategy[int]) -> st.SearchStrategy[int | str]:
    """Sigfox body templates are hand-written: ``"time": {time}`` or ``"time": "{time}"``."""
    return st.one_of(numbers, numbers.map(str))


def _rfc3339(zone: str) -> st.SearchStrategy[str]:
    """Nanosecond times as The Things Stack (``Z``) and ChirpStack (``+00:00``) write them."""
    return st.builds(lambda t, ns: f"{t:%Y-%m-%dT%H:%M:%S.%f}{ns:03d}{zone}", _TIMES, _NANOS)


def _without_zeros(body: Mapping[str, Any]) -> Body:
    """LoRaWAN servers omit fields whose value is 0, "" or false (protobuf JSON)."""
    return {k: v for k, v in body.items() if v is True or v not in (0, "", False, None)}


def _lorawan_port(port: int | None) -> st.SearchStrategy[int]:
    """The frame's fPort, or any application port for a model that takes every port."""
    return st.just(port) if port is not None else st.integers(1, 223)


def sigfox_body(port_frame: PortFrame) -> st.SearchStrategy[Body]:
    """A DATA (UPLINK/BIDIR) or DATA_ADVANCED callback body."""
    _, frame = port_frame
    location = st.fixed_dictionaries(
        {
            "lat": st.floats(-90, 90),
            "lng": st.floats(-180, 180),
            "radius": st.integers(0, 50_000),
            "source": st.sampled_from([2, 6]),  # Atlas, Atlas WiFi
            "status": st.just(1),  # location available
        }
    )
    return st.fixed_dictionaries(
        {
            "device": st.integers(1, 0xFFFFFFFF).map("{:X}".format),
            "time": _maybe_quoted(st.integers(_EPOCH_2015, _EPOCH_2035)),
            "seqNumber": _maybe_quoted(st.integers(0, 4095)),
            "data": st.sampled_from([frame.hex(), frame.hex().upper()]),
        },
        optional={
            "deviceTypeId": _hex(12),
            "ack": st.sampled_from([True, False, "true", "false"]),
            "computedLocation": location,
        },
    )


def ttn_body(port_frame: PortFrame) -> st.SearchStrategy[Body]:
    """A The Things Stack v3 webhook body with an ``uplink_message``."""
    port, frame = port_frame

    def body(
        device: str, app: str, eui: str, received: str, session: bytes, f_port: int, f_cnt: int
    ) -> Body:
        message = {
            "session_key_id": base64.b64encode(session).decode(),
            "f_port": f_port,
            "f_cnt": f_cnt,
            "frm_payload": base64.b64encode(frame).decode(),
            "rx_metadata": [{"gateway_ids": {"gateway_id": "gtw1"}, "rssi": -35, "snr": 5}],
            "received_at": received,
        }
        return {
            "end_device_ids": {
                "device_id": device,
                "application_ids": {"application_id": app},
                "dev_eui": eui,
            },
            "received_at": received,
            "uplink_message": _without_zeros(message),
        }

    return st.builds(
        body,
        _SLUG,
        _SLUG,
        _hex(8).map(str.upper),
        _rfc3339("Z"),
        st.binary(min_size=16, max_size=16),
        _lorawan_port(port),
        _COUNTER,
    )


def chirpstack_body(port_frame: PortFrame) -> st.SearchStrategy[Body]:
    """A ChirpStack v4 HTTP integration body, as POSTed with ``?event=up``."""
    port, frame = port_frame

    def body(
        dedup: str, time: str, app: str, profile: str, eui: str, f_port: int, f_cnt: int
    ) -> Body:
        info = {
            "applicationId": app,
            "applicationName": "aura",
            "deviceProfileId": profile,
            "deviceName": f"device-{eui[-4:]}",
            "devEui": eui,
        }
        event = {
            "deduplicationId": dedup,
            "time": time,
            "deviceInfo": info,
            "fCnt": f_cnt,
            "fPort": f_port,
            "data": base64.b64encode(frame).decode(),
            "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -36, "snr": 10.5}],
        }
        return _without_zeros(event)

    return st.builds(
        body,
        _UUID,
        _rfc3339("+00:00"),
        _UUID,
        _UUID,
        _hex(8),  # ChirpStack v4 writes EUIs in lower case
        _lorawan_port(port),
        _COUNTER,
    )


BODIES: dict[str, Callable[[PortFrame], st.SearchStrategy[Body]]] = {
    "sigfox": sigfox_body,
    "ttn": ttn_body,
    "chirpstack": chirpstack_body,
}
