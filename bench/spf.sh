#!/usr/bin/env bash
# bench/spf.sh: SPF check_host() evaluations per second on one core with a
# warm resolver cache. Starts nsd on loopback with the zones of
# bench/lib.sh (realistic records: ip4/ip6 ranges, a, mx, redirect=, an
# include chain three levels deep), builds bench/spf_bench in build-bench
# (meson -Dbench=true) and runs it pinned to one core. See bench/README.md.
#
# Environment:
#   BENCH_SPF_SECONDS=N     length of each measured phase (10)
#   BENCH_SPF_INFLIGHT="M.." checks in flight; one measured run per value ("64 1")
#   BENCH_SPF_CPU=C         core spf_bench is pinned to (0); nsd gets the others
#   BENCH_PERF=1            also a perf record of one run, with its report
#   BENCH_CALLGRIND=1       also a short run under callgrind: instructions per
#                           evaluation (measured phase only) and the top functions
#   BENCH_BUILD=DIR         build directory (./build-bench)
#   BENCH_DNS_PORT=P        nsd's port (12553)
#   BENCH_KEEP=1            keep the temporary directory
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

SECS=${BENCH_SPF_SECONDS:-10}
read -r -a INFLIGHTS <<<"${BENCH_SPF_INFLIGHT:-64 1}"
CPU=${BENCH_SPF_CPU:-0}
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
PORT=${BENCH_DNS_PORT:-12553}
NCPU=$(nproc)
if [ -z "${NSD_CPUS+x}" ]; then
	NSD_CPUS=$(seq 0 $((NCPU - 1)) | grep -vx "$CPU" | paste -sd, -)
fi

need nsd nsd
need nsd-control nsd
need meson meson
need ninja ninja-build
need taskset util-linux
need setsid util-linux
need ip iproute2
[ "${BENCH_PERF:-0}" = 1 ] && need perf linux-perf
[ "${BENCH_CALLGRIND:-0}" = 1 ] && need valgrind valgrind

# --- build -----------------------------------------------------------------
if [ -f "$BUILD/build.ninja" ]; then
	meson configure "$BUILD" -Dbench=true >/dev/null || die "meson configure $BUILD failed"
else
	(cd "$ROOT" && meson setup "$BUILD" -Dbench=true -Dtests=false) >/dev/null ||
		die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" bench/spf_bench >"$BUILD/spf_bench.build.log" 2>&1 || {
	tail -20 "$BUILD/spf_bench.build.log" >&2
	die "building spf_bench failed"
}
BIN=$BUILD/bench/spf_bench

# --- state, namespace, cleanup -----------------------------------------------
T=$(mktemp -d /tmp/postern-spf.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
NS=""
NETNS_RUN=""
cleanup() {
	trap - EXIT INT TERM
	nsd_stop
	if [ -n "$NS" ]; then
		local left
		left=$(ip netns pids "$NS" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$left" ] && kill -KILL $left 2>/dev/null && sleep 0.3
		ip netns del "$NS" 2>/dev/null || warn "could not delete network namespace $NS"
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [ "$(id -u)" = 0 ] && ip netns add "postern-spf-$$" 2>/dev/null; then
	NS="postern-spf-$$"
	ip netns exec "$NS" ip link set lo up || die "could not bring lo up in $NS"
	NETNS_RUN="ip netns exec $NS"
else
	warn "no private network namespace (needs root): the UDP counter then counts the whole machine"
fi

bench_zones_write "$T"
nsd_start "$T" "$PORT"

echo "postern SPF benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(uname -r)  $NCPU cores"
echo "spf_bench pinned to CPU $CPU, nsd to CPU(s) ${NSD_CPUS:-any}; netns: ${NS:-none}"
echo "cases ($(grep -cv '^#' "$T/spf-cases")): $(grep -v '^#' "$T/spf-cases" | awk '{ n[$3]++ } END { for (r in n) printf "%s %s=%d", sep, r, n[r]; sep = "," }')"
echo

# run_bench INFLIGHT SECONDS [WRAPPER...]: WRAPPER runs spf_bench, pinned
# (valgrind does not follow taskset's exec, so it goes inside the pinning;
# perf follows it, so it goes outside: its own threads are not pinned).
run_bench() {
	local m=$1 s=$2
	shift 2
	local pre=() post=()
	if [ "${1:-}" = perf ]; then pre=("$@"); else post=("$@"); fi
	# shellcheck disable=SC2086
	$NETNS_RUN "${pre[@]}" taskset -c "$CPU" "${post[@]}" "$BIN" --server "127.0.0.1:$PORT" \
		--cases "$T/spf-cases" --seconds "$s" --inflight "$m" --cache-entries 100000 \
		--warmup-passes 3
}

q0=$(nsd_queries "$T")
for m in "${INFLIGHTS[@]}"; do
	echo "== $m check(s) in flight, $SECS s =="
	qa=$(nsd_queries "$T")
	run_bench "$m" "$SECS" | tee "$T/run.$m" | sed 's/^/  /'
	qb=$(nsd_queries "$T")
	echo "  nsd answered $( [ "$qa" = "?" ] && echo "?" || echo $((qb - qa))) queries during this run (warm-up included)"
	echo
done

if [ "${BENCH_PERF:-0}" = 1 ]; then
	echo "== perf record, ${INFLIGHTS[0]} in flight, 5 s =="
	run_bench "${INFLIGHTS[0]}" 5 perf record -q -o "$T/perf.data" -- >"$T/perf.out" 2>&1
	grep '^RESULT' "$T/perf.out" | sed 's/^/  /'
	perf report -i "$T/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
		grep -v '^$' | grep -v '^#' | head -30 | sed 's/^/  /'
	echo
fi

if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
	echo "== callgrind, ${INFLIGHTS[0]} in flight, 3 s of measured phase =="
	run_bench "${INFLIGHTS[0]}" 3 valgrind --tool=callgrind --collect-atstart=no \
		--toggle-collect=measure --callgrind-out-file="$T/callgrind.out" >"$T/cg.out" 2>"$T/cg.err"
	evals=$(sed -n 's/^RESULT evals=\([0-9]*\).*/\1/p' "$T/cg.out")
	ir=$(callgrind_annotate "$T/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	echo "  $evals evaluations, $ir instructions: $(fcalc "${ir:-0} / ${evals:-1}" 0) instructions per evaluation"
	callgrind_annotate --inclusive=no "$T/callgrind.out" 2>/dev/null |
		sed -n '/^Ir/,$p' | sed -n '3,27p' | sed 's/^/  /'
	echo "  -- inclusive (self + callees), measured phase:"
	callgrind_annotate --inclusive=yes "$T/callgrind.out" 2>/dev/null |
		sed -n '/^Ir/,$p' | sed -n '3,45p' | sed 's/^/  /'
	echo
fi

q1=$(nsd_queries "$T")
echo "== summary =="
for m in "${INFLIGHTS[@]}"; do
	# shellcheck disable=SC2046
	eval $(sed -n 's/^RESULT //p' "$T/run.$m" | tr ' ' '\n' | sed 's/^/r_/')
	printf '  %3s in flight: %8s evaluations/s, %6s us CPU per evaluation (user %s s, sys %s s), %s lookups per evaluation, %s DNS queries to c-ares and %s UDP datagrams in the measured phase, %s wrong results\n' \
		"$m" "${r_rate:-?}" "${r_cpu_us:-?}" "${r_user:-?}" "${r_sys:-?}" \
		"$(fcalc "${r_lookups:-0} / ${r_evals:-1}" 2)" "${r_queries:-?}" "${r_udp_out:-?}" "${r_mismatches:-?}"
done
echo "  nsd answered $( [ "$q0" = "?" ] && echo "?" || echo $((q1 - q0))) queries over all runs (perf and callgrind included), all of them during warm-ups"
