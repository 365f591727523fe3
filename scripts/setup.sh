#!/usr/bin/env bash
# Installs the system packages Beginnings' tests use that a fresh machine may lack:
# Chromium, for the real-browser CORS check. Needs root (or sudo) and Debian's packages.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
