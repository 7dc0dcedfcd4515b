#!/usr/bin/env bash
# bench/relay.sh: how fast postern relays mail to remote MX hosts, next to
# Postfix relaying the same load, in one run on the same machine:
#
#   smtp-source -> server (postern or Postfix) -> MX lookup -> smtp-sink
#
# everything inside a network namespace of the benchmark's own with only
# lo: nsd on 127.0.0.1:53 serves generated zones, smtp-sink listens on
# 127.0.0.2:25 (the live MX host), and 127.0.0.3:25 (the dead MX host)
# drops every SYN (nft or iptables, in the namespace only).
#
#   Figure A: messages per second end to end (first connection of
#             smtp-source until smtp-sink has received all N), 20 sessions x
#             10 KiB, one destination domain.
#   Figure B: 10,000 messages to 1,000 domains of which every 10th has a
#             dead MX: time until the 9,000 messages of the live domains
#             have all reached smtp-sink, with the dead domains and without
#             them (the same 9,000 messages alone), and the ratio.
#
# See bench/README.md ("Relaying") for how to run it and read it, and
# shared/design/BENCHMARKING.md for the method.
#
# Environment (defaults in brackets):
#   BENCH_FIGURES="A B"     which figures to measure
#   BENCH_SKIP_POSTERN=1    only Postfix (no ./build/postern needed)
#   BENCH_MESSAGES=N        figure A messages per run [20000]
#   BENCH_SESSIONS=S        smtp-source sessions, both figures [20]
#   BENCH_SIZE=BYTES        message size, both figures [10240]
#   BENCH_ROUNDS=R          figure A rounds; the order of the two servers
#                           alternates from round to round [2]
#   BENCH_CEILING=0         no figure A run of smtp-source straight into
#                           smtp-sink (the ceiling) [1]
#   BENCH_B_MESSAGES=N      figure B messages with the dead domains [10000]
#   BENCH_B_DOMAINS=D       figure B domains [1000]; N/D messages each
#   BENCH_B_DEAD_EVERY=K    every K-th domain is dead [10]
#   BENCH_B_DEAD_SPREAD=1   each dead domain gets a dead MX address of its
#                           own (127.3.x.y) instead of all sharing 127.0.0.3
#   BENCH_B_ROUNDS=R        figure B rounds [1]
#   BENCH_WARMUP=N          untimed messages through each server first [200]
#   BENCH_TIMEOUT=SEC       longest wait for one run's deliveries [600]
#   BENCH_SINK_ADDR=A       the live MX host's address [127.0.0.2]
#   BENCH_DEAD_ADDR=A       the dead MX host's address [127.0.0.3]; either
#                           outside 127/8 is added to the namespace's lo
#   BENCH_POSTERN=PATH      postern binary [./build/postern]
#   BENCH_POSTERN_USER=NAME user for postern's processes ["postern" if it
#                           exists, else "": stay root]
#   BENCH_POSTERN_CONF_EXTRA="..."  lines appended to postern's config
#                           (not dns or policy: the script sets those)
#   BENCH_POSTFIX_PROCESS_LIMIT=N   Postfix default_process_limit [100]
#   BENCH_PORT_BASE=P       postern listens on 127.0.0.1:P, Postfix on P+1
#                           [14525]
#   BENCH_RESULTS=DIR       where raw results go
#                           [/var/tmp/postern-bench/relay-YYYYMMDDTHHMMSSZ]
#   BENCH_KEEP=1            keep the temporary directory too
set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

FIGURES=${BENCH_FIGURES:-A B}
SKIP_POSTERN=${BENCH_SKIP_POSTERN:-0}
MESSAGES=${BENCH_MESSAGES:-20000}
SESSIONS=${BENCH_SESSIONS:-20}
SIZE=${BENCH_SIZE:-10240}
ROUNDS=${BENCH_ROUNDS:-2}
B_MESSAGES=${BENCH_B_MESSAGES:-10000}
B_DOMAINS=${BENCH_B_DOMAINS:-1000}
B_DEAD_EVERY=${BENCH_B_DEAD_EVERY:-10}
B_DEAD_SPREAD=${BENCH_B_DEAD_SPREAD:-0}
B_ROUNDS=${BENCH_B_ROUNDS:-1}
WARMUP=${BENCH_WARMUP:-200}
TIMEOUT=${BENCH_TIMEOUT:-600}
POSTERN=${BENCH_POSTERN:-$ROOT/build/postern}
if [ -z "${BENCH_POSTERN_USER+x}" ]; then
	getent passwd postern >/dev/null && POSTERN_USER=postern || POSTERN_USER=""
else
	POSTERN_USER=$BENCH_POSTERN_USER
fi
PORT_BASE=${BENCH_PORT_BASE:-14525}
PORT_POSTERN=$PORT_BASE
PORT_POSTFIX=$((PORT_BASE + 1))
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=${BENCH_RESULTS:-/var/tmp/postern-bench/relay-$STAMP}
PY=/usr/bin/python3

# The namespace's addresses: nsd, the live MX (smtp-sink), the dead MX.
# Addresses outside 127.0.0.0/8 (say 192.0.2.2, for a server that will not
# deliver to loopback) are added to the namespace's lo.
DNS_ADDR=127.0.0.1
SINK_ADDR=${BENCH_SINK_ADDR:-127.0.0.2}
DEAD_ADDR=${BENCH_DEAD_ADDR:-127.0.0.3}
ZONE=relay.test
DOMAIN_A=a.$ZONE
DOMAIN_WARM=warm.$ZONE
SENDER=bench@src.$ZONE
HELO=bench-client.example
if [ "$B_DEAD_SPREAD" = 1 ]; then
	[[ "$DEAD_ADDR" == 127.* ]] || die "BENCH_B_DEAD_SPREAD=1 uses 127.3.0.0/16: leave BENCH_DEAD_ADDR alone"
	DEAD_MATCH=127.3.0.0/16
else
	DEAD_MATCH=$DEAD_ADDR
fi

# --- checks: nothing is installed, only looked for -------------------------
[ "$(id -u)" = 0 ] || die "run as root (network namespace, nft, Postfix's own users)"
for v in MESSAGES SESSIONS SIZE ROUNDS B_MESSAGES B_DOMAINS B_DEAD_EVERY B_ROUNDS WARMUP TIMEOUT; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a number, not '${!v}'"
done
for f in $FIGURES; do
	[ "$f" = A ] || [ "$f" = B ] || die "BENCH_FIGURES: '$f' is not A or B"
done
if [[ " $FIGURES " == *" B "* ]]; then
	if [ "$B_DOMAINS" = 0 ] || [ $((B_MESSAGES % B_DOMAINS)) != 0 ]; then
		die "BENCH_B_MESSAGES ($B_MESSAGES) must be a multiple of BENCH_B_DOMAINS ($B_DOMAINS)"
	fi
	[ "$B_DEAD_EVERY" -ge 2 ] || die "BENCH_B_DEAD_EVERY must be at least 2"
	[ "$B_DOMAINS" -le 9999 ] || die "BENCH_B_DOMAINS: at most 9999"
fi
[ "$WARMUP" -ge 1 ] || die "BENCH_WARMUP must be at least 1 (the warm-up also checks that relaying works)"
need ip iproute2
need nstat iproute2
need ss iproute2
need setsid util-linux
need awk mawk
need xargs findutils
need smtp-source postfix
need smtp-sink postfix
need postfix postfix
need nsd nsd
need nsd-control nsd
if [[ " $FIGURES " == *" B "* ]] && ! command -v nft >/dev/null 2>&1 && ! command -v iptables >/dev/null 2>&1; then
	die "figure B drops the dead MX host's SYNs with nft or iptables (in the namespace only), and neither is installed: install the Debian package 'nftables' (apt-get install nftables), or set BENCH_FIGURES=A"
fi
[ -x /usr/lib/postfix/sbin/master ] || die "Postfix's daemons are missing; install the Debian package 'postfix'"
[ -x "$PY" ] || die "$PY not found; install the Debian package 'python3-minimal'"
if ! getent passwd postfix >/dev/null || ! getent group postdrop >/dev/null; then
	die "user 'postfix' or group 'postdrop' missing; reinstall the Debian package 'postfix'"
fi
getent passwd nobody >/dev/null || die "user 'nobody' missing (smtp-sink runs as it)"
if [ "$SKIP_POSTERN" != 1 ]; then
	[ -x "$POSTERN" ] || die "$POSTERN does not exist: build postern first (make), or set BENCH_SKIP_POSTERN=1 to measure only Postfix"
fi
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash 5 or newer needed (EPOCHREALTIME)"

# --- state, cleanup --------------------------------------------------------
T=$(mktemp -d /tmp/postern-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$T" # Postfix's daemons (user postfix) must reach their queue
write_helpers "$T"
mkdir -p "$RESULTS" || die "cannot make $RESULTS"
NS=""
NETNS_RUN=""
POSTERN_PID=""
SINK_PID=""
WATCH_PID=""
INJ_PID=""
POSTFIX_DIR=""
POSTFIX_MASTER=""
SHM=""

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	# A second Ctrl-C or TERM must not cut the cleanup short.
	trap '' INT TERM
	trap - EXIT
	[ -n "$INJ_PID" ] && kill "$INJ_PID" 2>/dev/null
	[ -n "$POSTERN_PID" ] && stop_pid "$POSTERN_PID" 20
	postfix_stop
	[ -n "$SINK_PID" ] && stop_pid "$SINK_PID" 5
	[ -n "$WATCH_PID" ] && stop_pid "$WATCH_PID" 5
	[ -n "$NSD_PID" ] && nsd_stop
	netns_teardown
	netns_resolv_conf_remove
	[ -n "$SHM" ] && rm -rf "$SHM"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# The polling loops' pause. Not "read -t" on a FIFO (no fork): in bash
# 5.2 a TERM or INT arriving during "read -t" kills the shell without
# running its trap, and the cleanup with it. One sleep(1) every 50 ms
# costs well under 1% of a core.
nap() { sleep "$1"; }

# Everything must happen in a namespace of our own: port 25 and port 53 on
# loopback, a firewall rule, a resolv.conf. Without one, no run.
NS_NAME="postern-relay-$$"
netns_start "$NS_NAME"
[ -n "$NETNS_RUN" ] || die "no network namespace: this benchmark needs one (ports 25 and 53, a resolv.conf, a drop rule)"
netns_resolv_conf "$NS" "$DNS_ADDR" || die "cannot write /etc/netns/$NS/resolv.conf"
# Check that the bind-mount works: what the servers will see.
got=$($NETNS_RUN cat /etc/resolv.conf 2>/dev/null | awk '$1 == "nameserver" { print $2 }')
[ "$got" = "$DNS_ADDR" ] || die "ip netns exec did not put /etc/netns/$NS/resolv.conf in place (resolv.conf in the namespace names '$got')"
for a in "$SINK_ADDR" "$DEAD_ADDR"; do
	[[ "$a" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$a' is not an IPv4 address"
	if [[ "$a" != 127.* ]]; then
		$NETNS_RUN ip addr add "$a/32" dev lo || die "cannot add $a to lo in $NS"
	fi
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

# A copy of the binary: other sessions may rebuild ./build/postern while
# this runs, and every postern run must be the same program.
if [ "$SKIP_POSTERN" != 1 ]; then
	POSTERN_ORIG=$POSTERN
	cp "$POSTERN" "$T/postern" || die "cannot copy $POSTERN"
	chmod 755 "$T/postern"
	POSTERN=$T/postern
	POSTERN_DESC="$POSTERN_ORIG ($(stat -c '%y' "$POSTERN_ORIG" | cut -c1-19), sha256 $(sha256sum "$POSTERN" | cut -c1-12); tree $(cd "$ROOT" && git describe --always --dirty 2>/dev/null))"
fi

# The sink's dumps (figure B) live in memory, not on the disk the servers use.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then SHM=$(mktemp -d /dev/shm/postern-relay.XXXXXX); else SHM=$(mktemp -d "$T/shm.XXXXXX"); fi
chmod 755 "$SHM"

# --- the helper: smtp-sink's counters, timed --------------------------------
cat >"$T/sinkwatch.py" <<'PYEOF'
"""sinkwatch TIMELINE STATE: read smtp-sink -c output ("sess=N quit=N mesg=N"
records ended by CR) from stdin. Append "unixtime mesg sess" to TIMELINE
for every read that changed the counts (the time is when the counts were
read), and keep STATE ("mesg sess unixtime", replaced atomically) at most
20 ms behind."""
import os, re, select, sys, time

timeline = open(sys.argv[1], "w")
state = sys.argv[2]
pat = re.compile(rb"sess=(\d+) quit=\d+ mesg=(\d+)")
carry, mesg, sess = b"", 0, 0
dirty, last_state, last_flush = True, 0.0, 0.0


def write_state(now):
    tmp = state + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d %.6f\n" % (mesg, sess, now))
    os.replace(tmp, state)


while True:
    r, _, _ = select.select([0], [], [], 0.02)
    now = time.time()
    if r:
        data = os.read(0, 65536)
        if not data:
            break
        # Let updates pile up for 5 ms: one read for many of them (a pipe
        # holds 64 KiB, ~2,000 updates), so that this reader costs little
        # next to smtp-sink; the times are at most ~5 ms late.
        time.sleep(0.005)
        parts = (carry + data).split(b"\r")
        carry = parts[-1]
        for p in reversed(parts[:-1]):
            m = pat.search(p)
            if m:
                s, n = int(m.group(1)), int(m.group(2))
                if (n, s) != (mesg, sess):
                    mesg, sess = n, s
                    timeline.write("%.6f %d %d\n" % (now, mesg, sess))
                    dirty = True
                break
    if dirty and now - last_state >= 0.02:
        write_state(now)
        dirty, last_state = False, now
    if now - last_flush >= 0.2:
        timeline.flush()
        last_flush = now
write_state(time.time())
timeline.close()
PYEOF

# --- zones -----------------------------------------------------------------
# relay.test (RFC 2606: never a real name): the live MX host 127.0.0.2, the
# dead one(s), figure A's domain, the warm-up domain, figure B's domains
# d0000...: dNNNN is dead when NNNN % B_DEAD_EVERY == 0.
dom_b() { printf 'd%04d.%s' "$1" "$ZONE"; }
is_dead() { [ $(($1 % B_DEAD_EVERY)) = 0 ]; }
write_zones() {
	local d=$1 i
	{
		echo "\$ORIGIN $ZONE."
		echo "\$TTL 86400"
		echo "@ IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 86400"
		echo "@ IN NS ns.$ZONE."
		echo "ns IN A $DNS_ADDR"
		echo "mx-live IN A $SINK_ADDR"
		echo "mx-dead IN A $DEAD_ADDR"
		echo "a IN MX 10 mx-live.$ZONE."
		echo "warm IN MX 10 mx-live.$ZONE."
		echo "src IN MX 10 mx-live.$ZONE."
		for ((i = 0; i < B_DOMAINS; i++)); do
			if is_dead "$i"; then
				if [ "$B_DEAD_SPREAD" = 1 ]; then
					printf 'd%04d IN MX 10 mx.d%04d.%s.\nmx.d%04d IN A 127.3.%d.%d\n' \
						"$i" "$i" "$ZONE" "$i" $((i / 256)) $((i % 256))
				else
					printf 'd%04d IN MX 10 mx-dead.%s.\n' "$i" "$ZONE"
				fi
			else
				printf 'd%04d IN MX 10 mx-live.%s.\n' "$i" "$ZONE"
			fi
		done
	} >"$d/relay.zone"
	# PTRs, so that a server that asks gets an answer rather than REFUSED.
	cat >"$d/rev127.zone" <<EOF
\$ORIGIN 127.in-addr.arpa.
\$TTL 86400
@ IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 86400
@ IN NS ns.$ZONE.
1.0.0 IN PTR localhost.
2.0.0 IN PTR mx-live.$ZONE.
3.0.0 IN PTR mx-dead.$ZONE.
EOF
	# Figure B's injection lists: one domain per line, in domain order, so
	# that the dead domains are spread evenly through the load.
	: >"$T/b-all.list"
	: >"$T/b-live.list"
	for ((i = 0; i < B_DOMAINS; i++)); do
		dom_b "$i" >>"$T/b-all.list"
		echo >>"$T/b-all.list"
		if ! is_dead "$i"; then
			dom_b "$i" >>"$T/b-live.list"
			echo >>"$T/b-live.list"
		fi
	done
}

# --- servers ---------------------------------------------------------------
postern_start() {
	local dir=$1
	mkdir -p "$dir/var"
	cat >"$dir/postern.conf" <<EOF
hostname = "bench.example";
state_dir = "$dir/var";
listeners = ( { name = "mx"; role = "mx"; address = "127.0.0.1:$PORT_POSTERN"; } );
domains = ( { name = "bench.example"; delivery = "discard"; } );
postmaster = "postmaster@bench.example";
abuse = "abuse@bench.example";
limits = { max_connections = 20000; max_connections_per_ip = 20000; };
dns = { servers = "$DNS_ADDR:53"; };
policy = { relay_networks = "127.0.0.0/8"; };
user = "$POSTERN_USER";
${BENCH_POSTERN_CONF_EXTRA:-}
EOF
	if ! "$POSTERN" -c "$dir/postern.conf" check-config >"$dir/check-config.log" 2>&1; then
		sed 's/^/  /' "$dir/check-config.log" >&2
		die "postern check-config failed (config $dir/postern.conf)"
	fi
	# shellcheck disable=SC2086
	(cd "$dir" && exec $NETNS_RUN setsid "$POSTERN" -c "$dir/postern.conf" serve \
		>"$dir/postern.log" 2>&1) &
	POSTERN_PID=$!
	if ! wait_port "$PORT_POSTERN" 30 "$POSTERN_PID"; then
		tail -20 "$dir/postern.log" | sed 's/^/  /' >&2
		die "postern did not listen on 127.0.0.1:$PORT_POSTERN within 30 s (log above)"
	fi
}

postfix_queue_files() {
	find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/maildrop" \
		-type f 2>/dev/null | wc -l
}

server_start() { # server_start SERVER DIR: sets SERVER_PID, SERVER_HOST, SERVER_PORT
	SERVER_HOST=127.0.0.1
	if [ "$1" = postern ]; then
		postern_start "$2"
		SERVER_PID=$POSTERN_PID
		SERVER_PORT=$PORT_POSTERN
	elif [ "$1" = sink ]; then
		# The ceiling: smtp-source straight into smtp-sink, no server.
		SERVER_PID=$SINK_PID
		SERVER_HOST=$SINK_ADDR
		SERVER_PORT=25
	else
		postfix_start_from main-relay.cf.in master-relay.cf.in "$2" "$PORT_POSTFIX"
		SERVER_PID=$POSTFIX_MASTER
		SERVER_PORT=$PORT_POSTFIX
	fi
}

server_stop() {
	if [ "$1" = sink ]; then
		:
	elif [ "$1" = postern ]; then
		stop_pid "$POSTERN_PID" 20
		POSTERN_PID=""
	else
		postfix_stop
	fi
	SERVER_PID=""
}

# sink_start DIR DUMP: smtp-sink on SINK_ADDR:25 with its counters going to
# sinkwatch (DIR/sink.timeline, DIR/sink.state); DUMP=1 also writes every
# transaction to $SHM (figure B counts them per domain).
sink_start() {
	local dir=$1 dump=$2 args=(-u nobody -c -m 2048)
	rm -f "$dir/sink.fifo" "$dir/sink.state"
	mkfifo "$dir/sink.fifo"
	if [ "$dump" = 1 ]; then
		rm -f "$SHM/dump"
		chown nobody "$SHM"
		args+=(-D "$SHM/dump")
	fi
	"$PY" "$T/sinkwatch.py" "$dir/sink.timeline" "$dir/sink.state" <"$dir/sink.fifo" &
	WATCH_PID=$!
	# shellcheck disable=SC2086
	$NETNS_RUN setsid smtp-sink "${args[@]}" "$SINK_ADDR:25" 4096 >"$dir/sink.fifo" 2>"$dir/sink.err" &
	SINK_PID=$!
	wait_port 25 10 "$SINK_PID" || die "smtp-sink did not listen on $SINK_ADDR:25: $(head -3 "$dir/sink.err")"
}

sink_stop() {
	stop_pid "$SINK_PID" 5
	SINK_PID=""
	stop_pid "$WATCH_PID" 5 # ends by itself at the fifo's EOF
	WATCH_PID=""
}

# sink_count DIR: messages smtp-sink has received so far (its "." count).
sink_count() {
	local m=0
	[ -s "$1/sink.state" ] && read -r m _ <"$1/sink.state"
	echo "${m:-0}"
}

# wait_sink DIR TARGET SECONDS: until smtp-sink has TARGET messages; fails
# on timeout or when the server dies.
wait_sink() {
	local dir=$1 target=$2 limit=$3 m=0 start=$EPOCHREALTIME
	while :; do
		m=0
		[ -s "$dir/sink.state" ] && read -r m _ <"$dir/sink.state"
		[ "${m:-0}" -ge "$target" ] && return 0
		[ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null && return 1
		awk_free_elapsed "$start" "$limit" || return 1
		nap 0.05
	done
}
# awk_free_elapsed START LIMIT: true while less than LIMIT seconds have
# passed since START (an EPOCHREALTIME), in bash arithmetic (microseconds).
awk_free_elapsed() {
	local s=${1/./} n=${EPOCHREALTIME/./}
	[ $(((10#$n - 10#$s) / 1000000)) -lt "$2" ]
}

# timeline_time DIR TARGET: the time smtp-sink's count first reached TARGET.
timeline_time() {
	awk -v t="$2" '$2 >= t { printf "%.6f", $1; found = 1; exit } END { if (!found) print "" }' "$1/sink.timeline"
}

proc_cpu_ticks() { # utime+stime+cutime+cstime of one process
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13} + ${14} + ${15}))
}

# --- one measured run ------------------------------------------------------
declare -A R
RUNS=()

# inject KIND PORT: the load, in the namespace, in the background (INJ_PID).
#   A:      smtp-source -s S -l L -m N to r@a.relay.test
#   Blive:  for each live domain: smtp-source -s 1 -m N/D to r@DOMAIN,
#           S of them at a time (xargs -P S), in domain order
#   Ball:   the same for every domain, the dead ones included
#   warm:   the warm-up: WARMUP messages to r@warm.relay.test (A: r@a.)
inject() {
	local kind=$1 port=$2 out=$3 per=$((B_MESSAGES / B_DOMAINS))
	local src=(smtp-source -M "$HELO" -f "$SENDER" -l "$SIZE")
	case "$kind" in
	A) $NETNS_RUN "${src[@]}" -s "$SESSIONS" -m "$MESSAGES" -t "r@$DOMAIN_A" "$SERVER_HOST:$port" >"$out.out" 2>"$out.err" & ;;
	warmA) $NETNS_RUN "${src[@]}" -s "$SESSIONS" -m "$WARMUP" -t "r@$DOMAIN_A" "$SERVER_HOST:$port" >"$out.out" 2>"$out.err" & ;;
	warmB) $NETNS_RUN "${src[@]}" -s "$SESSIONS" -m "$WARMUP" -t "r@$DOMAIN_WARM" "$SERVER_HOST:$port" >"$out.out" 2>"$out.err" & ;;
	Blive | Ball)
		local list="$T/b-live.list"
		[ "$kind" = Ball ] && list="$T/b-all.list"
		$NETNS_RUN xargs -a "$list" -P "$SESSIONS" -I'{}' \
			"${src[@]}" -s 1 -m "$per" -t 'r@{}' "$SERVER_HOST:$port" >"$out.out" 2>"$out.err" &
		;;
	esac
	INJ_PID=$!
}

# run_one KEY SERVER KIND: KIND A, Blive or Ball. Fresh sink, fresh server,
# warm-up (which must arrive in full), then the measured load; the clock
# runs from the start of the load until the sink has every message that
# can arrive (A: all N; B: the live domains' messages).
run_one() {
	local key=$1 server=$2 kind=$3 dir="$T/$1" dump=0 expect warmkind
	local base target t0 tinj="" tdet tend m1 rc
	local c0 c1 st0 st1 tot0 tot1 sc0 sc1 k0 k1 cc0 cc1 hz q0 q1 bh0=0 bh1=0 n0 n1
	mkdir -p "$dir"
	RUNS+=("$key")
	R[$key.server]=$server
	R[$key.kind]=$kind
	R[$key.err]=""
	R[$key.note]=""
	case "$kind" in
	A) expect=$MESSAGES warmkind=warmA ;;
	Blive) expect=$(((B_DOMAINS - (B_DOMAINS + B_DEAD_EVERY - 1) / B_DEAD_EVERY) * (B_MESSAGES / B_DOMAINS))) warmkind=warmB dump=1 ;;
	Ball) expect=$(((B_DOMAINS - (B_DOMAINS + B_DEAD_EVERY - 1) / B_DEAD_EVERY) * (B_MESSAGES / B_DOMAINS))) warmkind=warmB dump=1 ;;
	esac
	R[$key.expect]=$expect
	log "  $key: $server, $kind ..."
	sink_start "$dir" "$dump"
	server_start "$server" "$dir"
	# Warm-up: it must arrive in full, else relaying does not work at all.
	inject "$warmkind" "$SERVER_PORT" "$dir/warmup"
	wait "$INJ_PID"
	rc=$?
	INJ_PID=""
	# Refused by the server: no point waiting long.
	local wlimit=60
	[ -s "$dir/warmup.err" ] && wlimit=15
	if ! wait_sink "$dir" "$WARMUP" "$wlimit"; then
		R[$key.err]="warm-up failed: $(sink_count "$dir") of $WARMUP messages reached smtp-sink within $wlimit s; smtp-source exit $rc, $(grep -c . "$dir/warmup.err") error lines, first: $(grep -v '^$' "$dir/warmup.err" | head -1 | cut -c1-200)"
		R[$key.arrived]=$(sink_count "$dir")
		R[$key.expect]=$WARMUP
		R[$key.kind]="$kind(warm-up)"
		server_report "$key" "$server" "$dir"
		server_diagnose "$server" "$dir"
		server_stop "$server"
		sink_stop
		save_run "$key" "$server" "$dir"
		print_run "$key"
		return 1
	fi
	nap 0.5 # let the last warm-up deliveries finish (connections back in the cache)
	base=$(sink_count "$dir")
	R[$key.warm_extra]=$((base - WARMUP))
	target=$((base + expect))
	# Counters before.
	nstat_snapshot "$dir/nstat0"
	q0=$(nsd_queries "$T/dns")
	[ -n "$BLACKHOLE_TOOL" ] && bh0=$(blackhole_packets)
	read -r k0 hz < <("$PY" "$T/benchhelper.py" tree-cpu "$SERVER_PID")
	read -r n0 _ < <("$PY" "$T/benchhelper.py" tree-cpu "$NSD_PID")
	sc0=$(proc_cpu_ticks "$SINK_PID")
	children_cpu "$dir/cc0"
	read -r c0 st0 tot0 < <(machine_cpu_ticks)
	t0=$EPOCHREALTIME
	inject "$kind" "$SERVER_PORT" "$dir/load"
	# Wait for the sink, noting when the injection ends.
	local start=$EPOCHREALTIME ok=0 m
	while :; do
		m=0
		[ -s "$dir/sink.state" ] && read -r m _ <"$dir/sink.state"
		if [ "${m:-0}" -ge "$target" ]; then ok=1; break; fi
		if [ -n "$INJ_PID" ] && [ -z "$tinj" ] && ! kill -0 "$INJ_PID" 2>/dev/null; then
			tinj=$EPOCHREALTIME
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			R[$key.err]="the server died during the run"
			break
		fi
		awk_free_elapsed "$start" "$TIMEOUT" || break
		nap 0.05
	done
	tdet=$EPOCHREALTIME
	read -r c1 st1 tot1 < <(machine_cpu_ticks)
	read -r k1 _ < <("$PY" "$T/benchhelper.py" tree-cpu "$SERVER_PID")
	read -r n1 _ < <("$PY" "$T/benchhelper.py" tree-cpu "$NSD_PID")
	sc1=$(proc_cpu_ticks "$SINK_PID")
	if [ -n "$INJ_PID" ]; then
		if [ "$ok" = 0 ] && kill -0 "$INJ_PID" 2>/dev/null; then kill "$INJ_PID" 2>/dev/null; fi
		wait "$INJ_PID"
		rc=$?
		[ -z "$tinj" ] && tinj=$EPOCHREALTIME
		INJ_PID=""
	fi
	children_cpu "$dir/cc1"
	cc0=$(cat "$dir/cc0")
	cc1=$(cat "$dir/cc1")
	nstat_snapshot "$dir/nstat1"
	q1=$(nsd_queries "$T/dns")
	[ -n "$BLACKHOLE_TOOL" ] && bh1=$(blackhole_packets)
	# Anything more (a message delivered twice) would show up now.
	nap 2
	m1=$(sink_count "$dir")
	tend=$(timeline_time "$dir" "$target")
	R[$key.arrived]=$((m1 - base))
	R[$key.inject]=$(fcalc "${tinj:-$tdet} - $t0" 2)
	if [ "$ok" = 1 ] && [ -n "$tend" ]; then
		local el
		el=$(fcalc "$tend - $t0" 3)
		R[$key.elapsed]=$el
		R[$key.rate]=$(fcalc "$expect / $el" 0)
		# Quantiles of the arrival times (the timeline's first crossing).
		R[$key.t50]=$(fcalc "$(timeline_time "$dir" $((base + expect / 2))) - $t0" 2)
		R[$key.t90]=$(fcalc "$(timeline_time "$dir" $((base + expect * 9 / 10))) - $t0" 2)
		R[$key.t99]=$(fcalc "$(timeline_time "$dir" $((base + expect * 99 / 100))) - $t0" 2)
	else
		R[$key.elapsed]=""
		R[$key.rate]=""
		[ -z "${R[$key.err]}" ] && R[$key.err]="only $((m1 - base)) of $expect messages reached smtp-sink within $TIMEOUT s"
	fi
	# CPU over [t0, detection]: the whole machine, the server's processes,
	# smtp-sink, the injector (smtp-source, xargs).
	local wall msgs
	wall=$(fcalc "$tdet - $t0" 3)
	msgs=$expect
	R[$key.busy]=$(fcalc "100 * ($c1 - $c0) / ($tot1 - $tot0)" 0)
	R[$key.steal]=$(fcalc "100 * ($st1 - $st0) / ($tot1 - $tot0)" 0)
	R[$key.mcpu]=$(fcalc "1000 * ($c1 - $c0) / $hz / $msgs" 3)
	R[$key.scpu]=$(fcalc "1000 * ($k1 - $k0) / $hz / $msgs" 3)
	R[$key.sinkcpu]=$(fcalc "1000 * ($sc1 - $sc0) / $hz / $msgs" 3)
	R[$key.clicpu]=$(fcalc "1000 * ($cc1 - $cc0) / $msgs" 3)
	R[$key.nsdcpu]=$(fcalc "1000 * ($n1 - $n0) / $hz / $msgs" 3)
	# What the machine spent beyond these (other sessions, this script):
	# well above 0, the machine was not ours alone.
	if [ "$server" = sink ]; then # the server is the sink: count it once
		R[$key.other]=$(fcalc "${R[$key.mcpu]} - ${R[$key.sinkcpu]} - ${R[$key.clicpu]} - ${R[$key.nsdcpu]}" 3)
	else
		R[$key.other]=$(fcalc "${R[$key.mcpu]} - ${R[$key.scpu]} - ${R[$key.sinkcpu]} - ${R[$key.clicpu]} - ${R[$key.nsdcpu]}" 3)
	fi
	R[$key.load]=$(cut -d' ' -f1 /proc/loadavg)
	R[$key.wall]=$wall
	R[$key.udp]=$(($(nstat_delta "$dir/nstat0" "$dir/nstat1" UdpOutDatagrams) + \
		$(nstat_delta "$dir/nstat0" "$dir/nstat1" Udp6OutDatagrams)))
	R[$key.noroute]=$(($(nstat_delta "$dir/nstat0" "$dir/nstat1" IpOutNoRoutes) + \
		$(nstat_delta "$dir/nstat0" "$dir/nstat1" Ip6OutNoRoutes)))
	R[$key.overflow]=$(nstat_delta "$dir/nstat0" "$dir/nstat1" TcpExtListenOverflows)
	if [ "$q0" != "?" ] && [ "$q1" != "?" ]; then R[$key.dnsq]=$((q1 - q0)); else R[$key.dnsq]="?"; fi
	R[$key.deadsyn]=$((bh1 - bh0))
	if [ "$rc" != 0 ] || [ -s "$dir/load.err" ]; then
		R[$key.clierr]="injector exit $rc: $(grep -v '^$' "$dir/load.err" | head -1 | cut -c1-200) ($(grep -c . "$dir/load.err") lines)"
	else
		R[$key.clierr]=""
	fi
	# Per-domain check (figure B): every live domain exactly N/D messages,
	# the dead ones none.
	if [ "$dump" = 1 ]; then
		check_dump "$key" "$kind"
	fi
	# The server's own account, from its complete log (after it stopped).
	server_stop "$server"
	server_report "$key" "$server" "$dir"
	sink_stop
	save_run "$key" "$server" "$dir"
	print_run "$key"
}

# check_dump KEY KIND: counts smtp-sink's dump per recipient domain.
check_dump() {
	local key=$1 kind=$2 per=$((B_MESSAGES / B_DOMAINS))
	if [ ! -s "$SHM/dump" ]; then
		R[$key.domcheck]="no dump file"
		return
	fi
	awk '/^X-Rcpt-Args:/ { if (match($0, /<[^>]*>/)) { a = substr($0, RSTART + 1, RLENGTH - 2); sub(/.*@/, "", a); n[tolower(a)]++ } }
		END { for (d in n) print d, n[d] }' "$SHM/dump" | sort >"$T/$key/domains.count"
	rm -f "$SHM/dump"
	R[$key.domcheck]=$(awk -v per="$per" -v every="$B_DEAD_EVERY" -v ndom="$B_DOMAINS" -v warm="$DOMAIN_WARM" -v zone="$ZONE" '
		{ n[$1] = $2 }
		END {
			bad = 0; live = 0; dead = 0; first = ""
			for (i = 0; i < ndom; i++) {
				d = sprintf("d%04d.%s", i, zone)
				want = (i % every == 0) ? 0 : per
				got = n[d] + 0
				if (i % every == 0) dead += got; else live += got
				if (got != want) { bad++; if (first == "") first = d " " got "/" want }
				delete n[d]
			}
			delete n[warm]
			other = 0
			for (d in n) other += n[d]
			printf "per domain: %d live messages, %d to dead domains, %d domains off%s, %d to other domains",
				live, dead, bad, (first == "" ? "" : " (first: " first ")"), other
		}' "$T/$key/domains.count")
}

# server_report KEY SERVER DIR: what the server says it did.
server_report() {
	local key=$1 server=$2 dir=$3 bad
	if [ "$server" = sink ]; then
		R[$key.note]="smtp-source straight into smtp-sink: the ceiling of this client and sink here"
	elif [ "$server" = postern ]; then
		local plog="$dir/postern.log"
		R[$key.note]="postern log: received $(grep -c 'event=received' "$plog"), delivered $(grep -c 'event=delivered' "$plog"), deferred $(grep -c 'event=deferred' "$plog"), failed $(grep -c -E 'event=(failed|bounced)' "$plog")"
		bad=$(grep -Ec 'level=(warn|warning|err|error|crit|fatal|panic)' "$plog")
		[ "$bad" -gt 0 ] &&
			R[$key.note]+="; $bad warning/error lines, first: $(grep -E -m1 'level=(warn|warning|err|error|crit|fatal|panic)' "$plog" | cut -c1-200)"
	else
		local ml="$dir/maillog"
		R[$key.note]="Postfix log: status=sent $(grep -c 'status=sent' "$ml"), status=deferred $(grep -c 'status=deferred' "$ml"), status=bounced $(grep -c 'status=bounced' "$ml"); queue files now $(postfix_queue_files "$dir")"
		bad=$(grep -Ec 'warning:|fatal:|panic:' "$ml")
		[ "$bad" -gt 0 ] &&
			R[$key.note]+="; $bad warning lines, first: $(grep -E -m1 'warning:|fatal:|panic:' "$ml" | cut -c1-200)"
	fi
}

server_diagnose() {
	local server=$1 dir=$2
	if [ "$server" = sink ]; then
		log "  smtp-sink: $(head -3 "$dir/sink.err")"
	elif [ "$server" = postern ]; then
		log "  postern log: the first warnings/errors and the last lines that are not connects/disconnects:"
		{
			grep -E -m5 'level=(warn|warning|err|error|crit|fatal|panic)' "$dir/postern.log"
			grep -v -E 'event=(connect|disconnect)( |$)' "$dir/postern.log" | tail -200
		} | sed -e 's/^[^ ]* //' -e 's/ \(pid\|sid\|id\|qid\)=[^ ]*//g' | cut -c1-300 |
			awk '!seen[$0]++' | tail -8 | sed 's/^/    /' >&2
	else
		log "  Postfix log (last lines):"
		tail -15 "$dir/maillog" | cut -c1-300 | sed 's/^/    /' >&2
	fi
}

# save_run KEY SERVER DIR: the raw material of one run into $RESULTS.
save_run() {
	local key=$1 server=$2 dir=$3 out="$RESULTS/$1"
	mkdir -p "$out"
	cp "$dir/sink.timeline" "$out/" 2>/dev/null
	cp "$dir/load.err" "$out/injector.err" 2>/dev/null
	cp "$dir/warmup.err" "$out/warmup.err" 2>/dev/null
	cp "$dir/domains.count" "$out/" 2>/dev/null
	cp "$dir/nstat0" "$dir/nstat1" "$out/" 2>/dev/null
	if [ "$server" = postern ]; then
		cp "$dir/postern.conf" "$out/" 2>/dev/null
		gzip -c "$dir/postern.log" >"$out/postern.log.gz" 2>/dev/null
	elif [ "$server" = postfix ]; then
		cp "$dir/etc/main.cf" "$dir/etc/master.cf" "$out/" 2>/dev/null
		gzip -c "$dir/maillog" >"$out/maillog.gz" 2>/dev/null
	fi
	local f
	{
		printf '%s' "$key"
		for f in server kind expect arrived elapsed rate inject t50 t90 t99 wall busy steal load mcpu scpu sinkcpu clicpu nsdcpu other udp dnsq noroute overflow deadsyn warm_extra; do
			printf '\t%s' "${R[$key.$f]:-}"
		done
		printf '\t%s\t%s\t%s\t%s\n' "${R[$key.err]:-}" "${R[$key.clierr]:-}" "${R[$key.domcheck]:-}" "${R[$key.note]:-}"
	} >>"$RESULTS/results.tsv"
	# The directory of the run is large (queues); drop it unless kept.
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "${dir:?}/queue" "${dir:?}/var"
}

print_run() {
	local key=$1
	printf '  %-14s %-8s %-6s %6s/%-6s %9s %8s %8s %5s%% %4s%% %7s %7s %7s %7s %6s %6s %5s %5s %6s\n' \
		"$key" "${R[$key.server]}" "${R[$key.kind]}" "${R[$key.arrived]:-?}" "${R[$key.expect]}" \
		"${R[$key.elapsed]:--}" "${R[$key.rate]:--}" "${R[$key.inject]:--}" \
		"${R[$key.busy]:-?}" "${R[$key.steal]:-?}" "${R[$key.mcpu]:-?}" "${R[$key.scpu]:-?}" \
		"${R[$key.sinkcpu]:-?}" "${R[$key.clicpu]:-?}" "${R[$key.udp]:-?}" "${R[$key.dnsq]:-?}" \
		"${R[$key.noroute]:-?}" "${R[$key.overflow]:-?}" "${R[$key.deadsyn]:-0}"
	[ -n "${R[$key.err]}" ] && printf '  %-14s ERROR %s\n' "" "${R[$key.err]}"
	[ -n "${R[$key.clierr]:-}" ] && printf '  %-14s injector: %s\n' "" "${R[$key.clierr]}"
	[ -n "${R[$key.t50]:-}" ] && printf '  %-14s arrivals: 50%% at %s s, 90%% at %s s, 99%% at %s s, all at %s s\n' "" \
		"${R[$key.t50]}" "${R[$key.t90]}" "${R[$key.t99]}" "${R[$key.elapsed]}"
	[ -n "${R[$key.nsdcpu]:-}" ] && printf '  %-14s CPU ms/msg: nsd %s, not accounted for (other sessions, this script, the sink reader) %s; load average %s\n' "" \
		"${R[$key.nsdcpu]}" "${R[$key.other]}" "${R[$key.load]}"
	[ -n "${R[$key.domcheck]:-}" ] && printf '  %-14s %s\n' "" "${R[$key.domcheck]}"
	[ "${R[$key.warm_extra]:-0}" != 0 ] && printf '  %-14s %s messages more than the warm-up had arrived before the load\n' "" "${R[$key.warm_extra]}"
	printf '  %-14s %s\n' "" "${R[$key.note]}"
}

print_header() {
	printf '  %-14s %-8s %-6s %13s %9s %8s %8s %6s %5s %7s %7s %7s %7s %6s %6s %5s %5s %6s\n' \
		run server load arrived "e2e s" "msg/s" "inject" busy steal "ms/msg" "srv ms" "sink ms" "cli ms" UDP "DNS q" NoRte LOvfl "deadSYN"
}

cell_b() { # seconds of a figure B run, FAILED, or -
	if [ -n "${R[$1.elapsed]:-}" ]; then echo "${R[$1.elapsed]}"
	elif [ -n "${R[$1.err]:-}" ]; then echo FAILED
	else echo -; fi
}

ratio() { # ratio A B: A/B with two decimals, or n/a
	if [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN { exit !($2 > 0) }"; then
		fcalc "$1 / $2" 2
	else
		echo n/a
	fi
}

# --- main ------------------------------------------------------------------
exec > >(tee -a "$RESULTS/summary.txt")
echo "postern relay benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(uname -r)  $(nproc) cores  load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "postern: $([ "$SKIP_POSTERN" = 1 ] && echo skipped || echo "$POSTERN_DESC")" \
	" Postfix: $(dpkg-query -W -f '${Version}' postfix 2>/dev/null)  netns: $NS  warm-up: $WARMUP msgs  results: $RESULTS"
echo "DNS: nsd on $DNS_ADDR:53 in the namespace (zone $ZONE; Postfix through /etc/netns/$NS/resolv.conf,"
echo "postern through dns.servers); live MX $SINK_ADDR:25 (smtp-sink), dead MX $DEAD_MATCH:25 (SYNs dropped)"
echo "columns: arrived = messages smtp-sink got / expected; e2e s = first connection of the load until"
echo "smtp-sink had them all; msg/s = expected / e2e s; inject = time the injector ran; busy, steal ="
echo "share of both cores; ms/msg = machine CPU per message (everything running); srv/sink/cli ms ="
echo "CPU of the server's processes, smtp-sink, the injector per message; UDP = datagrams sent in the"
echo "namespace (DNS: queries and nsd's answers); DNS q = queries nsd answered; NoRte = packets with no"
echo "route (attempts to leave the machine, must be 0); LOvfl = ListenOverflows; deadSYN = packets"
echo "dropped on the way to the dead MX."

mkdir -p "$T/dns"
write_zones "$T/dns"
nsd_start_zones "$T/dns" "$DNS_ADDR" 53 "$ZONE=relay.zone" "127.in-addr.arpa=rev127.zone"
if [[ " $FIGURES " == *" B "* ]]; then
	blackhole_start "$DEAD_MATCH" 25 ||
		die "could not add the drop rule for $DEAD_MATCH:25 in $NS (tried nft and iptables); install 'nftables'"
	echo "dead MX: $BLACKHOLE_TOOL rule in $NS: tcp to $DEAD_MATCH port 25 dropped (input hook)"
fi
printf 'key\tserver\tkind\texpect\tarrived\telapsed\trate\tinject\tt50\tt90\tt99\twall\tbusy\tsteal\tload\tmcpu\tscpu\tsinkcpu\tclicpu\tnsdcpu\tother\tudp\tdnsq\tnoroute\toverflow\tdeadsyn\twarm_extra\terror\tinjector_error\tdomain_check\tnote\n' >"$RESULTS/results.tsv"

SERVERS=(Postfix)
[ "$SKIP_POSTERN" != 1 ] && SERVERS=(postern Postfix)
srv_key() { if [ "$1" = Postfix ]; then echo postfix; else echo "$1"; fi; }

if [[ " $FIGURES " == *" A "* ]]; then
	echo
	echo "== figure A: $SESSIONS sessions x $SIZE bytes, $MESSAGES messages to r@$DOMAIN_A (MX -> $SINK_ADDR), a new connection per message, end to end =="
	print_header
	for ((r = 1; r <= ROUNDS; r++)); do
		order=("${SERVERS[@]}")
		if [ $((r % 2)) = 0 ] && [ "${#SERVERS[@]}" = 2 ]; then order=("${SERVERS[1]}" "${SERVERS[0]}"); fi
		for s in "${order[@]}"; do
			run_one "A$r.$(srv_key "$s")" "$(srv_key "$s")" A
		done
	done
	[ "${BENCH_CEILING:-1}" = 1 ] && run_one "A.sink" sink A
fi

if [[ " $FIGURES " == *" B "* ]]; then
	live_n=$(grep -c . "$T/b-live.list")
	echo
	echo "== figure B: $B_MESSAGES messages to $B_DOMAINS domains ($((B_MESSAGES / B_DOMAINS)) each), every ${B_DEAD_EVERY}th domain's MX dead; $SESSIONS injector sessions x $SIZE bytes =="
	echo "   'live' = the $((live_n * B_MESSAGES / B_DOMAINS)) messages of the $live_n live domains alone; 'all' = with the dead domains; clock stops when the live messages have all arrived"
	print_header
	for ((r = 1; r <= B_ROUNDS; r++)); do
		order=("${SERVERS[@]}")
		if [ $((r % 2)) = 0 ] && [ "${#SERVERS[@]}" = 2 ]; then order=("${SERVERS[1]}" "${SERVERS[0]}"); fi
		for s in "${order[@]}"; do
			k=$(srv_key "$s")
			run_one "B$r.$k.live" "$k" Blive
			run_one "B$r.$k.all" "$k" Ball
		done
	done
fi

# --- summary ---------------------------------------------------------------
echo
echo "== summary ($(date -u '+%Y-%m-%d %H:%M:%S UTC')) =="
if [[ " $FIGURES " == *" A "* ]]; then
	echo "figure A: end-to-end msg/s (machine CPU ms per message; server CPU ms per message)"
	printf '  %-6s %24s %24s %14s\n' round postern Postfix postern/Postfix
	sum_p=0 sum_f=0 n_p=0 n_f=0
	for ((r = 1; r <= ROUNDS; r++)); do
		cp_=- cf_=-
		[ -n "${R[A$r.postern.err]:-}" ] && cp_=FAILED
		[ -n "${R[A$r.postfix.err]:-}" ] && cf_=FAILED
		[ -n "${R[A$r.postern.rate]:-}" ] && { cp_="${R[A$r.postern.rate]} (${R[A$r.postern.mcpu]}; ${R[A$r.postern.scpu]})"; sum_p=$(fcalc "$sum_p + ${R[A$r.postern.rate]}" 3); n_p=$((n_p + 1)); }
		[ -n "${R[A$r.postfix.rate]:-}" ] && { cf_="${R[A$r.postfix.rate]} (${R[A$r.postfix.mcpu]}; ${R[A$r.postfix.scpu]})"; sum_f=$(fcalc "$sum_f + ${R[A$r.postfix.rate]}" 3); n_f=$((n_f + 1)); }
		printf '  %-6s %24s %24s %14s\n' "$r" "$cp_" "$cf_" "$(ratio "${R[A$r.postern.rate]:-}" "${R[A$r.postfix.rate]:-}")"
	done
	if [ "$n_p" -gt 0 ] && [ "$n_f" -gt 0 ]; then
		printf '  %-6s %24s %24s %14s   (target: >= 2)\n' mean "$(fcalc "$sum_p / $n_p" 0)" "$(fcalc "$sum_f / $n_f" 0)" \
			"$(ratio "$(fcalc "$sum_p / $n_p" 3)" "$(fcalc "$sum_f / $n_f" 3)")"
	fi
	[ -n "${R[A.sink.rate]:-}" ] &&
		printf '  ceiling: smtp-source straight into smtp-sink %s msg/s (%s ms of machine CPU per message)\n' "${R[A.sink.rate]}" "${R[A.sink.mcpu]}"
fi
if [[ " $FIGURES " == *" B "* ]]; then
	echo "figure B: seconds until every live message had arrived (live alone / with the dead domains) and the ratio"
	printf '  %-6s %-8s %10s %10s %10s\n' round server live all all/live
	for ((r = 1; r <= B_ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			k=$(srv_key "$s")
			tgt=""
			[ "$k" = postern ] && tgt="   (target: < 1.5)"
			printf '  %-6s %-8s %10s %10s %10s%s\n' "$r" "$s" "$(cell_b "B$r.$k.live")" "$(cell_b "B$r.$k.all")" \
				"$(ratio "${R[B$r.$k.all.elapsed]:-}" "${R[B$r.$k.live.elapsed]:-}")" "$tgt"
		done
	done
fi
noroute=0
if [ "${#RUNS[@]}" -gt 0 ]; then
	failed=0
	for k in "${RUNS[@]}"; do [ -n "${R[$k.err]:-}" ] && failed=$((failed + 1)); done
	[ "$failed" -gt 0 ] && echo "  $failed run(s) FAILED; the reasons are under their rows above"
fi
for k in "${!R[@]}"; do [[ "$k" == *.noroute ]] && noroute=$((noroute + R[$k])); done
echo "  packets without a route (attempts to leave the machine) in all measured runs: $noroute"
[ "$noroute" -ne 0 ] && warn "something tried to reach another host during the runs"
echo "raw results: $RESULTS (results.tsv, summary.txt, per run: sink.timeline, logs, configs)"
exit 0
