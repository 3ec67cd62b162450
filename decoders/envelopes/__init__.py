"""Envelope parsers: one network's callback body -> a network-neutral :class:`~decoders.Uplink`.

They are forgiving about what people write by hand (quoted numbers, missing optional fields,
either hex case) and strict about what identifies an uplink (device, time), raising
:class:`~decoders.errors.EnvelopeError` naming the field.

They never read a clock: where a body may carry no time, the caller passes ``now`` (keyword-only;
required by the LoRaWAN parsers, optional for :func:`~decoders.envelopes.sigfox.parse_sigfox`,
whose bodies must carry their time unless ``now`` is given).
"""
