#!/usr/bin/env bash
# bench/accept.sh: how fast postern accepts mail, next to Postfix and to
# Postfix's smtp-sink (the ceiling), in the same run on the same machine.
# See bench/README.md for how to run it and how to read what it prints, and
# shared/design/BENCHMARKING.md for the method.
#
# Environment:
#   BENCH_MESSAGES=N      messages of the headline load (20000); the other
#                         loads scale from it (1 session: N/10, 100 KiB: N/4)
#   BENCH_QUICK=1         only the headline load, 2000 messages, no idle test
#   BENCH_SKIP_POSTERN=1  only Postfix and smtp-sink (no ./build/postern needed)
#   BENCH_LOADS="S:L:M[:FLAGS] ..."  loads to run instead of the default set:
#                         S sessions, L bytes per message, M messages, FLAGS
#                         extra smtp-source flags with ',' for spaces
#                         (e.g. "20:10240:20000:-d 20:10240:5000:-r,10")
#   BENCH_WARMUP=N        untimed messages sent before each measured run (200)
#   BENCH_IDLE=N          idle connections held open against postern (10000;
#                         0 skips the idle test)
#   BENCH_POSTERN=PATH    postern binary (./build/postern)
#   BENCH_POSTERN_BEFORE=PATH  a second postern binary (an earlier build),
#                         measured in each load right after the first, without
#                         checks: a change's before and after in one run
#   BENCH_POSTERN_CONF_EXTRA="..."  lines appended to postern's config
#   BENCH_POSTERN_USER=NAME  user postern's processes run as (default
#                         "postern" if it exists, else "": stay root)
#   BENCH_PORT_BASE=P     postern on P, Postfix on P+1, smtp-sink on P+2,
#                         idle test on P+3 (12525)
#   BENCH_KEEP=1          keep the temporary directory (logs, configs)
#   BENCH_CHECKS=0|1      1 (default): each load also measures postern with
#                         every sender check on (iprev, HELO, CSA, SPF of
#                         HELO, MAIL FROM and rDNS name, two DNSBLs) against
#                         an nsd on P+4, and every server gets the sender
#                         a@bench-sender.net and HELO mail.bench-sender.net
#                         (the zones: bench/lib.sh); 0: only the plain runs
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

QUICK=${BENCH_QUICK:-0}
SKIP_POSTERN=${BENCH_SKIP_POSTERN:-0}
if [ "$QUICK" = 1 ]; then
	MESSAGES=${BENCH_MESSAGES:-2000}
	IDLE_N=${BENCH_IDLE:-0}
else
	MESSAGES=${BENCH_MESSAGES:-20000}
	IDLE_N=${BENCH_IDLE:-10000}
fi
WARMUP=${BENCH_WARMUP:-200}
POSTERN=${BENCH_POSTERN:-$ROOT/build/postern}
BEFORE=${BENCH_POSTERN_BEFORE:-}
# postern drops to this user when started as root; "" keeps root. Default:
# "postern" when that user exists, else "" (this script creates no users).
if [ -z "${BENCH_POSTERN_USER+x}" ]; then
	getent passwd postern >/dev/null && POSTERN_USER=postern || POSTERN_USER=""
else
	POSTERN_USER=$BENCH_POSTERN_USER
fi
PORT_BASE=${BENCH_PORT_BASE:-12525}
PORT_POSTERN=$PORT_BASE
PORT_POSTFIX=$((PORT_BASE + 1))
PORT_SINK=$((PORT_BASE + 2))
PORT_IDLE=$((PORT_BASE + 3))
PORT_DNS=$((PORT_BASE + 4))
[ "$SKIP_POSTERN" = 1 ] && IDLE_N=0
PY=/usr/bin/python3
CHECKS=${BENCH_CHECKS:-1}
[ "$SKIP_POSTERN" = 1 ] && CHECKS=0
if [ "$CHECKS" = 1 ]; then
	# The same sender and HELO for every server, so that the comparison is
	# fair; only postern+checks looks them up.
	SENDER=a@bench-sender.net
	HELO=mail.bench-sender.net
else
	SENDER=a@test.example
	HELO=bench.example
fi
RECIPIENT=b@test.example

if [ -n "${BENCH_LOADS:-}" ]; then
	read -r -a LOADS <<<"$BENCH_LOADS"
elif [ "$QUICK" = 1 ]; then
	LOADS=("20:10240:$MESSAGES")
else
	m1=$((MESSAGES / 10))
	m100=$((MESSAGES / 4))
	[ "$m1" -lt 100 ] && m1=100
	[ "$m100" -lt 100 ] && m100=100
	LOADS=("20:10240:$MESSAGES" "1:10240:$m1" "50:10240:$MESSAGES"
		"20:1024:$MESSAGES" "20:102400:$m100")
fi

# --- checks: nothing is installed, only looked for -------------------------
[ "$(id -u)" = 0 ] || die "run as root (network namespace, Postfix's own users)"
need ip iproute2
need nstat iproute2
need ss iproute2
need setsid util-linux
need awk mawk
need smtp-source postfix
need smtp-sink postfix
need postfix postfix
if [ "$CHECKS" = 1 ]; then
	need nsd nsd
	need nsd-control nsd
fi
[ -x /usr/lib/postfix/sbin/master ] || die "Postfix's daemons are missing; install the Debian package 'postfix'"
[ -x "$PY" ] || die "$PY not found; install the Debian package 'python3-minimal'"
if ! getent passwd postfix >/dev/null || ! getent group postdrop >/dev/null; then
	die "user 'postfix' or group 'postdrop' missing; reinstall the Debian package 'postfix'"
fi
getent passwd nobody >/dev/null || die "user 'nobody' missing (smtp-sink runs as it)"
if [ "$SKIP_POSTERN" != 1 ]; then
	[ -x "$POSTERN" ] || die "$POSTERN does not exist: build postern first (make, or ninja -C build), or set BENCH_SKIP_POSTERN=1 to measure only Postfix and smtp-sink"
fi
for l in "${LOADS[@]}"; do
	IFS=: read -r s b m _ <<<"$l"
	[[ "$s" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ && "$m" =~ ^[0-9]+$ ]] ||
		die "bad load '$l' (expected SESSIONS:BYTES:MESSAGES[:FLAGS])"
done

# --- state, cleanup --------------------------------------------------------
T=$(mktemp -d /tmp/postern-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$T" # Postfix's daemons (user postfix) must reach their queue
write_helpers "$T"
NS=""
NETNS_RUN=""
POSTERN_PID=""
SINK_PID=""
SAMPLER_PID=""
CLIENT_PID=""
IDLE_PID=""
POSTFIX_DIR=""
POSTFIX_MASTER=""

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	trap - EXIT INT TERM
	[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
	[ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
	[ -n "$IDLE_PID" ] && stop_pid "$IDLE_PID" 5
	[ -n "$POSTERN_PID" ] && stop_pid "$POSTERN_PID" 20
	[ -n "$SINK_PID" ] && stop_pid "$SINK_PID" 5
	[ -n "$NSD_PID" ] && nsd_stop
	postfix_stop
	netns_teardown
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# --- network namespace -----------------------------------------------------
NS_NAME="postern-bench-$$"
netns_start "$NS_NAME"
if [ -z "$NETNS_RUN" ]; then
	somax=$(cat /proc/sys/net/core/somaxconn)
	[ "$somax" -lt 4096 ] && warn "net.core.somaxconn is $somax: listen backlogs are cut to it"
	for p in $PORT_POSTERN $PORT_POSTFIX $PORT_SINK $PORT_IDLE $PORT_DNS; do
		port_listening "$p" && die "port $p is in use; set BENCH_PORT_BASE"
	done
fi

# Enough descriptors for the idle test (client and server both inherit it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if [ "$IDLE_N" -gt 0 ] && [ "$NOFILE" -lt $((IDLE_N + 200)) ]; then
	warn "ulimit -n is $NOFILE: too low for $IDLE_N idle connections"
fi

# --- servers ---------------------------------------------------------------
RUN_ID=0

# postern_start DIR PORT [RCPTS] [CHECKS]: fresh state, accounts for the
# recipients; CHECKS=1 turns every sender check on, with nsd as resolver.
postern_start() {
	local dir=$1 checks_conf=""
	mkdir -p "$dir/var"
	if [ "${4:-0}" = 1 ]; then
		checks_conf="dns = { servers = \"127.0.0.1:$PORT_DNS\"; cache_entries = 100000; };
policy = { trusted_networks = \"\"; };
dnsbl = ( { zone = \"bl.bench-lists.net\"; type = \"ip\"; weight = 10; },
          { zone = \"dbl.bench-lists.net\"; type = \"rhs\"; weight = 10; } );"
	fi
	cat >"$dir/postern.conf" <<EOF
hostname = "bench.example";
state_dir = "$dir/var";
listeners = ( { name = "mx"; role = "mx"; address = "127.0.0.1:$2"; } );
domains = ( { name = "test.example"; delivery = "discard"; } );
postmaster = "postmaster@test.example";
abuse = "abuse@test.example";
limits = { max_connections = 20000; max_connections_per_ip = 20000; };
delivery = { maildir = "$dir/var/mail/%d/%u"; };
user = "$POSTERN_USER";
$checks_conf
${BENCH_POSTERN_CONF_EXTRA:-}
EOF
	# smtp-source -r N sends to 1b@, 2b@ ... Nb@ as well.
	local rcpts=("$RECIPIENT") r
	for ((r = 1; r <= ${3:-1} && ${3:-1} > 1; r++)); do rcpts+=("$r$RECIPIENT"); done
	for r in "${rcpts[@]}"; do
		if ! echo secret | "$POSTERN" -c "$dir/postern.conf" user add "$r" >>"$dir/useradd.log" 2>&1; then
			sed 's/^/  /' "$dir/useradd.log" >&2
			die "postern user add $r failed (config $dir/postern.conf)"
		fi
	done
	# From its own directory, so that nothing relative lands in the caller's.
	# shellcheck disable=SC2086
	(cd "$dir" && exec $NETNS_RUN setsid "$POSTERN" -c "$dir/postern.conf" serve \
		>"$dir/postern.log" 2>&1) &
	POSTERN_PID=$!
	if ! wait_port "$2" 30 "$POSTERN_PID"; then
		tail -20 "$dir/postern.log" | sed 's/^/  /' >&2
		die "postern did not listen on 127.0.0.1:$2 within 30 s (log above)"
	fi
}

postern_stop() {
	stop_pid "$POSTERN_PID" 20
	POSTERN_PID=""
}

# postfix_backlog DIR: messages still in Postfix's queue.
postfix_backlog() {
	find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/maildrop" \
		-type f 2>/dev/null | wc -l
}

sink_start() {
	# shellcheck disable=SC2086
	$NETNS_RUN setsid smtp-sink -u nobody "127.0.0.1:$1" 4096 >/dev/null 2>"$T/sink.err" &
	SINK_PID=$!
	wait_port "$1" 10 "$SINK_PID" || die "smtp-sink did not listen on 127.0.0.1:$1: $(head -3 "$T/sink.err")"
}

sink_stop() {
	stop_pid "$SINK_PID" 5
	SINK_PID=""
}

# --- one measured run ------------------------------------------------------
declare -A R

# run_client OUT ERR COMMAND...: run the load generator in the namespace. In
# the background and waited for, so that a signal reaches our trap at once.
run_client() {
	local out=$1 err=$2 rc
	shift 2
	$NETNS_RUN "$@" >"$out" 2>"$err" &
	CLIENT_PID=$!
	wait "$CLIENT_PID"
	rc=$?
	CLIENT_PID=""
	return "$rc"
}

# measure KEY ROOTPID PORT SESSIONS BYTES MESSAGES FLAGS
measure() {
	local key=$1 root=$2 port=$3 s=$4 b=$5 m=$6 flags=$7
	local out="$T/run.$key" rc cpu0 cpu1 tc0 tc1 cc0 cc1 hz t0 t1 el own
	# shellcheck disable=SC2206 # flags are split on purpose
	local src=(smtp-source $flags -M "$HELO" -f "$SENDER" -t "$RECIPIENT" -s "$s" -l "$b")
	local q0="" q1=
	if [ "$WARMUP" -gt 0 ]; then
		run_client /dev/null "$out.warmup.err" "${src[@]}" -m "$WARMUP" "127.0.0.1:$port" ||
			warn "$key: warm-up failed: $(head -1 "$out.warmup.err")"
	fi
	R[$key.backlog]=$(listen_backlogs "$port")
	nstat_snapshot "$out.nstat0"
	[ -n "$NSD_PID" ] && q0=$(nsd_queries "$T/dns")
	read -r tc0 hz < <("$PY" "$T/benchhelper.py" tree-cpu "$root")
	"$PY" "$T/benchhelper.py" sample "$root" "$out.peak" 0.2 &
	SAMPLER_PID=$!
	cpu0=$(machine_busy_ticks)
	children_cpu "$out.cc0"
	t0=$(now)
	run_client "$out.out" "$out.err" "${src[@]}" -c -m "$m" "127.0.0.1:$port"
	rc=$?
	t1=$(now)
	children_cpu "$out.cc1" # only smtp-source (and date) were reaped in between
	cc0=$(cat "$out.cc0")
	cc1=$(cat "$out.cc1")
	cpu1=$(machine_busy_ticks)
	read -r tc1 _ < <("$PY" "$T/benchhelper.py" tree-cpu "$root")
	nstat_snapshot "$out.nstat1"
	[ -n "$NSD_PID" ] && q1=$(nsd_queries "$T/dns")
	if [ -n "$q0" ] && [ "$q0" != "?" ] && [ "$q1" != "?" ]; then
		R[$key.dnsq]=$((q1 - q0))
	else
		R[$key.dnsq]=""
	fi
	kill "$SAMPLER_PID" 2>/dev/null
	wait "$SAMPLER_PID" 2>/dev/null
	SAMPLER_PID=""
	read -r "R[$key.rss]" "R[$key.pss]" "R[$key.procs]" _ own <"$out.peak" 2>/dev/null ||
		{ R[$key.rss]=0 R[$key.pss]=0 R[$key.procs]=0 own=0; }
	# The memory sampler's own CPU is not the server's nor the client's.
	cpu1=$((cpu1 - ${own:-0}))
	el=$(fcalc "$t1 - $t0" 3)
	R[$key.elapsed]=$el
	R[$key.rate]=$(fcalc "$m / $el" 0)
	R[$key.busy]=$(fcalc "100 * ($cpu1 - $cpu0) / ($hz * $el * $(nproc))" 0)
	R[$key.cpu]=$(fcalc "1000 * ($cpu1 - $cpu0) / $hz / $m" 3)
	R[$key.scpu]=$(fcalc "1000 * ($tc1 - $tc0) / $hz / $m" 3)
	R[$key.sccpu]=$(fcalc "(1000 * ($tc1 - $tc0) / $hz + 1000 * ($cc1 - $cc0)) / $m" 3)
	R[$key.udp]=$(($(nstat_delta "$out.nstat0" "$out.nstat1" UdpOutDatagrams) + \
		$(nstat_delta "$out.nstat0" "$out.nstat1" Udp6OutDatagrams)))
	R[$key.noroute]=$(($(nstat_delta "$out.nstat0" "$out.nstat1" IpOutNoRoutes) + \
		$(nstat_delta "$out.nstat0" "$out.nstat1" Ip6OutNoRoutes)))
	R[$key.overflow]=$(nstat_delta "$out.nstat0" "$out.nstat1" TcpExtListenOverflows)
	if [ "$rc" != 0 ] || [ -s "$out.err" ]; then
		R[$key.err]="smtp-source exit $rc: $(grep -v '^$' "$out.err" | head -1)"
	else
		R[$key.err]=""
	fi
}

mb() { fcalc "$1 / 1024" 1; }

# rcpt_count FLAGS: recipients per message (smtp-source -r N).
rcpt_count() {
	if [[ "$1" =~ -r\ *([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 1; fi
}

print_row() {
	local name=$1 key=$2
	if [ -z "${R[$key.rate]:-}" ]; then
		printf '  %-11s %s\n' "$name" "(not run)"
		return
	fi
	printf '  %-11s %8s %6s%% %8s %8s %8s %8s %8s %6s %4s %5s %5s\n' "$name" \
		"${R[$key.rate]}" "${R[$key.busy]}" "${R[$key.cpu]}" "${R[$key.sccpu]}" "${R[$key.scpu]}" \
		"$(mb "${R[$key.rss]}")" "$(mb "${R[$key.pss]}")" "${R[$key.procs]}" \
		"${R[$key.udp]}" "${R[$key.noroute]}" "${R[$key.overflow]}"
	[ -n "${R[$key.err]}" ] && printf '  %-11s ERROR %s\n' "" "${R[$key.err]}"
	printf '  %-11s listen backlog %s; %s s' "" "${R[$key.backlog]:-?}" "${R[$key.elapsed]}"
	[ -n "${R[$key.dnsq]:-}" ] && printf '; nsd answered %s DNS queries' "${R[$key.dnsq]}"
	printf '\n'
	[ -n "${R[$key.note]:-}" ] && printf '  %-11s %s\n' "" "${R[$key.note]}"
	[ -n "${R[$key.note2]:-}" ] && printf '  %-11s %s\n' "" "${R[$key.note2]}"
	return 0
}

print_header() {
	printf '  %-11s %8s %7s %8s %8s %8s %8s %8s %6s %4s %5s %5s\n' server msg/s busy \
		"ms/msg" "s+c ms" "srv ms" "RSS MB" "PSS MB" procs UDP NoRte LOvfl
}

ratio() { # ratio A B: A/B with two decimals, or n/a
	if [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN { exit !($2 > 0) }"; then
		fcalc "$1 / $2" 2
	else
		echo n/a
	fi
}

print_ratios() {
	local i=$1
	if [ -n "${R[$i.postern.rate]:-}" ] && [ -n "${R[$i.postfix.rate]:-}" ]; then
		printf '  postern/Postfix: rate x%s, CPU per message x%s (machine) x%s (server+client) x%s (server)\n' \
			"$(ratio "${R[$i.postern.rate]}" "${R[$i.postfix.rate]}")" \
			"$(ratio "${R[$i.postern.cpu]}" "${R[$i.postfix.cpu]}")" \
			"$(ratio "${R[$i.postern.sccpu]}" "${R[$i.postfix.sccpu]}")" \
			"$(ratio "${R[$i.postern.scpu]}" "${R[$i.postfix.scpu]}")"
	fi
	if [ -n "${R[$i.before.rate]:-}" ] && [ -n "${R[$i.postfix.rate]:-}" ]; then
		printf '  before/Postfix: rate x%s; postern/before: rate x%s, server CPU per message x%s\n' \
			"$(ratio "${R[$i.before.rate]}" "${R[$i.postfix.rate]}")" \
			"$(ratio "${R[$i.postern.rate]}" "${R[$i.before.rate]}")" \
			"$(ratio "${R[$i.postern.scpu]}" "${R[$i.before.scpu]}")"
	fi
	if [ -n "${R[$i.checks.rate]:-}" ] && [ -n "${R[$i.postern.rate]:-}" ]; then
		printf '  postern+checks/postern: rate x%s, CPU per message x%s (machine) x%s (server+client) x%s (server)\n' \
			"$(ratio "${R[$i.checks.rate]}" "${R[$i.postern.rate]}")" \
			"$(ratio "${R[$i.checks.cpu]}" "${R[$i.postern.cpu]}")" \
			"$(ratio "${R[$i.checks.sccpu]}" "${R[$i.postern.sccpu]}")" \
			"$(ratio "${R[$i.checks.scpu]}" "${R[$i.postern.scpu]}")"
		printf '  postern+checks: %s ms of server CPU per message more than postern\n' \
			"$(fcalc "${R[$i.checks.scpu]} - ${R[$i.postern.scpu]}" 3)"
	fi
	if [ -n "${R[$i.checks.rate]:-}" ] && [ -n "${R[$i.postfix.rate]:-}" ]; then
		printf '  postern+checks/Postfix: rate x%s, CPU per message x%s (machine) x%s (server+client) x%s (server)\n' \
			"$(ratio "${R[$i.checks.rate]}" "${R[$i.postfix.rate]}")" \
			"$(ratio "${R[$i.checks.cpu]}" "${R[$i.postfix.cpu]}")" \
			"$(ratio "${R[$i.checks.sccpu]}" "${R[$i.postfix.sccpu]}")" \
			"$(ratio "${R[$i.checks.scpu]}" "${R[$i.postfix.scpu]}")"
	fi
	if [ -n "${R[$i.sink.rate]:-}" ]; then
		printf '  smtp-sink ceiling %s msg/s' "${R[$i.sink.rate]}"
		[ -n "${R[$i.postfix.rate]:-}" ] &&
			printf ' = Postfix x%s' "$(ratio "${R[$i.sink.rate]}" "${R[$i.postfix.rate]}")"
		[ -n "${R[$i.postern.rate]:-}" ] &&
			printf ', postern x%s' "$(ratio "${R[$i.sink.rate]}" "${R[$i.postern.rate]}")"
		printf '\n'
	fi
}

describe_load() {
	local s=$1 b=$2 m=$3 f=$4 d="new connection per message"
	[[ " $f " == *" -d "* ]] && d="persistent sessions"
	printf '%s session(s) x %s bytes, %s messages, %s%s' "$s" "$b" "$m" "$d" "${f:+ (smtp-source $f)}"
}

# run_postern IDX NAME CHECKS S B M FLAGS: start postern, measure, wait
# for its deliveries, stop it; NAME is the result key (postern or checks).
run_postern() {
	local idx=$1 name=$2 checks=$3 s=$4 b=$5 m=$6 f=$7 plog want i bad n
	log "  postern$([ "$checks" = 1 ] && echo " with checks") ..."
	RUN_ID=$((RUN_ID + 1))
	postern_start "$T/postern-$RUN_ID" "$PORT_POSTERN" "$(rcpt_count "$f")" "$checks"
	measure "$idx.$name" "$POSTERN_PID" "$PORT_POSTERN" "$s" "$b" "$m" "$f"
	plog="$T/postern-$RUN_ID/postern.log"
	want=$(((m + WARMUP) * $(rcpt_count "$f")))
	# Let the queue manager finish (counted from the log's events).
	i=0
	while [ "$(grep -c 'event=delivered' "$plog")" -lt "$want" ] && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	R[$idx.$name.note]="received $(grep -c 'event=received' "$plog") messages, delivered $(grep -c 'event=delivered' "$plog") of $want recipients (log events)"
	postern_stop
	bad=$(grep -Ec 'level=(warn|warning|err|error|crit|fatal|panic)' "$plog")
	[ "$bad" -gt 0 ] &&
		R[$idx.$name.note]+="; $bad warning/error lines, first: $(grep -E -m1 'level=(warn|warning|err|error|crit|fatal|panic)' "$plog" | cut -c1-160)"
	if [ "$checks" = 1 ]; then
		# What the checks found, from the event=checks lines.
		n=$(grep -c 'event=checks' "$plog")
		R[$idx.$name.note2]="event=checks lines: $n; iprev=pass $(grep 'event=checks' "$plog" | grep -c ' iprev=pass'), spf_mailfrom=pass $(grep 'event=checks' "$plog" | grep -c ' spf_mailfrom=pass'), spf_helo=pass $(grep 'event=checks' "$plog" | grep -c ' spf_helo=pass'), score=0 $(grep 'event=checks' "$plog" | grep -c ' score=0 ')"
		[ "$n" -gt 0 ] && R[$idx.$name.note2]+="; first: $(grep -m1 'event=checks' "$plog" | sed 's/.*event=checks [^ ]* [^ ]* //' | cut -c1-200)"
	fi
}

# --- main ------------------------------------------------------------------
echo "postern accept benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(uname -r)  $(nproc) cores"
[ -n "$BEFORE" ] && { [ -x "$BEFORE" ] || die "$BEFORE does not exist"; echo "before: $BEFORE"; }
echo "postern: $([ "$SKIP_POSTERN" = 1 ] && echo skipped || echo "$POSTERN")" \
	" Postfix: $(dpkg-query -W -f '${Version}' postfix 2>/dev/null)" \
	" netns: ${NS:-none (plain loopback)}  warm-up: $WARMUP msgs  ulimit -n: $NOFILE"
echo "columns: msg/s; busy = both cores' busy share; ms/msg = machine CPU per message"
echo "(everything running, memory sampler excepted); s+c ms = CPU of server processes"
echo "+ smtp-source per message; srv ms = server processes only; peak RSS/PSS summed"
echo "over the server's processes; UDP = UDP datagrams sent; NoRte = packets with no"
echo "route (attempts to leave the machine); LOvfl = ListenOverflows."

if [ "$CHECKS" = 1 ]; then
	mkdir -p "$T/dns"
	bench_zones_write "$T/dns"
	nsd_start "$T/dns" "$PORT_DNS"
	echo "checks: postern+checks resolves through nsd on 127.0.0.1:$PORT_DNS (zones: bench/lib.sh);"
	echo "every server gets MAIL FROM $SENDER and HELO $HELO"
fi

idx=0
for l in "${LOADS[@]}"; do
	idx=$((idx + 1))
	IFS=: read -r s b m f <<<"$l"
	f=${f//,/ }
	echo
	echo "== load $idx: $(describe_load "$s" "$b" "$m" "$f") =="
	if [ "$SKIP_POSTERN" != 1 ]; then
		run_postern "$idx" postern 0 "$s" "$b" "$m" "$f"
		if [ -n "$BEFORE" ]; then
			after=$POSTERN
			POSTERN=$BEFORE
			run_postern "$idx" before 0 "$s" "$b" "$m" "$f"
			POSTERN=$after
		fi
		[ "$CHECKS" = 1 ] && run_postern "$idx" checks 1 "$s" "$b" "$m" "$f"
	fi
	log "  Postfix ..."
	RUN_ID=$((RUN_ID + 1))
	pdir="$T/postfix-$RUN_ID"
	postfix_start "$pdir" "$PORT_POSTFIX"
	measure "$idx.postfix" "$POSTFIX_MASTER" "$PORT_POSTFIX" "$s" "$b" "$m" "$f"
	backlog=$(postfix_backlog "$pdir")
	i=0
	while [ "$(postfix_backlog "$pdir")" -gt 0 ] && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sent=$(grep -c 'status=sent' "$pdir/maillog" 2>/dev/null)
	R[$idx.postfix.note]="queue at end of run: $backlog; discarded $sent of $(((m + WARMUP) * $(rcpt_count "$f"))) recipients"
	postfix_stop
	log "  smtp-sink ..."
	sink_start "$PORT_SINK"
	measure "$idx.sink" "$SINK_PID" "$PORT_SINK" "$s" "$b" "$m" "$f"
	sink_stop
	print_header
	[ "$SKIP_POSTERN" != 1 ] && print_row postern "$idx.postern"
	[ -n "$BEFORE" ] && print_row before "$idx.before"
	[ "$CHECKS" = 1 ] && print_row postern+chk "$idx.checks"
	print_row Postfix "$idx.postfix"
	print_row smtp-sink "$idx.sink"
	print_ratios "$idx"
done

# --- idle connections ------------------------------------------------------
if [ "$IDLE_N" -gt 0 ]; then
	echo
	echo "== idle: $IDLE_N connections to postern that got the greeting and stay silent =="
	RUN_ID=$((RUN_ID + 1))
	postern_start "$T/postern-$RUN_ID" "$PORT_IDLE"
	sleep 1
	read -r rss0 pss0 n0 < <("$PY" "$T/benchhelper.py" tree-mem "$POSTERN_PID")
	# shellcheck disable=SC2086
	$NETNS_RUN "$PY" "$T/benchhelper.py" idle "$PORT_IDLE" "$IDLE_N" 120 >"$T/idle.out" 2>"$T/idle.err" &
	IDLE_PID=$!
	i=0
	while ! grep -q '^READY' "$T/idle.out" 2>/dev/null; do
		kill -0 "$IDLE_PID" 2>/dev/null || break
		i=$((i + 1))
		[ "$i" -gt 1300 ] && break
		sleep 0.1
	done
	ready=$(grep '^READY' "$T/idle.out")
	if [ -z "$ready" ]; then
		warn "idle client did not get ready: $(tail -3 "$T/idle.err")"
	else
		sleep 1
		rss1=0 pss1=0 n1=0
		for _ in 1 2 3 4 5; do
			read -r r p n < <("$PY" "$T/benchhelper.py" tree-mem "$POSTERN_PID")
			[ "$r" -gt "$rss1" ] && rss1=$r
			[ "$p" -gt "$pss1" ] && pss1=$p
			[ "$n" -gt "$n1" ] && n1=$n
			sleep 0.2
		done
		greeted=$(sed -n 's/.*greeted=\([0-9]*\).*/\1/p' <<<"$ready")
		printf '  client: %s\n' "${ready#READY }"
		printf '  postern before: RSS %s MB, PSS %s MB (%s processes)\n' "$(mb "$rss0")" "$(mb "$pss0")" "$n0"
		printf '  postern with the connections open: RSS %s MB, PSS %s MB (%s processes)\n' \
			"$(mb "$rss1")" "$(mb "$pss1")" "$n1"
		[ "${greeted:-0}" -gt 0 ] &&
			printf '  per connection: %s KB RSS, %s KB PSS\n' \
				"$(fcalc "($rss1 - $rss0) / $greeted" 1)" "$(fcalc "($pss1 - $pss0) / $greeted" 1)"
	fi
	stop_pid "$IDLE_PID" 10
	IDLE_PID=""
	grep '^CLOSED_BY_SERVER' "$T/idle.out" | sed 's/^/  /'
	postern_stop
fi

# --- summary ---------------------------------------------------------------
cell() { if [ -n "${R[$1.rate]:-}" ]; then printf '%s (%s)' "${R[$1.rate]}" "${R[$1.sccpu]}"; else printf -- '-'; fi; }
echo
echo "== summary: msg/s (server+client CPU ms per message) =="
if [ "$CHECKS" = 1 ]; then
	printf '  %-40s %16s %16s %16s %16s %7s %7s\n' load postern postern+checks Postfix smtp-sink \
		"pt/Pfx" "chk/Pfx"
else
	printf '  %-44s %16s %16s %16s %8s\n' load postern Postfix smtp-sink ratio
fi
idx=0
for l in "${LOADS[@]}"; do
	idx=$((idx + 1))
	IFS=: read -r s b m f <<<"$l"
	if [ "$CHECKS" = 1 ]; then
		printf '  %-40s %16s %16s %16s %16s %7s %7s\n' "$s x $b B, $m msgs${f:+ ${f//,/ }}" \
			"$(cell "$idx.postern")" "$(cell "$idx.checks")" "$(cell "$idx.postfix")" \
			"$(cell "$idx.sink")" \
			"$(ratio "${R[$idx.postern.rate]:-}" "${R[$idx.postfix.rate]:-}")" \
			"$(ratio "${R[$idx.checks.rate]:-}" "${R[$idx.postfix.rate]:-}")"
	else
		printf '  %-44s %16s %16s %16s %8s\n' "$s x $b B, $m msgs${f:+ ${f//,/ }}" \
			"$(cell "$idx.postern")" "$(cell "$idx.postfix")" "$(cell "$idx.sink")" \
			"$(ratio "${R[$idx.postern.rate]:-}" "${R[$idx.postfix.rate]:-}")"
	fi
done
# UDP in the postern+checks runs is its DNS traffic (counted apart);
# anywhere else it is a stray look-up.
udp_total=0 udp_checks=0 dnsq_checks=0
for k in "${!R[@]}"; do
	if [[ "$k" == *.checks.udp ]]; then
		udp_checks=$((udp_checks + R[$k]))
	elif [[ "$k" == *.udp ]]; then
		udp_total=$((udp_total + R[$k]))
	fi
	[[ "$k" == *.checks.dnsq && -n "${R[$k]}" ]] && dnsq_checks=$((dnsq_checks + R[$k]))
done
echo "  UDP datagrams sent during measured runs: $udp_total${NS:+ (namespace $NS)}"
[ "$CHECKS" = 1 ] &&
	echo "  postern+checks runs: $udp_checks UDP datagrams (its queries and the answers), nsd answered $dnsq_checks queries"
[ "$CHECKS" = 1 ] && CHECKS_NOTE=" (postern+checks runs excepted)"
[ "$udp_total" -ne 0 ] && warn "UDP was sent during the runs${CHECKS_NOTE:-}: something resolves names (see BENCHMARKING.md)"
exit 0
