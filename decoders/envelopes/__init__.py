"""Envelope parsers: one network's callback body -> a network-neutral :class:`~decoders.Uplink`.

They are forgiving about what people write by hand (quoted numbers, missing optional fields,
either hex case) and strict about what identifies an uplink (device, time), raising
:class:`~decoders.errors.EnvelopeError` naming the field.
"""
