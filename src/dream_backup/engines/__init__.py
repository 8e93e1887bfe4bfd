"""Engines: one interface (base.Engine), one small adapter per binary."""

from __future__ import annotations

from dream_backup.engines.base import Engine


def make_engine(config, scrub) -> Engine:
    if config.engine == "rclone":
        from dream_backup.engines.rclone import RcloneEngine  # noqa: PLC0415 - only the engine in use

        return RcloneEngine(config, scrub)
    from dream_backup.engines.mc import McEngine  # noqa: PLC0415

    return McEngine(config, scrub)
