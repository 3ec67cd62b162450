"""The durable store: the :class:`Store` interface (:mod:`.base`), the rows it keeps
(:mod:`.records`) and the embedded SQLite engine (:mod:`.sqlite`)."""

from webhook.store.base import (
    DeliveredEvent,
    IngestResult,
    Plan,
    PlanFn,
    PlanReads,
    PruneCount,
    Store,
    TxReader,
    idempotency_key,
)
from webhook.store.records import (
    EVENT_STATES,
    UPLINK_STATUSES,
    DeviceLink,
    EventRow,
    EventState,
    Newest,
    SeenDevice,
    StoredUplink,
    UplinkRecord,
    UplinkStatus,
)
from webhook.store.sqlite import SqliteStore

__all__ = [
    "EVENT_STATES",
    "UPLINK_STATUSES",
    "DeliveredEvent",
    "DeviceLink",
    "EventRow",
    "EventState",
    "IngestResult",
    "Newest",
    "Plan",
    "PlanFn",
    "PlanReads",
    "PruneCount",
    "SeenDevice",
    "SqliteStore",
    "Store",
    "StoredUplink",
    "TxReader",
    "UplinkRecord",
    "UplinkStatus",
    "idempotency_key",
]
