"""CamService: the CAM product's services and the policy check's one source of policies.

``policies_for`` is called once per request of a sub-user. Its policy list is cached under the
owner's CAM generation, which the key lookup reads on every request and every CAM change that can
change a sub-user's permissions bumps (attach, detach, group membership, policy update, default
version, deletion): so such a change is seen from the very next request, in every process sharing
the database, and an unchanged owner costs no read at all. On a miss one read lists the policies
attached to the user and its groups with their documents; parsed documents are cached by their
text (so a policy id reused after a deletion can never bring back an old document).
"""

from __future__ import annotations

import threading

from ...clock import Clock
from ...store.db import Database
from ...store.keys import KeyReader
from ...store.repo_cam import PolicyReader
from . import documents
from .accounts import Identity
from .engine import Policies
from .groups import GroupService
from .policies import PolicyService
from .presets import BY_ID
from .users import UserService

_CACHE_LIMIT = 10000


class CamService:
    def __init__(self, db: Database, clock: Clock, keys: KeyReader):
        self.users = UserService(db, clock)
        self.groups = GroupService(db, clock)
        self.policies = PolicyService(db, clock)
        self.clock = clock
        self.reader = PolicyReader(keys)
        self.inline = keys.inline
        self.parsed: dict[str, documents.Document] = {}
        self.lists: dict[tuple[str, int], Policies] = {}
        self.lock = threading.Lock()

    def check_console_password(self, owner_uin: str, user_name: str, password: str) -> Identity | None:
        """For the web console's sign-in: the sub-user's Identity when it may log in with this password."""
        return self.users.check_console_password(owner_uin, user_name, password)

    def cached(self, identity: Identity) -> Policies | None:
        """The sub-user's policies when its owner's CAM state is unchanged since they were read (no I/O)."""
        if identity.cam_generation is None:
            return None
        return self.lists.get((identity.caller, identity.cam_generation))

    def policies_for(self, identity: Identity) -> Policies:
        """The parsed documents in force for a sub-user (its own policies and its groups')."""
        key = (identity.caller, identity.cam_generation)
        found = self.cached(identity)
        if found is not None:
            return found
        out: Policies = []
        for policy_id, text in self.reader.attached(identity.caller):
            doc = self.document(policy_id, text)
            if doc is not None:
                out.append((policy_id, doc))
        if identity.cam_generation is not None:
            with self.lock:
                if len(self.lists) >= _CACHE_LIMIT:
                    self.lists.clear()
                self.lists[key] = out
        return out

    def document(self, policy_id: int, text: str | None) -> documents.Document | None:
        """The parsed document: a custom policy's ``text``, or the preset one's (None: neither, the
        attachment of a deleted policy)."""
        if text is None:
            preset = BY_ID.get(policy_id)
            if preset is None:
                return None
            text = preset.document
        doc = self.parsed.get(text)
        if doc is None:
            doc = documents.parse(text)
            with self.lock:
                if len(self.parsed) >= _CACHE_LIMIT:
                    self.parsed.clear()
                self.parsed[text] = doc
        return doc
