#!/usr/bin/env bash
# What the test suite needs from the system, installed with apt when missing:
#   postgresql  the server binaries; tests/pgserver.py starts a throwaway cluster from them.
#   chromium, chromium-driver  the browser the end-to-end tests drive with Playwright.
# Runs as root (CI) or with sudo; prints what to do otherwise.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "The tests need: ${missing[*]}. Install them (apt-get install ${missing[*]}) as root, then run make test again." >&2
    exit 1
fi
echo "Installing for the tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
