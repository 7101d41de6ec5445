"""The service container: everything a request handler or CLI command needs."""

from __future__ import annotations

from ..config import Settings
from ..store.db import Database
from .iam import AccountService
from .regions import RegionCatalogue


class Services:
    def __init__(self, settings: Settings, *, migrate: bool = True):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = Database(settings.effective_database_url)
        if migrate:
            self.db.migrate()
        self.regions = RegionCatalogue.load(settings.regions_file or None)
        self.accounts = AccountService(self.db)

    def close(self) -> None:
        self.db.dispose()
