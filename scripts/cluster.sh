#!/usr/bin/env bash
# A local scale-out cluster on one machine, without systemd: everything lives in one directory and
# is stopped by pid. See docs/scale-out.md.
#
#   ClickHouse 18.16 (Debian clickhouse-server): 2 shards x 2 replicas = ch-s1-r1 ch-s1-r2 ch-s2-r1 ch-s2-r2,
#                    cluster `steward` (internal_replication), macros {shard} {replica}, distributed DDL
#   ZooKeeper 3.8 (Debian zookeeper): one standalone server (zk) for ClickHouse replication
#   PostgreSQL 15: pg-primary and pg-standby (streaming, synchronous, synchronous_commit = remote_apply)
#
# Usage:
#   scripts/cluster.sh up   [--dir DIR] [--base-port P]       default DIR: mktemp -d; default P: 19000
#   scripts/cluster.sh down [--dir DIR]
#   scripts/cluster.sh status [--dir DIR]
#   scripts/cluster.sh stop-node NAME [--dir DIR] [--kill]
#   scripts/cluster.sh start-node NAME [--dir DIR]
# Without --dir, down/status/stop-node/start-node use $STEWARD_CLUSTER_DIR (set by sourcing
# DIR/cluster.env).
#
# Ports, from the base port P (all on 127.0.0.1):
#   ch node i (0..3, in the order above): tcp P+10i, http P+10i+1, interserver P+10i+2
#   zk client P+40; pg-primary P+50; pg-standby P+51
#
# Local-test settings, not for production: PostgreSQL trusts every connection from 127.0.0.1
# (initdb --auth=trust), ClickHouse's `default` user has no password (127.0.0.1 and ::1 only).
set -euo pipefail

CH_NODES=(ch-s1-r1 ch-s1-r2 ch-s2-r1 ch-s2-r2)
ALL_NODES=(zk pg-primary pg-standby "${CH_NODES[@]}")
PGBIN=/usr/lib/postgresql/15/bin
CLICKHOUSE=/usr/sbin/clickhouse-server   # Debian splits the binary: no /usr/bin/clickhouse
ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
STOP_TIMEOUT=${STEWARD_CLUSTER_STOP_TIMEOUT:-20}   # seconds between the polite signal and SIGKILL
UP_TIMEOUT=${STEWARD_CLUSTER_UP_TIMEOUT:-90}       # seconds a server may take to answer

say() { echo "cluster: $*"; }
die() { echo "cluster: error: $*" >&2; exit 1; }

usage() {
  sed -n '11,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- arguments
[ $# -ge 1 ] || usage
CMD=$1; shift
NODE=""
DIR=""
BASE_PORT=""
KILL=0
case "$CMD" in
  stop-node|start-node) [ $# -ge 1 ] || usage; NODE=$1; shift ;;
  up|down|status) ;;
  -h|--help|help) usage ;;
  *) echo "cluster: unknown command '$CMD'" >&2; usage ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#--dir=}; shift ;;
    --base-port) [ $# -ge 2 ] || usage; BASE_PORT=$2; shift 2 ;;
    --base-port=*) BASE_PORT=${1#--base-port=}; shift ;;
    --kill) KILL=1; shift ;;
    *) echo "cluster: unknown argument '$1'" >&2; usage ;;
  esac
done
if [ -n "$NODE" ]; then
  ok=0; for n in "${ALL_NODES[@]}"; do [ "$n" = "$NODE" ] && ok=1; done
  [ $ok = 1 ] || die "unknown node '$NODE' (one of: ${ALL_NODES[*]})"
fi
[ "$KILL" = 0 ] || [ "$CMD" = stop-node ] || die "--kill only goes with stop-node"
[ -z "$BASE_PORT" ] || [ "$CMD" = up ] || die "--base-port only goes with up"

MADE_DIR=0
if [ -z "$DIR" ]; then
  if [ "$CMD" = up ]; then
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/steward-cluster.XXXXXX")
    MADE_DIR=1
  elif [ -n "${STEWARD_CLUSTER_DIR:-}" ]; then
    DIR=$STEWARD_CLUSTER_DIR
  else
    die "no --dir and no STEWARD_CLUSTER_DIR"
  fi
fi
if [ "$CMD" != up ]; then
  [ -f "$DIR/cluster.conf" ] || die "$DIR holds no cluster (no cluster.conf)"
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# ---------------------------------------------------------------- layout and ports
if [ -f "$DIR/cluster.conf" ]; then
  # shellcheck disable=SC1091
  saved_port=$(. "$DIR/cluster.conf"; echo "$BASE_PORT")
  if [ -n "$BASE_PORT" ] && [ "$BASE_PORT" != "$saved_port" ]; then
    die "$DIR was set up with --base-port $saved_port, not $BASE_PORT"
  fi
  BASE_PORT=$saved_port
fi
BASE_PORT=${BASE_PORT:-19000}
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] && [ "$BASE_PORT" -ge 1024 ] && [ "$BASE_PORT" -le 65480 ] \
  || die "--base-port must be a number in 1024..65480"

ch_index() { local i; for i in 0 1 2 3; do [ "${CH_NODES[$i]}" = "$1" ] && { echo $i; return; }; done; }
ch_tcp()  { echo $((BASE_PORT + 10 * $(ch_index "$1"))); }
ch_http() { echo $((BASE_PORT + 10 * $(ch_index "$1") + 1)); }
ch_inter(){ echo $((BASE_PORT + 10 * $(ch_index "$1") + 2)); }
ZK_PORT=$((BASE_PORT + 40))
PG_PRIMARY_PORT=$((BASE_PORT + 50))
PG_STANDBY_PORT=$((BASE_PORT + 51))
PG_STANDBY_NAME=pg_standby   # application_name of the standby, named in synchronous_standby_names

pg_datadir() { case "$1" in pg-primary) echo "$DIR/pg/primary" ;; pg-standby) echo "$DIR/pg/standby" ;; esac; }
pg_port() { case "$1" in pg-primary) echo "$PG_PRIMARY_PORT" ;; pg-standby) echo "$PG_STANDBY_PORT" ;; esac; }
node_log() {
  case "$1" in
    zk) echo "$DIR/zk/zk.log" ;;
    pg-*) echo "$DIR/pg/$1.log" ;;
    ch-*) echo "$DIR/$1/log/clickhouse-server.log" ;;
  esac
}

# PostgreSQL refuses to run as root: as root, its commands run as the postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- pids
node_pid() {
  local f
  case "$1" in
    pg-*) f="$(pg_datadir "$1")/postmaster.pid" ;;
    *) f="$DIR/$1/pid" ;;
  esac
  [ -r "$f" ] || return 1
  local pid; pid=$(head -n1 "$f" 2>/dev/null | tr -dc 0-9)
  [ -n "$pid" ] || return 1
  # Only a live process that is the server we started (guards against pid reuse).
  [ -r "/proc/$pid/cmdline" ] || return 1
  local cmdline; cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  case "$1" in
    pg-*) [[ "$cmdline" == *postgres* ]] || return 1 ;;
    zk) [[ "$cmdline" == *ZooKeeperServerMain* && "$cmdline" == *"$DIR/zk/"* ]] || return 1 ;;
    ch-*) [[ "$cmdline" == *clickhouse* && "$cmdline" == *"$DIR/$1/"* ]] || return 1 ;;
  esac
  # A zombie is no server.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  echo "$pid"
}
node_running() { node_pid "$1" >/dev/null; }

# ---------------------------------------------------------------- health checks
ch_query() {  # node sql -> stdout
  curl -sS --max-time 10 --fail-with-body "http://127.0.0.1:$(ch_http "$1")/" --data-binary "$2"
}
zk_ruok() {
  local r
  r=$( (exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && echo ruok >&3 && timeout 2 cat <&3) 2>/dev/null) || true
  [ "$r" = imok ]
}
node_healthy() {
  case "$1" in
    zk) zk_ruok ;;
    ch-*) [ "$(curl -s --max-time 2 "http://127.0.0.1:$(ch_http "$1")/?query=SELECT%201" 2>/dev/null)" = 1 ] ;;
    pg-*) "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(pg_port "$1")" -t 2 ;;
  esac
}
standby_sync_state() {
  "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -d postgres -c \
    "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$PG_STANDBY_NAME'" 2>/dev/null || true
}

fail_node() {  # node message
  echo "cluster: error: $1: $2" >&2
  local log; log=$(node_log "$1")
  for f in "$log" "${log%.log}.err.log" "$DIR/$1/stdout.log"; do
    if [ -s "$f" ]; then
      echo "---- last lines of $f" >&2
      tail -n 30 "$f" >&2
    fi
  done
  echo "cluster: the cluster in $DIR is partly up; stop it with: $0 down --dir $DIR" >&2
  exit 1
}

wait_healthy() {  # node
  local start=$SECONDS
  while ! node_healthy "$1"; do
    node_running "$1" || fail_node "$1" "the server exited before it answered"
    [ $((SECONDS - start)) -lt "$UP_TIMEOUT" ] || fail_node "$1" "no answer after ${UP_TIMEOUT}s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- configuration (written once, by up)
write_zk_config() {
  mkdir -p "$DIR/zk/data"
  cat > "$DIR/zk/zoo.cfg" <<EOF
# ZooKeeper standalone server of the local Steward cluster (scripts/cluster.sh).
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$DIR/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=200
# no Jetty admin server (it would take port 8080)
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,srvr,mntr
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  cat > "$DIR/zk/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

write_ch_config() {  # node
  local node=$1 shard replica d=$DIR/$1
  shard=${node#ch-s}; shard=${shard%%-*}
  replica=${node##*-}
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas" "$d/log"
  {
    cat <<EOF
<?xml version="1.0"?>
<!-- ClickHouse node $node of the local Steward cluster (scripts/cluster.sh). -->
<yandex>
    <logger>
        <level>information</level>
        <log>$d/log/clickhouse-server.log</log>
        <errorlog>$d/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$(ch_tcp "$node")</tcp_port>
    <http_port>$(ch_http "$node")</http_port>
    <interserver_http_port>$(ch_inter "$node")</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>32</max_concurrent_queries>
    <!-- modest caches: four servers share one machine -->
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <remote_servers>
        <steward>
EOF
    local s r n
    for s in 1 2; do
      echo "            <shard>"
      echo "                <internal_replication>true</internal_replication>"
      for r in 1 2; do
        n=ch-s$s-r$r
        echo "                <replica><host>127.0.0.1</host><port>$(ch_tcp "$n")</port></replica>"
      done
      echo "            </shard>"
    done
    cat <<EOF
        </steward>
    </remote_servers>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$ZK_PORT</port></node>
        <session_timeout_ms>6000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>$shard</shard>
        <replica>$replica</replica>
    </macros>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
</yandex>
EOF
  } > "$d/config.xml"
  cat > "$d/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Local-test users: `default` without a password, reachable from the loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <max_bytes_before_external_group_by>1000000000</max_bytes_before_external_group_by>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>in_order</load_balancing>
            <background_pool_size>4</background_pool_size>
            <background_schedule_pool_size>4</background_schedule_pool_size>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

write_pg_primary() {
  local d=$DIR/pg/primary
  as_pg "$PGBIN/initdb" -D "$d" -U postgres --auth=trust -E UTF8 --locale=C >"$DIR/pg/initdb.log" 2>&1 \
    || { tail -n 30 "$DIR/pg/initdb.log" >&2; die "initdb failed"; }
  # initdb's pg_hba.conf with --auth=trust: local, 127.0.0.1/32 and ::1/128, replication included.
  as_pg tee -a "$d/postgresql.conf" >/dev/null <<EOF

# ---- local Steward cluster (scripts/cluster.sh); local-test settings
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = ''
max_connections = 100
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 64MB
hot_standby = on
synchronous_standby_names = '$PG_STANDBY_NAME'
synchronous_commit = remote_apply
logging_collector = off
EOF
}

write_pg_standby() {
  local d=$DIR/pg/standby
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -D "$d" -R -X stream \
    -c fast >"$DIR/pg/basebackup.log" 2>&1 || { tail -n 30 "$DIR/pg/basebackup.log" >&2; die "pg_basebackup failed"; }
  # -R wrote standby.signal and a primary_conninfo; later lines of postgresql.auto.conf win.
  as_pg tee -a "$d/postgresql.auto.conf" >/dev/null <<EOF
# ---- standby of the local Steward cluster (scripts/cluster.sh)
port = $PG_STANDBY_PORT
primary_conninfo = 'host=127.0.0.1 port=$PG_PRIMARY_PORT user=postgres application_name=$PG_STANDBY_NAME'
synchronous_standby_names = ''
EOF
}

write_env() {
  local ports="" n
  for n in "${CH_NODES[@]}"; do ports="$ports $(ch_http "$n")"; done
  cat > "$DIR/cluster.env" <<EOF
# The local Steward cluster (scripts/cluster.sh). Source it: . $DIR/cluster.env
STEWARD_CLUSTER_DIR=$DIR
STEWARD_CONTROL_URL=postgres://postgres@127.0.0.1:$PG_PRIMARY_PORT/steward
STEWARD_CONTROL_STANDBY_URL=postgres://postgres@127.0.0.1:$PG_STANDBY_PORT/steward
STEWARD_EVENTS_URL=clickhouse://127.0.0.1:$(ch_http ch-s1-r1)/steward?cluster=steward
STEWARD_CH_HTTP_PORTS="${ports# }"
STEWARD_CH_TCP_PORTS="$(for n in "${CH_NODES[@]}"; do printf '%s ' "$(ch_tcp "$n")"; done | sed 's/ $//')"
STEWARD_PG_PRIMARY_PORT=$PG_PRIMARY_PORT
STEWARD_PG_STANDBY_PORT=$PG_STANDBY_PORT
STEWARD_ZK_PORT=$ZK_PORT
export STEWARD_CLUSTER_DIR STEWARD_CONTROL_URL STEWARD_CONTROL_STANDBY_URL STEWARD_EVENTS_URL STEWARD_CH_HTTP_PORTS STEWARD_CH_TCP_PORTS STEWARD_PG_PRIMARY_PORT STEWARD_PG_STANDBY_PORT STEWARD_ZK_PORT
EOF
}

# ---------------------------------------------------------------- start / stop one node (no waiting)
launch_node() {  # node: starts it in the background; the caller waits with wait_healthy
  local node=$1
  node_running "$node" && return 0
  case "$node" in
    zk)
      # The process writes its own pid before exec-ing java; setsid keeps it out of the caller's
      # process group (a Ctrl-C on `up` does not reach it).
      setsid bash -c 'echo $$ > "$1/zk/pid"; exec java -Xms32m -Xmx256m -XX:+UseSerialGC \
          -Dzookeeper.log.dir="$1/zk" -cp "$1/zk/:$2" \
          org.apache.zookeeper.server.ZooKeeperServerMain "$1/zk/zoo.cfg"' _ "$DIR" "$ZK_CP" \
        </dev/null >>"$DIR/zk/zk.log" 2>&1 &
      ;;
    ch-*)
      setsid bash -c 'echo $$ > "$1/pid"; exec "$2" --config-file="$1/config.xml"' _ "$DIR/$node" "$CLICKHOUSE" \
        </dev/null >>"$DIR/$node/stdout.log" 2>&1 &
      ;;
    pg-*)
      # pg_ctl returns once the postmaster is forked; its pid is in postmaster.pid.
      as_pg "$PGBIN/pg_ctl" -D "$(pg_datadir "$node")" -l "$(node_log "$node")" -W start >/dev/null \
        || fail_node "$node" "pg_ctl start failed"
      ;;
  esac
  # wait until the pid file names a live process
  local i
  for i in $(seq 100); do
    node_running "$node" && return 0
    sleep 0.1
  done
  fail_node "$node" "did not start"
}

stop_node() {  # node kill(0|1)
  local node=$1 hard=$2 pid sig
  pid=$(node_pid "$node") || { say "$node is not running"; return 0; }
  if [ "$hard" = 1 ]; then sig=KILL
  elif [[ "$node" == pg-* ]]; then sig=INT   # PostgreSQL's fast shutdown (TERM would wait for clients)
  else sig=TERM; fi
  local children; children=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ') || true
  kill -s "$sig" "$pid" 2>/dev/null || true
  local start=$SECONDS
  while kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
    if [ $((SECONDS - start)) -ge "$STOP_TIMEOUT" ] && [ "$sig" != KILL ]; then
      say "$node (pid $pid) still running after ${STOP_TIMEOUT}s; SIGKILL"
      sig=KILL; kill -s KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
  # A killed postmaster leaves its children (they exit on their own once they notice the
  # postmaster is gone); wait for them so that `down` leaves nothing behind.
  local c
  for c in $children; do
    start=$SECONDS
    while kill -0 "$c" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$c/stat" 2>/dev/null)" != Z ]; do
      if [ $((SECONDS - start)) -ge 10 ]; then kill -s KILL "$c" 2>/dev/null || true; fi
      sleep 0.1
    done
  done
  say "$node stopped (pid $pid, SIG$sig)"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  local t0=$EPOCHREALTIME
  local all_up=1 n
  if [ -f "$DIR/cluster.conf" ]; then
    for n in "${ALL_NODES[@]}"; do node_running "$n" || all_up=0; done
    if [ $all_up = 1 ]; then
      say "already up in $DIR"
      echo "source $DIR/cluster.env"
      exit 0
    fi
    say "restarting the stopped nodes of $DIR"
  else
    [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty and holds no cluster"
    [ -x "$CLICKHOUSE" ] || die "$CLICKHOUSE missing (apt-get install clickhouse-server clickhouse-client; scripts/install-deps.sh)"
    [ -x "$PGBIN/postgres" ] || die "$PGBIN/postgres missing (apt-get install postgresql-15)"
    [ -r /usr/share/java/zookeeper.jar ] || die "/usr/share/java/zookeeper.jar missing (apt-get install zookeeper)"
    command -v java >/dev/null || die "java missing (comes with the zookeeper package)"
    command -v curl >/dev/null || die "curl missing"
    # every port free?
    local p ports=("$ZK_PORT" "$PG_PRIMARY_PORT" "$PG_STANDBY_PORT")
    for n in "${CH_NODES[@]}"; do ports+=("$(ch_tcp "$n")" "$(ch_http "$n")" "$(ch_inter "$n")"); done
    for p in "${ports[@]}"; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        [ "$MADE_DIR" = 0 ] || rmdir "$DIR"
        die "port $p on 127.0.0.1 is taken (choose another --base-port)"
      fi
    done
    say "setting up in $DIR (base port $BASE_PORT)"
    echo "BASE_PORT=$BASE_PORT" > "$DIR/cluster.conf"
    write_zk_config
    for n in "${CH_NODES[@]}"; do write_ch_config "$n"; done
    mkdir -p "$DIR/pg"
    if [ "$(id -u)" -eq 0 ]; then
      # PostgreSQL runs as postgres: it must reach DIR and own DIR/pg.
      chmod a+x "$DIR"
      chown postgres: "$DIR/pg"
      as_pg test -w "$DIR/pg" || die "the postgres user cannot reach $DIR/pg (a parent directory closed to it?)"
    fi
    write_env
  fi

  # ZooKeeper and the PostgreSQL primary first, then the ClickHouse nodes (they need ZooKeeper),
  # then the standby (pg_basebackup needs the primary).
  launch_node zk; say "zk started (pid $(node_pid zk), port $ZK_PORT)"
  if [ ! -f "$DIR/pg/primary/PG_VERSION" ]; then
    write_pg_primary; say "pg-primary initialised"
  fi
  launch_node pg-primary; say "pg-primary started (pid $(node_pid pg-primary), port $PG_PRIMARY_PORT)"
  wait_healthy zk; say "zk answers ruok"
  for n in "${CH_NODES[@]}"; do
    launch_node "$n"; say "$n started (pid $(node_pid "$n"), tcp $(ch_tcp "$n"), http $(ch_http "$n"))"
  done
  wait_healthy pg-primary; say "pg-primary accepts connections"
  if [ ! -f "$DIR/pg/standby/PG_VERSION" ]; then
    write_pg_standby; say "pg-standby base backup taken"
  fi
  launch_node pg-standby; say "pg-standby started (pid $(node_pid pg-standby), port $PG_STANDBY_PORT)"

  for n in "${CH_NODES[@]}"; do wait_healthy "$n"; say "$n answers SELECT 1"; done
  # ZooKeeper as ClickHouse sees it
  local start=$SECONDS
  until ch_query ch-s1-r1 "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$UP_TIMEOUT" ] || fail_node ch-s1-r1 "cannot read system.zookeeper"
    sleep 0.2
  done
  say "ClickHouse reaches ZooKeeper"
  for n in "${CH_NODES[@]}"; do
    ch_query "$n" "CREATE DATABASE IF NOT EXISTS steward" >/dev/null || fail_node "$n" "CREATE DATABASE steward failed"
  done
  say "database steward on the four ClickHouse nodes"

  wait_healthy pg-standby; say "pg-standby accepts connections"
  start=$SECONDS
  until [ "$(standby_sync_state)" = sync ]; do
    node_running pg-standby || fail_node pg-standby "the standby exited"
    [ $((SECONDS - start)) -lt "$UP_TIMEOUT" ] || fail_node pg-standby "not reported 'sync' in pg_stat_replication after ${UP_TIMEOUT}s (state: '$(standby_sync_state)')"
    sleep 0.2
  done
  say "pg-standby streams synchronously (pg_stat_replication.sync_state = sync)"
  if [ "$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'steward'")" != 1 ]; then
    "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -d postgres -c "CREATE DATABASE steward" \
      || fail_node pg-primary "CREATE DATABASE steward failed"
  fi
  say "database steward on pg-primary"

  say "up in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s: source $DIR/cluster.env"
  cat "$DIR/cluster.env" | grep '^STEWARD_'
}

cmd_down() {
  local n
  # ClickHouse first (it talks to ZooKeeper), then ZooKeeper, then the standby and the primary.
  for n in "${CH_NODES[@]}"; do stop_node "$n" 0 & done
  wait
  stop_node zk 0
  stop_node pg-standby 0
  stop_node pg-primary 0
  say "down: $DIR (data kept; remove the directory to discard it)"
}

cmd_status() {
  local n pid rc=0 extra
  for n in "${ALL_NODES[@]}"; do
    extra=""
    case "$n" in
      zk) extra="port $ZK_PORT" ;;
      pg-*) extra="port $(pg_port "$n")" ;;
      ch-*) extra="tcp $(ch_tcp "$n") http $(ch_http "$n")" ;;
    esac
    if pid=$(node_pid "$n"); then
      if node_healthy "$n"; then printf '%-11s up        pid %-8s %s\n' "$n" "$pid" "$extra"
      else printf '%-11s starting  pid %-8s %s (not answering)\n' "$n" "$pid" "$extra"; rc=1; fi
    else
      printf '%-11s down                %s\n' "$n" "$extra"; rc=1
    fi
  done
  if node_running pg-primary; then
    echo "pg-standby sync_state on the primary: $(standby_sync_state)"
  fi
  return $rc
}

cmd_start_node() {
  local n=$1
  if node_running "$n"; then say "$n already running (pid $(node_pid "$n"))"; return 0; fi
  launch_node "$n"
  wait_healthy "$n"
  say "$n started (pid $(node_pid "$n"))"
}

case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  stop-node) stop_node "$NODE" "$KILL" ;;
  start-node) cmd_start_node "$NODE" ;;
esac
