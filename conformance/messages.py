"""Builds queue-response requests from the configured fixtures."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from conformance.exchange import Outgoing
from conformance.settings import Settings

PATH = "/v1/accounts/{accountGroupId}/messages/responses"
JSON = "application/json"
_DEFAULT = object()


def new_key(label: str) -> str:
    """A fresh Idempotency-Key nobody has used, readable in server logs."""
    return f"conformance-{label}-{uuid.uuid4().hex}"


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

    def inmail(self, message: str = "Conformance check: InMail.", subject: str = "Conformance") -> dict[str, Any]:
        """An inmail body to the InMail fixture (or the main prospect when none is configured)."""
        prospect = self.settings.inmail_prospect_id or self.settings.prospect_id
        return {"prospectId": prospect, "message": message, "channel": "inmail", "subject": subject}

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
