"""What the command groups share: the common options, settings and services, errors, logging,
and finding the server that runs on a data dir."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from ..config import Settings, running_server

DataDirOpt = typer.Option(None, "--data-dir", help="Data directory [env LOCALCVM_DATA_DIR; default ~/.local/share/localcvm].")
DbOpt = typer.Option(None, "--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db [env LOCALCVM_DATABASE_URL; default: the running server's, else SQLite in the data dir].")
ServerDbOpt = typer.Option(None, "--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db [env LOCALCVM_DATABASE_URL; default SQLite in the data dir].")
AsJsonOpt = typer.Option(False, "--json", help="Print JSON.")
LogLevelOpt = typer.Option("info", "--log-level", help="debug, info, warning or error.")
TimeScaleOpt = typer.Option(
    None, "--time-scale",
    help="Add the real service's durations, compressed: a SyncImages copy takes at least TIME_SCALE x "
         "(10..30 minutes), e.g. 0.001 gives 0.6-1.8 s, and a CreateImage TIME_SCALE x (3..10 minutes) "
         "[env LOCALCVM_TIME_SCALE; default 0 = no added delay].",
)


def sub_app(help_text: str) -> typer.Typer:
    # help texts are plain: "[env X; default Y]" must print, not be taken for console markup
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def client_settings(data_dir: Optional[Path], database_url: Optional[str], **extra) -> Settings:
    """Settings of an operator command: the same data dir rules as ``serve``; without a database
    URL from a flag or the environment, the one the server running on that data dir uses."""
    settings = Settings.load(data_dir=data_dir, database_url=database_url, **extra)
    if not settings.database_url:
        record = running_server(settings.data_dir)
        if record and record.get("database_url"):
            settings.database_url = record["database_url"]
    return settings


def services(data_dir: Optional[Path], database_url: Optional[str], **extra):
    from ..services.core import Services

    return Services(client_settings(data_dir, database_url, **extra))


def open_services(workers_flag: str, min_workers: int, **overrides):
    """Settings from flags and environment, checked, and the services on them (serve, worker)."""
    from ..services import errors
    from ..services.core import Services

    settings = Settings.load(**overrides)
    if settings.time_scale < 0:
        fail("--time-scale must be 0 or more")
    for name in ("header_timeout", "body_timeout", "keepalive_timeout"):
        if getattr(settings, name) <= 0:
            fail(f"--{name.replace('_', '-')} must be more than 0 seconds")
    if settings.max_connections < 1:
        fail("--max-connections must be 1 or more")
    if settings.workers < min_workers:
        fail(f"{workers_flag} must be {min_workers} or more (its default comes from LOCALCVM_WORKERS)")
    try:
        return settings, Services(settings)
    except errors.ApiError as exc:
        fail(exc.message)
    except ValueError as exc:  # a setting the services refuse (driver, public IP range, ports)
        fail(str(exc))


class JsonLines(logging.Formatter):
    """One JSON object per line for every log record: the request log's lines (JSON already) as
    they are, everything else (uvicorn's start and stop lines, job failures) as level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == "localcvm.request" and message.startswith("{"):
            return message
        line = {"level": record.levelname.lower(), "logger": record.name, "message": message}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for noisy in ("alembic", "httpx", "httpcore", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
