"""AURA's endpoints for device links and customers (docs/aura-api.md §2, §5), one method each.

Every call gets a token from the shared :class:`~webhook.aura.token.TokenSource` (refreshed once
on a 401) and returns AURA's JSON answer; anything but a 2xx raises :class:`AuraRefused`, whose
message says what was asked (method, path, the ids involved) and AURA's own message. Bodies are
never logged: they may hold a customer's personal details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from decoders.errors import AuraUplinkError
from webhook.aura.session import new_session
from webhook.aura.token import TOKEN_PATH, TokenSource, TokenUnavailable, answer_message
from webhook.config import AuraConfig

DEVICES_PATH = "/panic-api/v2/devices"
CUSTOMERS_PATH = "/panic-api/v2/customers"


class AuraRefused(AuraUplinkError):
    """AURA refused a request (``status``), or could not be reached (``status`` None)."""

    def __init__(self, request: str, status: int | None, message: str) -> None:
        answer = "no answer" if status is None else f"HTTP {status}"
        super().__init__(f"AURA refused {request}: {answer}: {message}")
        self.request = request
        self.status = status
        self.aura_message = message


class AuraApi:
    """The documented endpoints, over one session and token source."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        session: requests.Session,
        timeout: tuple[float, float] = (3.05, 10.0),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._session = session
        self._timeout = timeout

    @classmethod
    def from_config(cls, aura: AuraConfig) -> AuraApi:
        """The API of the tenant ``[aura]`` names (``url`` is the host root)."""
        if not aura.url:
            raise AuraUplinkError("[aura] url is not configured (or AURA_URL)")
        session = new_session(2)
        timeout = (3.05, aura.timeout_s)
        bearer = aura.auth == "bearer"
        tokens = TokenSource(
            session,
            aura.token_url or aura.url.rstrip("/") + TOKEN_PATH,
            aura.client_id,
            "" if bearer else aura.client_secret,
            timeout=timeout,
            static_token=aura.client_secret if bearer else None,
        )
        return cls(aura.url, tokens, session, timeout)

    def close(self) -> None:
        self._session.close()

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, what: str
    ) -> Any:
        """AURA's answer to one request (parsed JSON, or None for an empty body). ``what`` names
        the ids involved, for the error message; it must hold no secret or personal detail."""
        request = f"{method} {path} ({what})"
        try:
            token = self.tokens.current().value
            resp = self._send(method, path, body, token)
            if resp.status_code == 401:
                fresh = self.tokens.refresh_after_401(token)
                if fresh is not None:
                    resp = self._send(method, path, body, fresh.value)
        except TokenUnavailable as error:
            raise AuraRefused(request, error.status, str(error)) from None
        except requests.RequestException as error:
            raise AuraRefused(request, None, f"{type(error).__name__}: {error}") from None
        if not 200 <= resp.status_code < 300:
            raise AuraRefused(request, resp.status_code, answer_message(resp))
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, token: str
    ) -> requests.Response:
        return self._session.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
            timeout=self._timeout,
            allow_redirects=False,
        )

    # -- device links (docs/aura-api.md §2) -----------------------------------------------------

    def link_device(self, body: Mapping[str, Any]) -> Any:
        what = f"link serial {body.get('deviceSerial')} to customer {body.get('customerId')}"
        return self.call("POST", DEVICES_PATH, body, what=what)

    def update_device(self, body: Mapping[str, Any]) -> Any:
        what = f"update deviceId {body.get('deviceId')} of customer {body.get('customerId')}"
        return self.call("PUT", DEVICES_PATH, body, what=what)

    def unlink_device(self, device_id: str) -> Any:
        path = f"{DEVICES_PATH}/{quote(device_id, safe='')}"
        return self.call("DELETE", path, what=f"unlink deviceId {device_id}")

    # -- customers (docs/aura-api.md §5) --------------------------------------------------------

    def create_customer(self, body: Mapping[str, Any]) -> Any:
        return self.call("POST", CUSTOMERS_PATH, body, what="create a customer")

    def get_customer(self, customer_id: int) -> Any:
        path = f"{CUSTOMERS_PATH}/{customer_id}"
        return self.call("GET", path, what=f"customer {customer_id}")

    def update_customer(self, customer_id: int, body: Mapping[str, Any]) -> Any:
        path = f"{CUSTOMERS_PATH}/{customer_id}"
        return self.call("PUT", path, body, what=f"update customer {customer_id}")

    def delete_customer(self, customer_id: int) -> Any:
        # A soft delete, by POST: the documented (legacy) verb (docs/aura-api.md §5.5).
        path = f"{CUSTOMERS_PATH}/{customer_id}/delete"
        return self.call("POST", path, what=f"delete customer {customer_id}")
