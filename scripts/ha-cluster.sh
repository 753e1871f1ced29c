#!/usr/bin/env bash
# A high-availability PostgreSQL for Saldo on one machine, on loopback ports only:
# three etcd members, three PostgreSQL 15 nodes under Patroni with synchronous replication
# (a commit is acknowledged only once a standby has it), HAProxy routing to the primary through
# Patroni's REST health check, and pgBackRest archiving every WAL segment.
#
#   scripts/ha-cluster.sh up        start everything (installs the Debian packages when missing)
#   scripts/ha-cluster.sh status    who is primary, replication state, the URLs to use
#   scripts/ha-cluster.sh down      stop everything (data stays; `down --purge` removes it)
#   scripts/ha-cluster.sh url       print the multi-host DATABASE_URL
#   scripts/ha-cluster.sh primary-pid   the primary's postmaster pid (for kill -9 tests)
#
# SALDO_HA_DIR: where data, configs and logs live (default /tmp/saldo-ha).
# SALDO_HA_PORT_BASE: first port (default 7400); see the port map below.
set -euo pipefail

HA_DIR="${SALDO_HA_DIR:-/tmp/saldo-ha}"
BASE="${SALDO_HA_PORT_BASE:-7400}"
PG_BIN="${SALDO_PG_BIN:-/usr/lib/postgresql/15/bin}"
NODES=(1 2 3)

# Port map, from BASE: HAProxy primary +0, HAProxy standbys +1, HAProxy stats +2,
# etcd member i client +10+2i and peer +11+2i, Patroni REST +20+i, PostgreSQL +32+i.
HAPROXY_PRIMARY_PORT=$((BASE + 0))
HAPROXY_STANDBY_PORT=$((BASE + 1))
HAPROXY_STATS_PORT=$((BASE + 2))
etcd_client_port() { echo $((BASE + 10 + 2 * ($1 - 1))); }
etcd_peer_port() { echo $((BASE + 11 + 2 * ($1 - 1))); }
rest_port() { echo $((BASE + 20 + $1 - 1)); }
pg_port() { echo $((BASE + 32 + $1 - 1)); }

# PostgreSQL refuses to run as root: as root, everything runs as the `postgres` system user.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

log() { echo "ha-cluster: $*" >&2; }

install_packages() {
  local missing=()
  command -v patroni >/dev/null || missing+=(patroni)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v pgbackrest >/dev/null || missing+=(pgbackrest)
  command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
  [[ -x "$PG_BIN/postgres" ]] || missing+=(postgresql-15)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
  fi
}

etcd_hosts() {
  local hosts=() i
  for i in "${NODES[@]}"; do hosts+=("127.0.0.1:$(etcd_client_port "$i")"); done
  (IFS=,; echo "${hosts[*]}")
}

# The URL Saldo uses: every node, and only a read-write session is accepted.
database_url() {
  local hosts=() i
  for i in "${NODES[@]}"; do hosts+=("127.0.0.1:$(pg_port "$i")"); done
  (IFS=,; echo "postgres://postgres@${hosts[*]}/${1:-saldo}?target_session_attrs=read-write&connect_timeout=2")
}

write_configs() {
  mkdir -p "$HA_DIR"/{log,backup,spool,lock}
  local i cluster=() peers
  for i in "${NODES[@]}"; do cluster+=("etcd$i=http://127.0.0.1:$(etcd_peer_port "$i")"); done
  peers=$(IFS=,; echo "${cluster[*]}")
  for i in "${NODES[@]}"; do
    mkdir -p "$HA_DIR/etcd$i"
    cat >"$HA_DIR/etcd$i.env" <<EOF
ETCD_NAME=etcd$i
ETCD_DATA_DIR=$HA_DIR/etcd$i
ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:$(etcd_client_port "$i")
ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:$(etcd_client_port "$i")
ETCD_LISTEN_PEER_URLS=http://127.0.0.1:$(etcd_peer_port "$i")
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:$(etcd_peer_port "$i")
ETCD_INITIAL_CLUSTER=$peers
ETCD_INITIAL_CLUSTER_TOKEN=saldo-ha
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_ENABLE_V2=true
EOF
  done

  # pgBackRest: one repository, every node listed so a backup finds the primary wherever it is.
  {
    echo "[global]"
    echo "repo1-path=$HA_DIR/backup"
    echo "repo1-retention-full=2"
    echo "start-fast=y"
    echo "log-path=$HA_DIR/log"
    echo "lock-path=$HA_DIR/lock"
    echo "spool-path=$HA_DIR/spool"
    echo "log-level-console=warn"
    echo "log-level-file=info"
    echo
    echo "[saldo]"
    for i in "${NODES[@]}"; do
      echo "pg$i-path=$HA_DIR/node$i/data"
      echo "pg$i-port=$(pg_port "$i")"
      echo "pg$i-socket-path=$HA_DIR/node$i"
    done
  } >"$HA_DIR/pgbackrest.conf"

  for i in "${NODES[@]}"; do
    mkdir -p "$HA_DIR/node$i"
    cat >"$HA_DIR/node$i/patroni.yml" <<EOF
scope: saldo
namespace: /saldo-ha/
name: node$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(rest_port "$i")
  connect_address: 127.0.0.1:$(rest_port "$i")
etcd3:
  hosts: $(etcd_hosts)
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    # A commit returns only once the synchronous standby has it, and never falls back to
    # asynchronous: losing the primary loses no acknowledged commit.
    synchronous_mode: true
    synchronous_mode_strict: true
    # A crashed primary is failed over at once rather than restarted in place.
    master_start_timeout: 0
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_connections: 100
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        synchronous_commit: "on"
        archive_mode: "on"
        archive_timeout: 60
  initdb:
    - encoding: UTF8
    - data-checksums
    - auth: trust
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$(pg_port "$i")
  connect_address: 127.0.0.1:$(pg_port "$i")
  data_dir: $HA_DIR/node$i/data
  bin_dir: $PG_BIN
  pgpass: $HA_DIR/node$i/pgpass
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: $HA_DIR/node$i
    # Each node archives its own WAL (the path PostgreSQL gives is relative to its data dir).
    archive_command: pgbackrest --config=$HA_DIR/pgbackrest.conf --stanza=saldo --pg1-path=$HA_DIR/node$i/data archive-push %p
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
  done

  {
    cat <<EOF
global
  maxconn 400
  log stdout format raw local0 warning
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
# Read-write: only the node whose Patroni says it is the primary.
listen primary
  bind 127.0.0.1:$HAPROXY_PRIMARY_PORT
  option httpchk OPTIONS /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
EOF
    for i in "${NODES[@]}"; do
      echo "  server node$i 127.0.0.1:$(pg_port "$i") maxconn 100 check port $(rest_port "$i")"
    done
    cat <<EOF
# Read-only: the streaming standbys.
listen standbys
  bind 127.0.0.1:$HAPROXY_STANDBY_PORT
  balance roundrobin
  option httpchk OPTIONS /replica
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
EOF
    for i in "${NODES[@]}"; do
      echo "  server node$i 127.0.0.1:$(pg_port "$i") maxconn 100 check port $(rest_port "$i")"
    done
    cat <<EOF
listen stats
  mode http
  bind 127.0.0.1:$HAPROXY_STATS_PORT
  stats enable
  stats uri /
EOF
  } >"$HA_DIR/haproxy.cfg"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_etcd() {
  local i
  for i in "${NODES[@]}"; do
    pid_alive "$HA_DIR/etcd$i.pid" && continue
    # Only the very first start forms a new cluster.
    if [[ -d $HA_DIR/etcd$i/member ]]; then
      sed -i 's/^ETCD_INITIAL_CLUSTER_STATE=new/ETCD_INITIAL_CLUSTER_STATE=existing/' "$HA_DIR/etcd$i.env"
    fi
    (set -a; . "$HA_DIR/etcd$i.env"; set +a; exec setsid etcd >"$HA_DIR/log/etcd$i.log" 2>&1) &
    echo $! >"$HA_DIR/etcd$i.pid"
  done
  local tries=0
  until ETCDCTL_API=3 etcdctl --endpoints="$(etcd_hosts)" endpoint health >/dev/null 2>&1; do
    ((++tries > 60)) && { log "etcd did not become healthy"; exit 1; }
    sleep 0.5
  done
}

start_patroni() {
  local i
  chown -R postgres:postgres "$HA_DIR" 2>/dev/null || true
  for i in "${NODES[@]}"; do
    pid_alive "$HA_DIR/node$i/patroni.pid" && continue
    # The shell writes its own pid and becomes Patroni (exec), so the pid file names Patroni
    # itself, not runuser: `down` stops it by that pid.
    as_pg setsid sh -c 'echo $$ >"$1"; exec patroni "$2"' sh "$HA_DIR/node$i/patroni.pid" \
      "$HA_DIR/node$i/patroni.yml" >>"$HA_DIR/log/patroni$i.log" 2>&1 &
    # The first node bootstraps alone, so it is the first primary.
    if [[ $i == 1 ]]; then wait_primary 120; fi
  done
}

start_haproxy() {
  pid_alive "$HA_DIR/haproxy.pid" && return 0
  haproxy -f "$HA_DIR/haproxy.cfg" -D -p "$HA_DIR/haproxy.pid" >>"$HA_DIR/log/haproxy.log" 2>&1
}

# The node whose Patroni REST says 200 to /primary, or nothing.
primary_node() {
  local i
  for i in "${NODES[@]}"; do
    if curl -sf -o /dev/null -m 1 "http://127.0.0.1:$(rest_port "$i")/primary"; then
      echo "$i"
      return 0
    fi
  done
  return 1
}

wait_primary() {
  local limit_s=$1 start=$SECONDS
  until primary_node >/dev/null; do
    ((SECONDS - start > limit_s)) && { log "no primary after ${limit_s}s"; return 1; }
    sleep 0.5
  done
}

# Every node streaming, one of them synchronous.
wait_healthy() {
  local limit_s=$1 start=$SECONDS
  while :; do
    local p
    if p=$(primary_node); then
      local rows
      rows=$(psql_node "$p" -Atc "select count(*) filter (where state = 'streaming'), count(*) filter (where sync_state = 'sync') from pg_stat_replication" 2>/dev/null || true)
      [[ $rows == "$(( ${#NODES[@]} - 1 ))|1" ]] && return 0
    fi
    ((SECONDS - start > limit_s)) && { log "cluster not healthy after ${limit_s}s"; return 1; }
    sleep 0.5
  done
}

psql_node() {
  local i=$1
  shift
  PGCONNECT_TIMEOUT=2 psql -X -h 127.0.0.1 -p "$(pg_port "$i")" -U postgres -d postgres "$@"
}

cmd_up() {
  install_packages
  write_configs
  start_etcd
  start_patroni
  wait_healthy 180
  start_haproxy
  local p
  p=$(primary_node)
  if ! psql_node "$p" -Atc "select 1 from pg_database where datname = 'saldo'" | grep -q 1; then
    psql_node "$p" -qc "create database saldo"
  fi
  # The backup stanza (once), then every WAL segment goes to the repository.
  if [[ ! -d $HA_DIR/backup/backup/saldo ]]; then
    as_pg pgbackrest --config="$HA_DIR/pgbackrest.conf" --stanza=saldo stanza-create >&2
  fi
  cmd_status
}

cmd_status() {
  local p i
  for i in "${NODES[@]}"; do
    local role
    role=$(curl -s -m 1 "http://127.0.0.1:$(rest_port "$i")/patroni" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("role","?"), d.get("state","?"), "timeline", d.get("timeline","?"))' 2>/dev/null || echo "down")
    echo "node$i  127.0.0.1:$(pg_port "$i")  $role"
  done
  if p=$(primary_node); then
    echo "primary: node$p (postmaster pid $(primary_pid))"
    psql_node "$p" -Atc "select 'standby ' || application_name || ' ' || state || ' ' || sync_state from pg_stat_replication order by 1"
  else
    echo "primary: none"
  fi
  echo "DATABASE_URL=$(database_url)"
  echo "through HAProxy: postgres://postgres@127.0.0.1:$HAPROXY_PRIMARY_PORT/saldo (standbys on :$HAPROXY_STANDBY_PORT)"
}

primary_pid() {
  local p
  p=$(primary_node) || return 1
  head -1 "$HA_DIR/node$p/data/postmaster.pid"
}

cmd_down() {
  local i
  if pid_alive "$HA_DIR/haproxy.pid"; then kill "$(cat "$HA_DIR/haproxy.pid")"; fi
  for i in "${NODES[@]}"; do
    if pid_alive "$HA_DIR/node$i/patroni.pid"; then kill "$(cat "$HA_DIR/node$i/patroni.pid")"; fi
  done
  for i in "${NODES[@]}"; do
    local tries=0
    while pid_alive "$HA_DIR/node$i/patroni.pid" && ((tries++ < 60)); do sleep 0.5; done
    if [[ -f $HA_DIR/node$i/data/postmaster.pid ]]; then
      as_pg "$PG_BIN/pg_ctl" -D "$HA_DIR/node$i/data" -m fast stop >/dev/null 2>&1 || true
    fi
  done
  for i in "${NODES[@]}"; do
    if pid_alive "$HA_DIR/etcd$i.pid"; then kill "$(cat "$HA_DIR/etcd$i.pid")"; fi
  done
  if [[ ${1:-} == --purge ]]; then
    rm -rf "$HA_DIR"
    log "stopped and removed $HA_DIR"
  else
    log "stopped (data kept in $HA_DIR)"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  url) database_url "${2:-saldo}" ;;
  primary-node) primary_node ;;
  primary-pid) primary_pid ;;
  wait-healthy) wait_healthy "${2:-120}" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
