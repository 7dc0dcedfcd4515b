#!/usr/bin/env bash
# bench/policyd.sh: how fast `postern policyd` answers Postfix's policy
# requests on one core with a warm DNS cache, and what it costs Postfix to
# ask it (Postfix's acceptance rate without and with check_policy_service,
# in the same run).  See bench/README.md ("Policy service") for how to read
# it, and shared/design/BENCHMARKING.md for the method.
#
# Environment:
#   BENCH_REQUESTS=N     requests of each measured policyd run (200000)
#   BENCH_CONNS=N        connections the load generator keeps open (50)
#   BENCH_LOADS="1:noreuse 1 10"
#                        the policyd runs, each RCPTS[:noreuse]: recipients
#                        per message (1 = every request a new message), and
#                        ":noreuse" for policyd_cache_seconds = 0 (every
#                        message a whole check on cached DNS answers); else
#                        the default, a finished check reused by the next
#                        messages of the same client, HELO name and sender
#   BENCH_MESSAGES=N     messages of each Postfix run (3000; 0 skips Postfix)
#   BENCH_SESSIONS=N     smtp-source sessions (20)
#   BENCH_PAIRS=N        Postfix without/with pairs, alternated (2)
#   BENCH_POSTERN=PATH   postern binary (./build/postern)
#   BENCH_PORT_BASE=P    policyd on P, Postfix on P+1, nsd on P+2 (13525)
#   BENCH_KEEP=1         keep the temporary directory (configs, logs)
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

REQUESTS=${BENCH_REQUESTS:-200000}
CONNS=${BENCH_CONNS:-50}
LOADS=${BENCH_LOADS:-1:noreuse 1 10}
MESSAGES=${BENCH_MESSAGES:-3000}
SESSIONS=${BENCH_SESSIONS:-20}
PAIRS=${BENCH_PAIRS:-2}
POSTERN=${BENCH_POSTERN:-$ROOT/build/postern}
PORT_BASE=${BENCH_PORT_BASE:-13525}
PORT_POLICYD=$PORT_BASE
PORT_POSTFIX=$((PORT_BASE + 1))
PORT_DNS=$((PORT_BASE + 2))
WARMUP_MSGS=200
SENDER=a@bench-sender.net
HELO=mail.bench-sender.net

[ "$(id -u)" = 0 ] || die "run as root (network namespace, Postfix's own users)"
need ip iproute2
need nstat iproute2
need taskset util-linux
need setsid util-linux
need cc gcc
need nsd nsd
need nsd-control nsd
if [ "$MESSAGES" -gt 0 ]; then
	need smtp-source postfix
	need postfix postfix
fi
[ -x "$POSTERN" ] || die "$POSTERN does not exist: build postern first (ninja -C build)"
[ "$(nproc)" -ge 2 ] || die "needs two cores: policyd on one, the load generator on the other"

T=$(mktemp -d /tmp/postern-bench-policyd.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
NS=""
NETNS_RUN=""
POLICYD_PID=""
CLIENT_PID=""
POSTFIX_DIR=""

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	trap - EXIT INT TERM
	[ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
	[ -n "$POLICYD_PID" ] && stop_pid "$POLICYD_PID" 10
	[ -n "$NSD_PID" ] && nsd_stop
	postfix_stop
	netns_teardown
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# A private network namespace with only lo: nothing can leave the machine.
NS_NAME="postern-bench-policyd-$$"
netns_start "$NS_NAME"

# --- the pieces ------------------------------------------------------------
cc -O2 -Wall -Wextra -o "$T/policyd_load" "$ROOT/bench/policyd_load.c" ||
	die "cannot build bench/policyd_load.c"
mkdir -p "$T/dns" "$T/var"
bench_zones_write "$T/dns"
NSD_CPUS=1 nsd_start "$T/dns" "$PORT_DNS"

cat >"$T/postern.conf" <<EOF
hostname = "bench.example";
state_dir = "$T/var";
user = "";
listeners = ( { name = "mx"; role = "mx"; address = "127.0.0.1:$((PORT_BASE + 3))"; } );
domains = ( { name = "test.example"; delivery = "discard"; } );
postmaster = "postmaster@test.example";
abuse = "abuse@test.example";
dns = { servers = "127.0.0.1:$PORT_DNS"; cache_entries = 100000; };
policy = { trusted_networks = ""; };
dnsbl = ( { zone = "bl.bench-lists.net"; type = "ip"; weight = 10; },
          { zone = "dbl.bench-lists.net"; type = "rhs"; weight = 10; } );
EOF
# The same without reuse across messages.
{ cat "$T/postern.conf"; echo "policyd_cache_seconds = 0;"; } >"$T/postern-noreuse.conf"

# policyd_run MODE: policyd ("reuse", the default configuration, or
# "noreuse") on CPU 0, unless it runs already; the load generator and nsd
# share CPU 1.  POLICYD_PID is the policyd process itself (setsid and
# taskset exec into it); one log for all.
POLICYD_MODE=""
policyd_run() {
	local conf=$T/postern.conf
	[ "$1" = noreuse ] && conf=$T/postern-noreuse.conf
	[ "$POLICYD_MODE" = "$1" ] && return 0
	if [ -n "$POLICYD_PID" ]; then
		stop_pid "$POLICYD_PID" 10
		POLICYD_PID=""
	fi
	(cd "$T" && exec $NETNS_RUN setsid taskset -c 0 "$POSTERN" -c "$conf" policyd \
		--listen "127.0.0.1:$PORT_POLICYD" --foreground >>"$T/policyd.log" 2>&1) &
	POLICYD_PID=$!
	wait_port "$PORT_POLICYD" 20 "$POLICYD_PID" || {
		tail -5 "$T/policyd.log" >&2
		die "policyd did not listen on 127.0.0.1:$PORT_POLICYD"
	}
	POLICYD_MODE=$1
}

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

echo "postern policyd benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(uname -r)  $(nproc) cores"
echo "postern: $POSTERN  Postfix: $(dpkg-query -W -f '${Version}' postfix 2>/dev/null)  netns: ${NS:-none}"
echo "policyd pinned to CPU 0 (taskset), load generator and nsd on CPU 1; every client,"
echo "HELO and sender from bench/lib.sh's zones; dns.cache_entries = 100000."

# --- requests per second on one core ---------------------------------------
echo
echo "== policyd: $REQUESTS requests over $CONNS connections, one outstanding per connection =="
printf '  %-26s %8s %5s %10s %9s %7s %4s %5s  %s\n' load "req/s" "busy" "CPU us/req" \
	"req/CPU-s" checks UDP "nsd q" replies
for load in $LOADS; do
	r=${load%%:*}
	mode=reuse
	[ "${load#*:}" = noreuse ] && mode=noreuse
	policyd_run "$mode"
	checks0=$(grep -c 'event=policyd_check' "$T/policyd.log")
	nstat_snapshot "$T/n0"
	q0=$(nsd_queries "$T/dns")
	c0=$(proc_ticks "$POLICYD_PID")
	$NETNS_RUN taskset -c 1 "$T/policyd_load" -c "$CONNS" -n "$REQUESTS" -r "$r" -w 2000 \
		"127.0.0.1:$PORT_POLICYD" >"$T/load.$r" 2>"$T/load.$r.err" &
	CLIENT_PID=$!
	wait "$CLIENT_PID"
	rc=$?
	CLIENT_PID=""
	c1=$(proc_ticks "$POLICYD_PID")
	q1=$(nsd_queries "$T/dns")
	nstat_snapshot "$T/n1"
	checks=$(($(grep -c 'event=policyd_check' "$T/policyd.log") - checks0))
	if [ "$rc" != 0 ]; then
		warn "load generator failed: $(cat "$T/load.$r.err" "$T/load.$r")"
		continue
	fi
	read -r el rate replies < <(awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %s dunno=%s,prepend=%s,reject=%s,defer=%s\n", v["seconds"], v["rate"],
			v["dunno"], v["prepend"], v["reject"], v["defer"] }' "$T/load.$r")
	# Ticks include the 2000 warm-up requests; the CPU figures are per
	# request of warm-up and run together.
	cpu=$(fcalc "($c1 - $c0) / $HZ" 3)
	us=$(fcalc "1000000 * $cpu / ($REQUESTS + 2000)" 1)
	per=$(awk "BEGIN { if ($cpu > 0) printf \"%.0f\", ($REQUESTS + 2000) / $cpu; else print \"-\" }")
	busy=$(fcalc "100 * $cpu / $el" 0)
	udp=$(nstat_delta "$T/n0" "$T/n1" UdpOutDatagrams)
	[ "$q0" != "?" ] && [ "$q1" != "?" ] && nq=$((q1 - q0)) || nq="?"
	printf '  %-26s %8s %4s%% %10s %9s %7s %4s %5s  %s\n' \
		"$r rcpt/message, reuse $([ "$mode" = reuse ] && echo on || echo off)" "$rate" \
		"$busy" "$us" "$per" "$checks" "$udp" "$nq" "$replies"
done
echo "  req/s: wall-clock rate; busy: policyd's CPU time / wall time (100% = its core);"
echo "  req/CPU-s: requests per second of policyd CPU; checks: whole checks made (the other"
echo "  messages reused one); UDP/nsd q: DNS traffic (warm: ~0).  All three columns count"
echo "  the 2,000 warm-up requests too.  Reuse: policyd_cache_seconds (default 60; off: 0)."

# --- Postfix with and without check_policy_service --------------------------
if [ "$MESSAGES" -gt 0 ]; then
	# The service as configured by default: reuse across messages on.
	policyd_run reuse
	echo
	echo "== Postfix: smtp-source -c -s $SESSIONS -l 10240 -m $MESSAGES, without and with check_policy_service =="
	printf '  %-22s %9s %9s %14s  %s\n' run "msg/s" seconds "checks/reused" errors
	declare -A sum=([0]=0 [1]=0)
	run=0
	for ((p = 1; p <= PAIRS; p++)); do
		for pol in 0 1; do
			run=$((run + 1))
			dir="$T/postfix-$run"
			before=$(grep -c 'event=policyd_check' "$T/policyd.log")
			before_r=$(grep -c 'event=policyd_reuse' "$T/policyd.log")
			if [ "$pol" = 1 ]; then
				# After the relay check, every recipient is asked about.
				postfix_start "$dir" "$PORT_POSTFIX" "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$PORT_POLICYD"
			else
				postfix_start "$dir" "$PORT_POSTFIX"
			fi
			src=(smtp-source -M "$HELO" -f "$SENDER" -t b@test.example -s "$SESSIONS" -l 10240)
			$NETNS_RUN "${src[@]}" -m "$WARMUP_MSGS" "127.0.0.1:$PORT_POSTFIX" >/dev/null 2>"$dir/warm.err"
			t0=$(now)
			$NETNS_RUN "${src[@]}" -c -m "$MESSAGES" "127.0.0.1:$PORT_POSTFIX" >"$dir/src.out" 2>"$dir/src.err"
			rc=$?
			t1=$(now)
			postfix_stop
			el=$(fcalc "$t1 - $t0" 3)
			rate=$(fcalc "$MESSAGES / $el" 0)
			sum[$pol]=$(fcalc "${sum[$pol]} + $rate" 0)
			checks=$(($(grep -c 'event=policyd_check' "$T/policyd.log") - before))
			reused=$(($(grep -c 'event=policyd_reuse' "$T/policyd.log") - before_r))
			err=$(grep -v '^$' "$dir/src.err" | head -1)
			[ "$rc" != 0 ] && err="exit $rc $err"
			printf '  %-22s %9s %9s %14s  %s\n' \
				"$([ "$pol" = 1 ] && echo "with policyd" || echo "without") (pair $p)" \
				"$rate" "$el" "$([ "$pol" = 1 ] && echo "$checks/$reused" || echo -)" "${err:--}"
		done
	done
	echo "  with/without (mean of $PAIRS pairs): x$(fcalc "${sum[1]} / ${sum[0]}" 3)"
	echo "  checks/reused: messages with a check of their own (event=policyd_check) and with"
	echo "  another's (event=policyd_reuse), warm-up of $WARMUP_MSGS included"
fi
exit 0
