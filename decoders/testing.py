"""Hypothesis strategies for code that handles aura-uplink frames and callback bodies.

* :func:`fields` — field values of one model, the dicts ``decode(...).fields`` are made of;
* :func:`frames` — ``(port, frame)`` pairs the model decodes, built from :func:`fields`;
* :func:`callback_bodies` — Sigfox, The Things Stack or ChirpStack callback bodies carrying
  such frames, which the matching parser in :mod:`decoders.envelopes` accepts.

Usage::

    from hypothesis import given
    from decoders.testing import frames

    import decoders

    @given(frames("simplepack"))
    def test_every_simplepack_frame_decodes(port_and_frame):
        port, frame = port_and_frame
        decoders.decode("simplepack", frame, port=port)

Values are generated from the models' construct schemas (:mod:`decoders.testing_values`) and
frames are made with each model's own ``build``, so a new field or message type is covered as
soon as its schema declares it. How a model's layouts combine into one frame (one layout, one per
fPort, or a run of records) is the table :data:`SHAPES`; every model in
:data:`decoders.MODELS` has an entry.

hypothesis is an optional dependency: ``pip install aura-uplink[testing]``. ``import decoders``
never imports this module.
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as missing:  # an optional dependency: say how to get it
    raise ImportError(
        "decoders.testing needs hypothesis, an optional dependency: "
        "pip install aura-uplink[testing]"
    ) from missing

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from decoders.frames import ByPort
from decoders.models import MODELS, get_model
from decoders.models.aura import reference as aura_reference
from decoders.models.browan import tbpb100 as browan_tbpb100
from decoders.models.digitalmatter import oyster_lorawan, oyster_sigfox
from decoders.models.dragino import lgt92 as dragino_lgt92
from decoders.models.dragino import trackerd as dragino_trackerd
from decoders.models.milesight import at101 as milesight_at101
from decoders.models.milesight import ws101 as milesight_ws101
from decoders.models.seeed import sensecap_t1000
from decoders.models.sigfox import sensit_v3
from decoders.models.simplehw import simplepack
from decoders.schema import Layout
from decoders.testing_bodies import BODIES, NETWORK_MODELS
from decoders.testing_values import layout_fields

__all__ = ["SHAPES", "callback_bodies", "fields", "frames"]

Fields = dict[str, Any]
SIGFOX_MAX = 12  # bytes in one Sigfox uplink: tails are cut to fit
MAX_RECORDS = 3  # records per generated multi-record uplink: enough to cover joins, still fast


@dataclass(frozen=True)
class Shape:
    """How one model's frames are made of its layouts: ``fields`` draws the dict the model's
    ``build`` takes, ``port`` says which fPort such a frame travels on (None: no port)."""

    fields: st.SearchStrategy[Fields]
    port: Callable[[Mapping[str, Any]], int | None]


def _unique(layouts: Iterable[Layout]) -> list[Layout]:
    """Each layout once (models map several codes to one layout), in declaration order."""
    return list({id(layout): layout for layout in layouts}.values())


def _sigfox_tail(layout: Layout) -> st.SearchStrategy[int]:
    """Appended bytes after a Sigfox layout: any number that keeps the frame in one uplink."""
    return st.integers(0, SIGFOX_MAX - layout.size)


def one_layout(
    layouts: Iterable[Layout],
    *,
    port: int | None = None,
    tail: Callable[[Layout], st.SearchStrategy[int]] = _sigfox_tail,
) -> Shape:
    """Frames that are exactly one of ``layouts`` (the model picks it by a type byte or by
    length), on ``port``; ``tail`` gives the lengths of a layout's free trailing bytes."""
    choices = st.sampled_from(_unique(layouts))
    return Shape(choices.flatmap(lambda layout: layout_fields(layout, tail)), lambda _: port)


def by_port(layouts: Mapping[int, Layout]) -> Shape:
    """Frames whose fPort chooses the layout, named in ``message_type`` (``parse_by_port``)."""
    port_of = {layout.name: port for port, layout in layouts.items()}

    def named(layout: Layout) -> st.SearchStrategy[Fields]:
        return layout_fields(layout).map(lambda found: {"message_type": layout.name, **found})

    strategy = st.sampled_from(list(layouts.values())).flatmap(named)
    return Shape(strategy, lambda fields: port_of[fields["message_type"]])


def _lorawan_tail(layout: Layout) -> st.SearchStrategy[int]:
    """Appended bytes after a LoRaWAN layout with a free tail (a list of scanned beacons)."""
    return st.integers(0, 25)


def sized_by_port(
    frames: ByPort, *, tail: Callable[[Layout], st.SearchStrategy[int]] = _lorawan_tail
) -> Shape:
    """Frames of a :class:`~decoders.frames.ByPort` model: each port's layouts (its ``Sized``
    variants), named in ``message_type``; a layout several ports share travels on the first."""
    port_of: dict[str, int] = {}
    for port, sized in frames.table.items():
        for layout in sized.variants:
            port_of.setdefault(layout.name, port)
    layouts = _unique(layout for sized in frames.table.values() for layout in sized.variants)

    def named(layout: Layout) -> st.SearchStrategy[Fields]:
        found = layout_fields(layout, tail)
        return found.map(lambda values: {"message_type": layout.name, **values})

    strategy = st.sampled_from(layouts).flatmap(named)
    return Shape(strategy, lambda fields: port_of[fields["message_type"]])


def records(layouts: Iterable[Layout], key: str, *, port: int) -> Shape:
    """Frames that are a run of 1..MAX_RECORDS records, listed under ``key`` (``records``)."""
    record = st.sampled_from(_unique(layouts)).flatmap(layout_fields)
    runs = st.lists(record, min_size=1, max_size=MAX_RECORDS)
    return Shape(runs.map(lambda found: {key: found}), lambda _: port)


# Every model's frame shape, from the layouts its module declares.
SHAPES: dict[str, Shape] = {
    aura_reference.MODEL_ID: one_layout(aura_reference.LAYOUTS.values()),
    simplepack.MODEL_ID: one_layout(simplepack.LAYOUTS.values()),
    sensit_v3.MODEL_ID: one_layout([*sensit_v3.LAYOUTS.values(), *sensit_v3.WITH_CONFIG.values()]),
    oyster_sigfox.MODEL_ID: one_layout(oyster_sigfox.LAYOUTS.values()),
    browan_tbpb100.MODEL_ID: one_layout(
        [browan_tbpb100.V13, browan_tbpb100.V14], port=browan_tbpb100.PORT
    ),
    dragino_lgt92.MODEL_ID: sized_by_port(dragino_lgt92.FRAMES),
    dragino_trackerd.MODEL_ID: sized_by_port(dragino_trackerd.FRAMES),
    oyster_lorawan.MODEL_ID: by_port(oyster_lorawan.LAYOUTS),
    milesight_ws101.MODEL_ID: records(
        milesight_ws101.LAYOUTS.values(), "records", port=milesight_ws101.PORT
    ),
    milesight_at101.MODEL_ID: records(
        milesight_at101.LAYOUTS.values(), "records", port=milesight_at101.PORT
    ),
    sensecap_t1000.MODEL_ID: records(
        sensecap_t1000.LAYOUTS.values(), "frames", port=sensecap_t1000.PORT
    ),
}


def _shape(model_id: str) -> Shape:
    get_model(model_id)  # UnknownModel, naming the known ones, for a typo
    try:
        return SHAPES[model_id]
    except KeyError:
        raise NotImplementedError(
            f"decoders.testing has no shape for model {model_id!r}: add it to SHAPES"
        ) from None


@cache
def fields(model_id: str) -> st.SearchStrategy[Fields]:
    """Field values of ``model_id`` that its ``build`` turns into a frame it decodes.

    They have the form ``decode(...).fields`` has (names for coded values, scaled numbers,
    hex text for raw bytes), so ``MODELS[model_id].build(values)`` gives the frame::

        @given(fields("aura-reference"))
        def test_alerts_build(values):
            frame = decoders.MODELS["aura-reference"].build(values)
    """
    return _shape(model_id).fields


@cache
def frames(model_id: str) -> st.SearchStrategy[tuple[int | None, bytes]]:
    """``(port, frame)`` pairs for which ``decoders.decode(model_id, frame, port=port)``
    succeeds. ``port`` is None for Sigfox models and one of the model's fPorts for LoRaWAN.

    Example::

        from hypothesis import given
        from decoders.testing import frames

        @given(frames("simplepack"))
        def test_handler(port_and_frame):
            port, frame = port_and_frame
            ...
    """
    shape = _shape(model_id)
    build = MODELS[model_id].build
    if build is None:  # every registered model builds; a new one must too, to be generated
        raise NotImplementedError(f"model {model_id!r} has no build function")
    return shape.fields.map(lambda values: (shape.port(values), build(values)))


def callback_bodies(network: str, *, model: str | None = None) -> st.SearchStrategy[Fields]:
    """Callback bodies as ``network`` sends them, each carrying a frame from :func:`frames`.

    ``network`` is ``"sigfox"`` (a DATA or DATA_ADVANCED callback: parse with
    :func:`~decoders.envelopes.sigfox.parse_sigfox`), ``"ttn"`` (a The Things Stack v3
    ``uplink_message`` webhook: :func:`~decoders.envelopes.lorawan.parse_ttn`) or
    ``"chirpstack"`` (a ChirpStack v4 ``?event=up`` body:
    :func:`~decoders.envelopes.lorawan.parse_chirpstack`). The frame comes from ``model``, or from
    any model of that network. Bodies always carry their time, as the servers send them::

        @given(callback_bodies("ttn", model="browan-tbpb100"))
        def test_ttn_route(body):
            uplink = parse_ttn(body, now=datetime.now(UTC))
    """
    if network not in BODIES:
        raise ValueError(f"unknown network {network!r}; expected one of {', '.join(BODIES)}")
    kinds = NETWORK_MODELS[network]
    if model is None:
        chosen = sorted(m.id for m in MODELS.values() if m.network in kinds)
    elif get_model(model).network in kinds:
        chosen = [model]
    else:
        raise ValueError(f"model {model!r} does not send over {network!r}")
    return st.sampled_from(chosen).flatmap(frames).flatmap(BODIES[network])
