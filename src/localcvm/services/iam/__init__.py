"""Identity and access: root accounts and their keys (accounts), and CAM (sub-users, groups,
policies and the policy engine)."""

from .accounts import (FIRST_APP_ID, FIRST_UIN, AccountService, AccountView, Credentials, Identity, KeyView,
                       new_secret_id, new_secret_key)
from .cam import CamService

__all__ = ["FIRST_APP_ID", "FIRST_UIN", "AccountService", "AccountView", "CamService", "Credentials", "Identity",
           "KeyView", "new_secret_id", "new_secret_key"]
