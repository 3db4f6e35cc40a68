#!/usr/bin/env bash
# Install the Debian packages mig needs to build (and, with --test, to run
# its tests: database servers and clients). Only what is missing is
# installed, so a second run costs nothing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libsqlite3-dev sqlite3 libpq-dev
      default-libmysqlclient-dev liblua5.4-dev libinih-dev libjansson-dev
      libssl-dev libpg-query-dev)
case "${1:-}" in
# --test: everything a test needs to run rather than skip (tests/skips.allowed):
# the lua5.4 interpreter (cli_sqlformat), groff (cli_manpage), zsh (the
# completion run in cli_manpage), dpkg-dev (dpkg-shlibdeps, package_deb),
# python3-jsonschema (tests/cli/json_valid.py), time (peak memory checks),
# bsdutils (script(1): a terminal for the live-line tests), libxml2-utils
# (xmllint: mig test --junit against tests/junit.xsd), jq (tx_stairway),
# clang-format (make format-check, which CI runs)
--test) pkgs+=(libcunit1-dev postgresql postgresql-client mariadb-server mariadb-client
               lua5.4 groff-base zsh dpkg-dev python3-jsonschema time bsdutils
               libxml2-utils jq clang-format) ;;
--fuzz) pkgs+=(libcunit1-dev clang libclang-rt-14-dev) ;;   # make fuzz only
--lint) pkgs+=(libcunit1-dev cppcheck clang-tidy) ;;        # make lint only
esac

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
