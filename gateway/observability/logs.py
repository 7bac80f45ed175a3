"""Structured logs: one JSON object a line (or one readable line, `log_format = "console"`),
each carrying the request id it belongs to.

Usage: `uvicorn.run(app, log_config=logging_config(log_format="console"), access_log=False)`;
the access log is the gateway's own (gateway/http/access_log.py), one line per request.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "console"]
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# What a record carries that is not a field of its own: the standard attributes, and
# uvicorn's coloured copy of its message.
_NOT_FIELDS = frozenset(
    [*RESERVED_ATTRS, "taskName", "color_message", "request_id", "message", "asctime"]
)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served (or none), unless the
    record names its request itself (the access log does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def _utc(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonLines(JsonFormatter):
    """JSON lines with an ISO 8601 UTC `time`."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record)


class ConsoleLines(logging.Formatter):
    """`time level logger message key=value ...`: for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {"request_id": getattr(record, "request_id", None)}
        fields |= {k: v for k, v in vars(record).items() if k not in _NOT_FIELDS}
        pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        line = f"{_utc(record)} {record.levelname:<7} {record.name} {record.getMessage()}"
        line = f"{line} {pairs}" if pairs else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def lean_log_records() -> None:
    """Stop working out, for every record, what no line of ours shows: the caller's file,
    function and line (a walk up the stack per record), thread and process names. Python's
    logging documents these switches (HOWTO, "Optimization"). For a serving process only:
    a test's log capture prints the caller's file and line."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def logging_config(level: str = "INFO", log_format: LogFormat = "json") -> dict[str, Any]:
    """A dictConfig for the gateway and uvicorn: `log_format` lines on stderr."""
    formatters: dict[str, dict[str, Any]] = {
        "json": {
            "()": JsonLines,
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "reserved_attrs": [*RESERVED_ATTRS, "taskName", "color_message"],
        },
        "console": {"()": ConsoleLines},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # The gateway writes its own access log, one line per request, with what uvicorn's
            # cannot know (tenant, operation, upstream calls).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # httpx logs every request at INFO: URLs only, never headers, but noisy.
            "httpx": {"level": "WARNING"},
        },
    }


__all__ = [
    "ConsoleLines",
    "JsonLines",
    "LogFormat",
    "RequestIdFilter",
    "lean_log_records",
    "logging_config",
    "request_id",
]
