"""Datasets: the fixture data sessions run on, immutable and content-addressed.

A dataset is one validated fixtures document, stored once under the SHA-256 of its canonical JSON. A session
points at one: a new session and a reset one at the base dataset (the data the mock was started with), a
session after `PUT /__mock/fixtures` at the dataset of that document (stored if new). A session therefore
costs one row whatever the size of its data, and a dataset no session points at is deleted.

Datasets never change, so each process keeps the parsed form of the ones in use, by id: looking up an API
key, a prospect or a schedule on the hot path is a dictionary read, not a query.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mock_server.domain.fixtures import ApiKey, Fixtures, schedule_from_document
from mock_server.domain.scheduler import SendingSchedule
from mock_server.domain.tokens import key_digest
from mock_server.storage.base import Tx

CACHED = 32
"""Parsed datasets kept per process; a miss re-reads and re-parses one document (milliseconds)."""


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    schedule: SendingSchedule


@dataclass(frozen=True, slots=True)
class ProspectData:
    connected: bool
    inmail_eligible: bool
    conversations: tuple[str, ...]


class Dataset:
    """One parsed fixtures document, indexed for the lookups requests make."""

    def __init__(self, dataset_id: str, document: dict[str, Any]) -> None:
        self.id = dataset_id
        self._document = document
        self.groups: dict[str, Group] = {}
        self.prospects: dict[tuple[str, str], ProspectData] = {}
        for group in document["accountGroups"]:
            self.groups[group["id"]] = Group(group["name"], schedule_from_document(group["schedule"]))
            for prospect in group["prospects"]:
                self.prospects[(group["id"], prospect["id"])] = ProspectData(
                    prospect["connected"], prospect["inmailEligible"], tuple(prospect["conversations"])
                )
        self.keys = {
            key_digest(raw["key"]): ApiKey(
                raw["key"], raw["name"], frozenset(raw["permissions"]), frozenset(raw["accountGroups"]), raw["revoked"]
            )
            for raw in document["apiKeys"]
        }

    def document(self) -> dict[str, Any]:
        """A copy of the document in the fixture-file format, every default spelled out."""
        return copy.deepcopy(self._document)

    def conversation_in_group(self, group_id: str, conversation_id: str) -> bool:
        return any(conversation_id in p.conversations for (g, _), p in self.prospects.items() if g == group_id)


def document_of(fixtures: Fixtures) -> dict[str, Any]:
    """The fixtures in the fixture-file format with every default spelled out (what GET /__mock/fixtures shows)."""
    raw_groups = {g["id"]: g for g in fixtures.document.get("accountGroups", [])}
    groups = [
        {
            "id": group.id,
            "name": group.name,
            "schedule": raw_groups.get(group.id, {}).get("schedule", {}),
            "prospects": [
                {
                    "id": p.id,
                    "name": p.name,
                    "connected": p.connected,
                    "conversations": list(p.conversations),
                    "inmailEligible": p.inmail_eligible,
                }
                for p in group.prospects
            ],
        }
        for group in fixtures.account_groups
    ]
    keys = [
        {
            "key": k.key,
            "name": k.name,
            "permissions": sorted(k.permissions),
            "accountGroups": sorted(k.account_groups),
            "revoked": k.revoked,
        }
        for k in fixtures.api_keys
    ]
    document: dict[str, Any] = {"accountGroups": groups, "apiKeys": keys}
    if fixtures.conformance:
        document["conformance"] = dict(fixtures.conformance)
    return document


def put(tx: Tx, fixtures: Fixtures) -> str:
    """Store the fixtures' dataset unless a dataset of the same content exists; returns its id."""
    document = document_of(fixtures)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    dataset_id = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    tx.put_dataset(dataset_id, json.dumps(document, ensure_ascii=False))
    return dataset_id


def load(tx: Tx, dataset_id: str) -> Dataset:
    """The parsed dataset, from this process's cache or the store."""
    with _lock:
        cached = _cache.get(dataset_id)
        if cached is not None:
            _cache.move_to_end(dataset_id)
            return cached
    document = tx.dataset_document(dataset_id)
    if document is None:
        raise LookupError(f"no dataset {dataset_id}")
    dataset = Dataset(dataset_id, json.loads(document))
    with _lock:
        _cache[dataset_id] = dataset
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
    return dataset


def collect(tx: Tx, dataset_id: str) -> None:
    """Delete the dataset if neither a session nor the startup configuration points at it."""
    tx.collect_dataset(dataset_id)


_cache: OrderedDict[str, Dataset] = OrderedDict()
_lock = threading.Lock()
