"""AURA's API as its documentation describes it (docs/aura-api.md): the token exchange
(:mod:`.token`), the endpoints for device links and customers (:mod:`.api`) and how to read
AURA's answers (:mod:`.answers`). The device-event sender used by delivery is
:mod:`webhook.delivery.aura_client`, on the same token source."""
