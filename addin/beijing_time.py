"""The time the tool shows and writes (checked_at, created_at, the reports' 生成于): Beijing time, +08:00,
whatever the computer's own time zone. A fixed offset: China keeps no daylight saving time, and no
time-zone database is needed."""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")


def beijing_now() -> dt.datetime:
    return dt.datetime.now(BEIJING)


def beijing_timestamp() -> str:
    """Now in Beijing time to the second, as ISO 8601: 2026-03-01T09:30:00+08:00."""
    return beijing_now().isoformat(timespec="seconds")


def shown_time(timestamp: str) -> str:
    """An ISO 8601 time as a person reads it, in Beijing time: 2026-03-01 09:30:00（北京时间）."""
    moment = dt.datetime.fromisoformat(timestamp).astimezone(BEIJING)
    return f"{moment:%Y-%m-%d %H:%M:%S}（北京时间）"
