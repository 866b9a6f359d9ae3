#!/usr/bin/env bash
# From nothing to a running dev vault: installs what is missing, builds, and runs
# `strongroom serve --dev` (data in ./.strongroom-dev, listening on 127.0.0.1:8700).
# Arguments are passed to serve, e.g. `bash ops/dev.sh --listen 127.0.0.1:9000`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Setup chatter goes to stderr: stdout is the server's own (key, listening line).
bash "$ROOT/ops/install-deps.sh" >&2
bash "$ROOT/ops/build.sh" --target strongroom >&2
exec "$ROOT/build/app/strongroom" serve --dev "$@"
