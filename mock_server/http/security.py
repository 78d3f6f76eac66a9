"""Bearer authentication (401) and authorization (403) through connexion's security layer.

Connexion runs security before request validation, which gives the contract's order for free. The
check function is supplied through `security_map`, so the contract document names no mock code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest
from connexion.security import BearerSecurityHandler

from mock_server.domain.access import Unauthenticated, authenticate, authorize
from mock_server.http.runtime import CALLER, runtime_of, session_of


def check_api_key(token: str, request: ConnexionRequest) -> dict[str, Any]:
    """Resolve the key in the caller's session; unknown or revoked is 401, no permission or group is 403.

    A session that does not exist yet is checked against the base fixtures, and is created only once the
    key is both valid and allowed (429 past the session cap, right after the 403 as the contract orders).
    """
    scope = request.scope
    runtime, session = runtime_of(scope), session_of(scope)
    with runtime.store.reading() as tx:
        try:
            caller = authenticate(tx, session, token)
        except Unauthenticated as exc:
            raise OAuthProblem(detail=str(exc)) from None
    scope.setdefault("extensions", {})[CALLER] = caller
    group_id = scope.get("path_params", {}).get("accountGroupId")
    if group_id is not None:
        authorize(caller, group_id)
    runtime.admit(session)
    return {"sub": caller.name}


class SessionBearerHandler(BearerSecurityHandler):
    """Connexion's bearer handler, with our key check instead of an `x-bearerInfoFunc` in the spec."""

    def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:
        return check_api_key

    @staticmethod
    @cache
    def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
        """Connexion inspects the check function's signature on every request; once is enough."""
        return BearerSecurityHandler._accepts_kwarg(func, keyword)


SECURITY_MAP = {"bearer": SessionBearerHandler}
