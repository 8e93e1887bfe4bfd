#!/usr/bin/env bash
# Builds the base image of the test fleet: a minimal Debian 12 "VPS" (python3, cron, logrotate,
# ca-certificates, procps, sudo, and systemd with dbus so a scenario can boot it as PID 1 like a real
# VPS; the others run `sleep infinity`), made with debootstrap and imported into podman. Cached: does nothing when
# the image exists already. Usage: build_image.sh [IMAGE]   (default localhost/dcs-vps:bookworm)
set -euo pipefail

image=${1:-localhost/dcs-vps:bookworm}
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}

if podman image exists "$image"; then
    echo "image $image present, not rebuilt"
    exit 0
fi

# The mirror is whatever apt on this machine already uses; nothing is hard-coded here.
mirror=$(
    { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true
      grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' || true
    } | grep -v -- '-security' | head -n 1 || true
)
if [ -z "$mirror" ]; then
    echo "build_image: no Debian mirror found in apt's sources" >&2
    exit 2
fi

work=$(mktemp -d /var/tmp/dcs-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase \
    --include=python3,sudo,cron,logrotate,ca-certificates,procps,systemd,systemd-sysv,dbus \
    bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# apt inside the containers must use the same mirror and the security suite, like a real VPS.
if cp /etc/apt/sources.list.d/debian.sources "$work/rootfs/etc/apt/sources.list.d/" 2>/dev/null; then
    rm -f "$work/rootfs/etc/apt/sources.list"
fi
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | podman import --change 'CMD ["sleep", "infinity"]' - "$image" >/dev/null
echo "image $image built"
