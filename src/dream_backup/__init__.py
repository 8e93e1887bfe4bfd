"""dream-backup: mirrors MinIO buckets to an off-site S3 bucket, verifies the copy, and proves it with
restore drills. Runs on the VPS's python3 (3.11+) with the standard library only; talks to S3 only
through an engine binary (mc or rclone)."""

VERSION = "1.0.0"
