#!/usr/bin/env bash
# make demo / make demo-down: the backup system on a local fleet (two containers, three S3 servers).
# Everything it creates lives in .cache/demo (ignored by git) or is a container named dcs-demo-*.
set -euo pipefail
cd "$(dirname "$0")/../.."

state=.cache/demo
hosts=(dcs-demo-vps1 dcs-demo-vps2)
export DCS_S3_STATE=$PWD/$state/s3
py=.venv/bin/python

up() {
    mkdir -p "$state"
    $py -m tests.support.s3world start --state "$DCS_S3_STATE" --names primary1,primary2,offsite
    $py -m tests.support.seed --state "$DCS_S3_STATE" --sources primary1,primary2 \
        --target offsite --target-bucket dream-central-storage-backups
    for host in "${hosts[@]}"; do
        if ! podman container exists "$host"; then
            podman run -d --name "$host" --hostname "$host" --network host "$DCS_IMAGE" sleep infinity >/dev/null
        fi
        podman start "$host" >/dev/null
    done
    .venv/bin/ansible-playbook playbooks/site.yml
    .venv/bin/ansible-playbook playbooks/backup.yml
    .venv/bin/ansible-playbook playbooks/restore-drill.yml -e minio_restore_drill_samples=3
    echo
    echo "S3 servers (state in $state/s3):"
    $py -m tests.support.s3world status --state "$DCS_S3_STATE"
    $py -m tests.support.demo_summary "${hosts[@]}"
    echo
    echo "Stop everything with: make demo-down"
}

down() {
    for host in "${hosts[@]}"; do
        podman rm -f -t 0 "$host" >/dev/null 2>&1 || true
    done
    if [ -d "$DCS_S3_STATE" ]; then
        $py -m tests.support.s3world stop --state "$DCS_S3_STATE"
    fi
    rm -rf "$state"
    echo "demo stopped and removed"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac
