"""Getting stored events to AURA: the worker that drains the outbox (:mod:`.worker`), the
client of AURA's API it sends with (:mod:`.aura_client`), and the renewal of its short leases
(:mod:`.leases`)."""

from webhook.delivery.aura_client import AuraClient
from webhook.delivery.worker import Deliverer

__all__ = ["AuraClient", "Deliverer"]
