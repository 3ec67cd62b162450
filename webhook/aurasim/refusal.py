"""The one way the simulator's model says no: a :class:`Refusal` carries the HTTP status and the
``message`` AURA would answer (docs/aura-api.md §4.2: every error body is ``{"message": ...}``)."""

from __future__ import annotations

from typing import Any

from decoders.errors import AuraUplinkError


class Refusal(AuraUplinkError):
    """AURA refuses a request: ``status`` and ``message`` become the response, ``extra`` (such as
    ``field``) is added to the error body. Raised by the model, turned into JSON by the routes."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}
