"""Keys the engine cannot read back under their own name (docs/unstorable.md): with an off-site
provider whose listings rclone does not URL-encode (here BACKUP_S3_PROVIDER=SeaweedFS, rclone's own
quirk for that server), the server's XML listing carries ESC, BEL and the other characters XML 1.0
cannot hold as U+FFFD. The bucket's other objects stay verified, the night stays green with a warning
and a metric, and a restore counts what it really copied."""

from __future__ import annotations

import json

import pytest

ESC_KEY = "esc\x1b[31mred.txt"
BEL_KEY = "dir/bell\x07.txt"
PLAIN = {"plain.txt": b"plain body", "dir/tab\tkey.txt": b"a tab is valid XML", "csi\x9bkey.txt": b"C1 is valid XML"}
UNSTORABLE = {ESC_KEY: b"escape body", BEL_KEY: b"bell body"}


def listed(key: str) -> str:
    """A key as rclone lists it: control characters as their Unicode pictures (U+2400 + code)."""
    return "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 else c for c in key)


def seeded(deploy, tmp_path, provider: str):
    d = deploy("rclone", BACKUP_S3_PROVIDER=provider, BACKUP_METRICS_FILE=str(tmp_path / "metrics.prom"))
    books = d.buckets[0]
    for key, body in {**PLAIN, **UNSTORABLE}.items():
        d.put(books, key, body)
    return d, books


def metric(tmp_path, name: str, bucket: str) -> float:
    for line in (tmp_path / "metrics.prom").read_text().splitlines():
        if line.startswith(f'{name}{{bucket="{bucket}"}} '):
            return float(line.split()[-1])
    raise AssertionError(f"{name} for {bucket} not in the metrics file")


def test_unstorable_keys_are_reported_and_the_others_stay_verified(deploy, tmp_path):
    d, books = seeded(deploy, tmp_path, "SeaweedFS")
    for night in (1, 2):  # not a red night forever: the second night is as green as the first
        run = d.run("--json")
        assert run.code == 0, (night, run.stdout, run.stderr)
        result = json.loads(run.stdout)["results"][books]
        assert result["verdict"] == "ok"
        assert result["verified"] == len(PLAIN)
        assert result["unstorable"] == len(UNSTORABLE)
        warning = [r for r in run.log if r["message"] == "Unstorable objects" and r.get("bucket") == books]
        assert len(warning) == 1 and warning[0]["level"] == "WARNING", run.log
        assert warning[0]["count"] == len(UNSTORABLE)
        assert set(warning[0]["keys"]) == {listed(key) for key in UNSTORABLE}
        assert "U+FFFD" in warning[0]["reason"] and "BACKUP_S3_PROVIDER" in warning[0]["reason"]
        completed = [r for r in run.log if r["message"] == "Completed mirror" and r["bucket"] == books]
        assert completed[0]["unstorable"] == len(UNSTORABLE)
        assert metric(tmp_path, "dream_backup_unstorable_objects", books) == len(UNSTORABLE)
        assert metric(tmp_path, "dream_backup_bucket_success", books) == 1
        assert "\x1b" not in run.stderr and "\x07" not in run.stderr
        assert f"first: {listed(BEL_KEY)}" in run.stderr, "the cron log names a key"
    # The bytes are at the target under their exact keys: only the engine's listing of them is lossy.
    for key, body in UNSTORABLE.items():
        assert d.read(books, key, side="backup") == body


def test_a_real_failure_beside_unstorable_keys_still_fails_the_bucket(deploy, tmp_path):
    d, books = seeded(deploy, tmp_path, "SeaweedFS")
    # A real rclone that silently leaves one plain object out of its copies (what a faulty engine or
    # server could do): only the target's listing can tell, and it must.
    skip = 'case "$1" in copy|sync) set -- "$@" --exclude /plain.txt;; esac\n'
    d.rclone.write_text(d.rclone.read_text().replace("exec ", skip + "exec ", 1))
    run = d.run("--json")
    assert run.code == 1, run.stdout
    result = json.loads(run.stdout)["results"][books]
    assert result["verdict"] == "failed"
    assert "1 of 5 objects not at the target" in result["reason"] and "plain.txt: missing" in result["reason"]
    assert result["unstorable"] == len(UNSTORABLE)


def test_restore_counts_what_it_copied_and_names_what_it_could_not(deploy, tmp_path):
    d, books = seeded(deploy, tmp_path, "SeaweedFS")
    assert d.run().code == 0
    restored = f"restored-{d.token}"
    run = d.run("restore", "--bucket", books, "--to-bucket", restored, "--json")
    assert run.code == 1, run.stdout  # objects were left behind: the operator must act
    result = json.loads(run.stdout)
    assert result["restored"] == len(PLAIN)
    assert result["failed"] == 0
    assert result["unstorable"] == len(UNSTORABLE)
    # The backup's listing names them with U+FFFD: that is all the engine can tell.
    assert set(result["unstorable_keys"]) == {"esc\ufffd[31mred.txt", "dir/bell\ufffd.txt"}
    assert "unstorable" in result["reason"] and "docs/unstorable.md" in result["reason"]
    for key, body in PLAIN.items():
        assert d.read(restored, key) == body
    # The way out docs/unstorable.md gives: the same restore with the mc engine, which lists URL-encoded.
    again = d.run("restore", "--bucket", books, "--to-bucket", restored, "--json", env={"BACKUP_ENGINE": "mc"})
    assert again.code == 0, again.stdout
    assert json.loads(again.stdout)["restored"] == len(UNSTORABLE)
    for key, body in {**PLAIN, **UNSTORABLE}.items():
        assert d.read(restored, key) == body
    text = d.run("restore", "--bucket", books, "--to-bucket", f"again-{d.token}")
    assert text.code == 1
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert "first: dir/bell\ufffd.txt" in text.stdout, text.stdout


@pytest.mark.parametrize("engine", ["rclone", "mc"])
def test_with_url_encoded_listings_every_key_round_trips(deploy, tmp_path, engine):
    """The default provider (Minio) lists URL-encoded, and mc always does: no key is unstorable."""
    d, books = seeded(deploy, tmp_path, "Minio")
    d.engine = engine
    d.write_env()
    run = d.run("--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["results"][books]["unstorable"] == 0
    assert metric(tmp_path, "dream_backup_unstorable_objects", books) == 0
    restored = f"restored-{d.token}"
    restore = d.run("restore", "--bucket", books, "--to-bucket", restored, "--json")
    assert restore.code == 0, restore.stdout
    assert json.loads(restore.stdout)["unstorable"] == 0
    for key, body in {**PLAIN, **UNSTORABLE}.items():
        assert d.read(restored, key) == body
