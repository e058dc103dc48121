#!/usr/bin/env bash
# Checks the deployment files with the tools that read them: `docker-compose config` for the compose
# file and `nginx -t` (Debian's nginx) for deploy/nginx.conf. Installs them with apt when missing
# (CI runs as root). No Docker engine is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

install() {
  [ "$(id -u)" = 0 ] || { echo "check-deploy: $1 is missing (install the Debian package $2)" >&2; exit 1; }
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }
}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || install nginx nginx-light
command -v docker-compose >/dev/null || install docker-compose docker-compose
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "docker-compose config:"
JWT_SECRET=check-deploy-secret-0123456789abcdef docker-compose -f docker-compose.yml config --quiet
JWT_SECRET=check-deploy-secret-0123456789abcdef docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' '
echo

# nginx resolves its upstream hosts when it loads the file; on the compose network app1 and app2
# exist. Here they are given addresses in a private mount namespace's /etc/hosts, so the check
# reads the committed file unchanged.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{ cat /etc/hosts; echo "127.0.0.2 app1"; echo "127.0.0.3 app2"; } > "$work/hosts"
mkdir -p "$work/logs"
echo "nginx -t:"
unshare --mount bash -c "mount --bind '$work/hosts' /etc/hosts && '$NGINX' -t -q -p '$work/' -c '$PWD/deploy/nginx.conf' -g 'pid $work/nginx.pid; error_log $work/logs/error.log;'"
echo "deployment files are valid"
