#!/usr/bin/env bash
# Installs the Debian packages the test world needs, only when one is missing: podman + runc (the
# fleet), debootstrap (its base image), rclone (an engine, used by tests on the controller too),
# chromium (opens the inspect-book HTML page headless), prometheus (only its promtool: checks and
# unit-tests monitoring/; the server the package starts is stopped and disabled again), systemd (only its
# systemd-analyze: verifies the backup's service and timer units), openssl (the drill benchmark's
# plain-tools floor hashes with it).
set -euo pipefail

missing=()
for cmd in podman:podman runc:runc debootstrap:debootstrap rclone:rclone chromium:chromium promtool:prometheus systemd-analyze:systemd openssl:openssl; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
