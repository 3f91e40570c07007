#!/usr/bin/env bash
# Installs the Debian tools the tests drive (redis-cli, nc, ip, iptables, tc, openssl) when
# they are missing. Runs before `npm test`; a no-op on a machine that has them.
set -euo pipefail
need=()
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v ip >/dev/null || need+=(iproute2)
command -v iptables >/dev/null || need+=(iptables)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test/install-deps.sh: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "test/install-deps.sh: installed ${need[*]}"
