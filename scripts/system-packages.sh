#!/usr/bin/env bash
# Install the Debian packages the portal needs, if missing.
# Usage: bash scripts/system-packages.sh [--test]
#   always: CJK fonts and the Pango/HarfBuzz libraries WeasyPrint renders certificate
#           PDFs with (without libharfbuzz-subset0 each PDF takes ~40 s);
#   --test: also Chromium for the browser tests and poppler-utils (pdftotext, pdftoppm).
set -euo pipefail
PACKAGES=(fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
[ "${1:-}" = "--test" ] && PACKAGES+=(chromium poppler-utils)
command -v dpkg >/dev/null || { echo "not a Debian system: install ${PACKAGES[*]} yourself"; exit 0; }
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
