"""minio_backup_node_exporter: the preflight's messages, and the check that the exporter, not another
program, serves its listen address (roles/minio_backup/files/node_exporter_listening.py) against real
processes and sockets of this machine. The real exporter is scraped by the Molecule `cron` scenario."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.unit.conftest import REPO
from tests.unit.roles.role_play import include_tasks, local_host, run_play

LISTENING = REPO / "roles" / "minio_backup" / "files" / "node_exporter_listening.py"

# A stand-in exporter: listens on a free loopback port, says which on stdout, and answers /metrics with
# the process_start_time_seconds given as argv[1] ("own": its own start time, computed as the exporter's
# Go runtime does, from /proc/self/stat and the boot time).
STAND_IN = r"""
import http.server, os, sys
def own():
    ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
    boot = next(int(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")
start = own() if sys.argv[1] == "own" else float(sys.argv[1])
class Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {start!r}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Metrics)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def exporter_binary(tmp_path) -> str:
    """A name of its own for the stand-in's binary: the check counts the processes that run it."""
    link = tmp_path / "prometheus-node-exporter"
    link.symlink_to(sys.executable)
    return str(link)


@pytest.fixture
def stand_in(exporter_binary):
    started = []

    def start(start_time: str) -> int:
        proc = subprocess.Popen([exporter_binary, "-c", STAND_IN, start_time], stdout=subprocess.PIPE, text=True)
        started.append(proc)
        return int(proc.stdout.readline())  # the port, printed once it listens

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def check(address: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LISTENING), address, *args], capture_output=True, text=True,
                          check=False, timeout=300)


def test_the_exporter_itself_on_its_port_passes(stand_in, exporter_binary):
    port = stand_in("own")
    proc = check(f"127.0.0.1:{port}", "--exe", exporter_binary)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{exporter_binary} (pid ")
    assert f"serves http://127.0.0.1:{port}/metrics" in proc.stdout


def test_a_program_with_the_same_binary_but_another_start_time_is_not_taken_for_the_exporter(stand_in,
                                                                                           exporter_binary):
    port = stand_in("1.0")
    proc = check(f":{port}", "--exe", exporter_binary)
    assert proc.returncode == 1
    assert f"port {port} is taken by {exporter_binary} (pid " in proc.stderr
    assert "choose another port in minio_backup_node_exporter_listen, or stop that program" in proc.stderr


def test_an_old_exporter_left_running_beside_the_new_one_is_refused(stand_in, exporter_binary):
    port = stand_in("own")
    stand_in("own")  # the old one, on a port of its own
    proc = check(f"127.0.0.1:{port}", "--exe", exporter_binary)
    assert proc.returncode == 1
    assert f"serves http://127.0.0.1:{port}/metrics, but 2 of it run (pids " in proc.stderr
    assert "an old one was not stopped" in proc.stderr


def test_a_port_held_by_a_program_that_is_no_exporter_is_named():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = check(f"127.0.0.1:{port}")
    assert proc.returncode == 1
    assert f"port {port} is taken by {sys.executable} (pid " in proc.stderr
    assert "not by this host's /usr/bin/prometheus-node-exporter" in proc.stderr


def test_nothing_listening_fails_at_the_deadline_saying_so():
    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        proc = check(f"127.0.0.1:{port}", "--timeout", "1")
    assert proc.returncode == 1
    assert f"nothing listens on port {port} 1 s after the start" in proc.stderr
    assert "Is minio_backup_node_exporter_listen an address of this host?" in proc.stderr


@pytest.mark.parametrize("address", ["9100", "host:99999", "host:port"])
def test_an_address_without_a_port_is_refused(address):
    proc = check(address)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def run_node_exporter_preflight(tmp_path, host_vars: dict) -> subprocess.CompletedProcess:
    return run_play(tmp_path, local_host(**host_vars),
                    {"gather_facts": False, "tasks": [include_tasks("minio_backup", "node_exporter_preflight.yml")]})


@pytest.mark.parametrize("metrics_file", ["", "/var/lib/prometheus/node-exporter/dream_backup.txt",
                                          "relative/dream_backup.prom", "/var/lib/x y/dream_backup.prom",
                                          '/var/lib/"$(id)"/dream_backup.prom'])
def test_preflight_wants_an_absolute_prom_file(tmp_path, metrics_file):
    proc = run_node_exporter_preflight(tmp_path, {"minio_backup_metrics_file": metrics_file})
    assert proc.returncode != 0
    assert "textfile collector, which reads only files named *.prom" in (proc.stdout + proc.stderr).replace("\n", " ")


@pytest.mark.parametrize("listen", ["9100", "0.0.0.0:0", "127.0.0.1:65536", "host:9100 --web.config.file=x",
                                    "[::1]:9100 ", "a;b:9100"])
def test_preflight_wants_host_and_port(tmp_path, listen):
    proc = run_node_exporter_preflight(tmp_path, {"minio_backup_metrics_file": "/var/lib/m/dream_backup.prom",
                                                  "minio_backup_node_exporter_listen": listen})
    assert proc.returncode != 0
    assert "minio_backup_node_exporter_listen must be HOST:PORT" in (proc.stdout + proc.stderr).replace("\n", " ")


@pytest.mark.parametrize("listen", ["127.0.0.1:9100", ":9100", "[::1]:9100", "vps1.internal:9182"])
def test_preflight_passes_good_values(tmp_path, listen):
    proc = run_node_exporter_preflight(tmp_path, {"minio_backup_metrics_file": "/var/lib/m/dream_backup.prom",
                                                  "minio_backup_node_exporter_listen": listen})
    assert proc.returncode == 0, proc.stdout + proc.stderr
