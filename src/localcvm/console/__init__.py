"""The web console (/console): server-rendered pages that are a client of the API's dispatcher."""

from .routes import console_app

__all__ = ["console_app"]
