#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker+controller in one JVM) on loopback, for tests,
# benchmarks and the no-Docker topology of docs/operations.md. No tarball: the broker's jars
# come from Maven Central (scripts/kafka/pom.xml) into a cache, so a machine that reaches only
# package registries can run it.
#
#   scripts/kafka.sh start     fetch jars if needed, format storage once, start, wait until ready
#   scripts/kafka.sh stop      SIGTERM (controlled shutdown), wait, SIGKILL if it hangs
#   scripts/kafka.sh restart   stop + start; data (topics, offsets) is kept
#   scripts/kafka.sh status    exit 0 and print pid/address when running, exit 3 otherwise
#   scripts/kafka.sh reset     stop and delete this node's data and logs
#   scripts/kafka.sh fetch     only resolve the jars into the cache
#   scripts/kafka.sh cached    exit 0 when the jars are already cached (nothing is fetched)
#   scripts/kafka.sh brokers   print the bootstrap address (host:port) for KAFKA_BROKERS
#
# Settings (environment; defaults in brackets):
#   KAFKA_VERSION [4.4.0]            org.apache.kafka:kafka_2.13 version (4.x: KRaft only, Java 17+)
#   KAFKA_HOST [127.0.0.1]           address both listeners bind to and advertise
#   KAFKA_PORT [9092]                client (PLAINTEXT) port
#   KAFKA_CONTROLLER_PORT [PORT+1]   KRaft controller port
#   KAFKA_CACHE [~/.cache/sentiment-stream]   jars: $KAFKA_CACHE/kafka-<ver>-<pom hash>/libs,
#                                    Maven's repository: $KAFKA_CACHE/m2
#   KAFKA_RUN_DIR [$KAFKA_CACHE/kafka-node-<port>]  config, data/, logs/, kafka.pid of this node
#   KAFKA_HEAP [512m]                JVM -Xmx
#   KAFKA_AUTO_CREATE_TOPICS [false] the server creates its topics itself; a typo must not make one
#   KAFKA_NUM_PARTITIONS [3]         partitions of a topic created without a count
#   KAFKA_START_TIMEOUT [120]        seconds to wait for "Kafka Server started"
#   KAFKA_STOP_TIMEOUT [45]          seconds to wait after SIGTERM before SIGKILL
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_CACHE="${KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sentiment-stream}"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$KAFKA_CACHE/kafka-node-$KAFKA_PORT}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_AUTO_CREATE_TOPICS="${KAFKA_AUTO_CREATE_TOPICS:-false}"
KAFKA_NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-3}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-45}"

# keyed by the pom's hash too: editing scripts/kafka/pom.xml resolves into a new folder and never
# swaps jars under a running broker
libs="$KAFKA_CACHE/kafka-$KAFKA_VERSION-$(sha256sum "$here/kafka/pom.xml" | cut -c1-8)/libs"
conf="$KAFKA_RUN_DIR/server.properties"
data="$KAFKA_RUN_DIR/data"
logs="$KAFKA_RUN_DIR/logs"
pidfile="$KAFKA_RUN_DIR/kafka.pid"

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- jars -------------------------------------------------------------------------------------
cached() { [ -f "$libs/.complete" ]; }

fetch() {
  cached && return 0
  command -v java >/dev/null && command -v mvn >/dev/null || {
    say "java or mvn missing; installing them with scripts/setup-system.sh"
    bash "$here/setup-system.sh"
  }
  mkdir -p "$(dirname "$libs")"
  # one resolver at a time per version: several engineers (or test workers) share the cache
  exec 9>"$libs.lock"
  flock 9
  if ! cached; then
    say "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
    local t0=$SECONDS tmp="$libs.tmp.$$"
    rm -rf "$tmp"
    # -q still prints colour resets on some Maven versions: strip escapes and empty lines
    mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" \
      -Dmaven.repo.local="$KAFKA_CACHE/m2" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' | { grep -v '^$' >&2 || true; } \
      || { rm -rf "$tmp"; die "Maven could not resolve Kafka $KAFKA_VERSION (is Maven Central reachable?)"; }
    [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after resolve"; }
    rm -rf "$libs"
    mv "$tmp" "$libs"
    touch "$libs/.complete"
    say "$(ls "$libs"/*.jar | wc -l) jars in $libs ($((SECONDS - t0)) s)"
  fi
  flock -u 9
}

# --- process helpers --------------------------------------------------------------------------
running_pid() {
  # the pid from the pid file, if that process is alive and is our broker (pids get reused)
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $conf" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

java_opts() {
  echo "-Xms$KAFKA_HEAP -Xmx$KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20" \
    "-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15" \
    "-Djava.awt.headless=true -Dkafka.logs.dir=$logs" \
    "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties"
}

write_config() {
  mkdir -p "$data" "$logs"
  cat >"$conf" <<CONF
# written by scripts/kafka.sh on every start; edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
# small machine (2 cores shared): fewer threads than the defaults (3 network, 8 io)
num.network.threads=2
num.io.threads=4
background.threads=4
num.partitions=$KAFKA_NUM_PARTITIONS
auto.create.topics.enable=$KAFKA_AUTO_CREATE_TOPICS
delete.topic.enable=true
# one node: every internal topic has replication factor 1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# tests create consumer groups all the time: do not wait 3 s for more members to join
group.initial.rebalance.delay.ms=0
# bounded disk: a week or 1 GiB per partition, whichever comes first; 64 MiB segments
log.retention.hours=168
log.retention.bytes=1073741824
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
CONF
}

format_once() {
  [ -f "$data/meta.properties" ] && return 0
  # a cluster id is a base64url Uuid (16 random bytes); one starting with "-" would read as a flag
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [ "${id:0:1}" != "-" ] && break
  done
  say "formatting $data (cluster id $id)"
  # shellcheck disable=SC2046
  java $(java_opts) -cp "$libs/*" kafka.tools.StorageTool format --standalone -t "$id" -c "$conf" \
    >"$logs/format.out" 2>&1 || { cat "$logs/format.out" >&2; die "storage format failed"; }
}

# --- commands ---------------------------------------------------------------------------------
start() {
  if pid="$(running_pid)"; then
    say "already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
    return 0
  fi
  port_open "$KAFKA_HOST" "$KAFKA_PORT" && die "$KAFKA_HOST:$KAFKA_PORT is taken by another process"
  port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" && die "$KAFKA_HOST:$KAFKA_CONTROLLER_PORT is taken by another process"
  local t0=$SECONDS
  fetch
  write_config
  format_once
  # thousands of leftover test partitions make start-up (log recovery) slower than the timeout
  local parts
  parts="$(find "$data" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' 2>/dev/null | wc -l)"
  if [ "$parts" -gt 500 ]; then
    say "warning: $data holds $parts partition folders; start-up may be slow (scripts/kafka.sh reset deletes them)"
  fi
  local log="$logs/server.log" from=0
  [ -f "$log" ] && from="$(stat -c %s "$log")"
  # setsid: the broker outlives this script and the shell or test runner that called it
  # shellcheck disable=SC2046
  setsid java $(java_opts) -cp "$libs/*" kafka.Kafka "$conf" >"$logs/kafka.out" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until [ -f "$log" ] && tail -c +"$((from + 1))" "$log" | grep -q 'Kafka Server started' \
      && port_open "$KAFKA_HOST" "$KAFKA_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logs/kafka.out" >&2
      rm -f "$pidfile"
      die "broker exited during start-up (logs: $logs)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$log" >&2 || true
      stop >/dev/null 2>&1 || true
      die "broker not ready after ${KAFKA_START_TIMEOUT}s (logs: $logs)"
    fi
    sleep 0.5
  done
  say "Kafka $KAFKA_VERSION ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid, $((SECONDS - t0)) s; logs $logs)"
  echo "KAFKA_BROKERS=$KAFKA_HOST:$KAFKA_PORT"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile"
    say "not running on port $KAFKA_PORT"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "no clean shutdown after ${KAFKA_STOP_TIMEOUT}s: SIGKILL $pid"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running pid=$pid brokers=$KAFKA_HOST:$KAFKA_PORT version=$KAFKA_VERSION dir=$KAFKA_RUN_DIR"
  else
    echo "not running (port $KAFKA_PORT)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  reset) stop; rm -rf "$KAFKA_RUN_DIR"; say "deleted $KAFKA_RUN_DIR" ;;
  fetch) fetch; echo "$libs" ;;
  cached) cached ;;
  brokers) echo "$KAFKA_HOST:$KAFKA_PORT" ;;
  *) echo "usage: $0 start|stop|restart|status|reset|fetch|cached|brokers" >&2; exit 2 ;;
esac
