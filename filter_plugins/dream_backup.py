"""Filters of this repository: `backup_path_clashes`, the preflight that no two hosts write one
target path from different sources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

VARIABLES = ("minio_backup_buckets", "minio_backup_target_bucket", "minio_backup_target_prefix",
             "minio_backup_target_endpoint", "minio_backup_source_endpoint")


def _value(host_vars: Mapping, fallback: Mapping, name: str):
    if name in host_vars:
        return host_vars[name]
    return fallback.get(name, "")


def backup_path_clashes(hosts: Iterable[str], hostvars: Mapping, fallback: Mapping) -> list[str]:
    """`hosts | backup_path_clashes(hostvars, fallback)`: one line per target path that hosts with
    different sources would both write, naming the hosts, sorted by path; empty when none clash.

    A bucket's target path is ENDPOINT TARGET_BUCKET/[TARGET_PREFIX/]BUCKET; hosts may share one only
    when they back up the same source (endpoint and bucket). A variable a host does not set comes from
    `fallback` (the current host's values), since role defaults are not part of hostvars."""
    writers: dict[str, list[tuple[str, str]]] = {}
    for host in hosts:
        values = {name: _value(hostvars[host], fallback, name) for name in VARIABLES}
        for bucket in values["minio_backup_buckets"] or []:
            parts = [values["minio_backup_target_bucket"], values["minio_backup_target_prefix"], bucket]
            path = f"{values['minio_backup_target_endpoint']} {'/'.join(str(p) for p in parts if p)}"
            writers.setdefault(path, []).append((f"{values['minio_backup_source_endpoint']}/{bucket}", host))
    return [f"{path} (hosts {', '.join(host for _source, host in group)})"
            for path, group in sorted(writers.items()) if len({source for source, _host in group}) > 1]


class FilterModule:
    def filters(self):
        return {"backup_path_clashes": backup_path_clashes}
