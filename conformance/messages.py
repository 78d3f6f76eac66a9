"""Builds queue-response requests from the configured fixtures."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

from conformance.exchange import Outgoing
from conformance.settings import Settings

PATH = "/v1/accounts/{accountGroupId}/messages/responses"
JSON = "application/json"
_DEFAULT = object()


_FRESH_KEY = re.compile(r"[0-9a-fA-F]{32}(-[0-9]+)?$")
DEFAULT_CHANNEL = "direct_message"


def new_key(label: str) -> str:
    """A fresh Idempotency-Key nobody has used, readable in server logs."""
    return f"conformance-{label}-{uuid.uuid4().hex}"


def is_fresh_key(key: str | None) -> bool:
    """Whether a key ends in a random 128-bit suffix (`new_key`, or the model phase's `<hex>-<n>`): no earlier run
    can have bound it."""
    return key is not None and _FRESH_KEY.search(key) is not None


def unknown_id(prefix: str) -> str:
    """An id that no real data set contains."""
    return f"{prefix}_conformance_unknown_{uuid.uuid4().hex[:12]}"


class Messages:
    """Request factory: every success-path body it makes targets a configured fixture."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def url(self, account_group_id: str | None = None) -> str:
        """The endpoint URL for the fixture group (or another group)."""
        group = quote(account_group_id or self.settings.account_group_id, safe="")
        return self.settings.base_url + PATH.format(accountGroupId=group)

    def direct(self, message: str = "Conformance check: direct message.", **extra: Any) -> dict[str, Any]:
        """A direct_message body to the fixture prospect, in its conversation when one is configured."""
        body: dict[str, Any] = {"prospectId": self.settings.prospect_id, "message": message}
        if self.settings.conversation_id:
            body["conversationId"] = self.settings.conversation_id
        return {**body, **extra}

    def inmail(
        self, message: str = "Conformance check: InMail.", subject: str = "Conformance", prospect_id: str | None = None
    ) -> dict[str, Any]:
        """An inmail body to `prospect_id`, by default the InMail fixture (or the main prospect without one)."""
        prospect = prospect_id or self.settings.inmail_prospect_id or self.settings.prospect_id
        return {"prospectId": prospect, "message": message, "channel": "inmail", "subject": subject}

    def for_channel(self, channel: str, message: str = "Conformance check: channel.") -> dict[str, Any]:
        """A valid body for any channel of the spec's enum: a direct message, or an InMail-shaped body."""
        if channel == DEFAULT_CHANNEL:
            return self.direct(message=message)
        return {**self.inmail(message=message), "channel": channel}

    def post(
        self,
        body: Any = None,
        *,
        raw: bytes | None = None,
        key: str | None = None,
        api_key: Any = _DEFAULT,
        authorization: str | None = None,
        account_group_id: str | None = None,
        content_type: str | None = JSON,
        method: str = "POST",
    ) -> Outgoing:
        """One POST; `raw` bytes win over `body`, `api_key=None` sends no Authorization header."""
        headers: dict[str, str] = {"Accept": JSON}
        if content_type:
            headers["Content-Type"] = content_type
        token = self.settings.api_key if api_key is _DEFAULT else api_key
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        content = raw if raw is not None else json.dumps(body).encode()
        return Outgoing(method, self.url(account_group_id), headers, content)
