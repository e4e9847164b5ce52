#!/usr/bin/env bash
# System packages the project needs: WeasyPrint (PDF export) uses Pango (text layout) and a
# font; the browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright.
# Installs them with apt-get when they are missing and we may (root on Debian/Ubuntu);
# otherwise says what to install.
set -euo pipefail
missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset' || missing+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi 'dejavu' || missing+=(fonts-dejavu-core)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
fi
