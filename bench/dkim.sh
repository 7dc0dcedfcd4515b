#!/usr/bin/env bash
# The r_* variables come from dkim_bench's RESULT line through eval.
# shellcheck disable=SC2154
# bench/dkim.sh: DKIM verifications per second of a 10 KiB message signed
# rsa-sha256 relaxed/relaxed with a 2048-bit key, on one core, next to the
# raw cost on the same machine: `openssl speed` RSA-2048 verify plus
# SHA-256 of the body and of the header hash input. Builds bench/dkim_bench
# in build-bench (meson -Dbench=true) and runs everything pinned to one
# core. The target (the issue's): postern's verify within 1.5x of the raw
# cost. See bench/README.md, "DKIM verification".
#
# Environment:
#   BENCH_DKIM_ROUNDS=N       interleaved rounds of dkim_bench (25)
#   BENCH_DKIM_BURST_MS=MS    length of each phase's burst in a round (20)
#   BENCH_DKIM_BODY=B         body bytes (10240)
#   BENCH_DKIM_CPU=C          core everything is pinned to (0)
#   BENCH_OPENSSL_SECONDS=S   seconds of each `openssl speed` run (3)
#   BENCH_CALLGRIND=1         also count instructions of the full verifier
#                             under callgrind and show where they go
#   BENCH_BUILD=DIR           build directory (./build-bench)
#   BENCH_KEEP=1              keep the temporary directory
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

ROUNDS=${BENCH_DKIM_ROUNDS:-25}
BURST=${BENCH_DKIM_BURST_MS:-20}
BODY=${BENCH_DKIM_BODY:-10240}
CPU=${BENCH_DKIM_CPU:-0}
OSECS=${BENCH_OPENSSL_SECONDS:-3}
BUILD=${BENCH_BUILD:-$ROOT/build-bench}

need meson meson
need ninja ninja-build
need openssl openssl
need awk mawk
[ "${BENCH_CALLGRIND:-0}" = 1 ] && need valgrind valgrind
PIN=()
PINNED="not pinned"
if command -v taskset >/dev/null 2>&1; then
	PIN=(taskset -c "$CPU")
	PINNED="everything pinned to CPU $CPU"
else
	warn "taskset not found (Debian package util-linux): nothing is pinned"
fi

# --- build -----------------------------------------------------------------
if [ -f "$BUILD/build.ninja" ]; then
	meson configure "$BUILD" -Dbench=true >/dev/null || die "meson configure $BUILD failed"
else
	(cd "$ROOT" && meson setup "$BUILD" -Dbench=true -Dtests=false) >/dev/null ||
		die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" bench/dkim_bench >"$BUILD/dkim_bench.build.log" 2>&1 || {
	tail -20 "$BUILD/dkim_bench.build.log" >&2
	die "building dkim_bench failed"
}
BIN=$BUILD/bench/dkim_bench

T=$(mktemp -d /tmp/postern-dkim.XXXXXX) || die "mktemp failed"
cleanup() {
	trap - EXIT INT TERM
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sha_ni|avx2|bmi2|adx' | paste -sd, -)
echo "postern DKIM verification benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) cores, ${MODEL:-?} (${FLAGS:-no sha_ni/avx2/bmi2/adx}), kernel $(uname -r)"
echo "$(openssl version); $PINNED; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# cpu_busy BEFORE AFTER: "cpuN busy%" for every core between two copies of
# /proc/stat (busy: user+nice+system+irq+softirq+steal). The cores not
# pinned to should stay near idle: anything else is another session's load.
cpu_busy() {
	awk 'FNR == NR && /^cpu[0-9]/ { for (i = 2; i <= 9; i++) a[$1, i] = $i; next }
	/^cpu[0-9]/ {
		tot = 0; idle = 0
		for (i = 2; i <= 9; i++) { d = $i - a[$1, i]; tot += d; if (i == 5 || i == 6) idle += d }
		printf "%s%s %.0f%%", sep, $1, tot ? 100 * (tot - idle) / tot : 0; sep = ", "
	}' "$1" "$2"
}

# --- postern ---------------------------------------------------------------
echo "== dkim_bench: $ROUNDS rounds, bursts of $BURST ms, body $BODY bytes =="
cp /proc/stat "$T/stat.0"
"${PIN[@]}" "$BIN" --rounds "$ROUNDS" --burst-ms "$BURST" --body-bytes "$BODY" \
	--tmpdir "$T" >"$T/bench.out" 2>"$T/bench.err"
rc=$?
cp /proc/stat "$T/stat.1"
sed 's/^/  /' "$T/bench.out" | grep -v '^  RESULT'
[ -s "$T/bench.err" ] && sed 's/^/  stderr: /' "$T/bench.err"
[ "$rc" = 0 ] || die "dkim_bench exited with $rc (3: a verification did not pass)"
busy=$(cpu_busy "$T/stat.0" "$T/stat.1")
echo "  cores busy during dkim_bench: $busy; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
others=$(printf '%s\n' "$busy" | tr ',' '\n' | awk -v me="cpu$CPU" '$1 != me { sub("%", "", $2); if ($2 > 20) print $1 }' | paste -sd, -)
[ -n "$others" ] && warn "other work ran during dkim_bench ($others more than 20% busy): every figure is suspect, rerun on a quiet machine"
# shellcheck disable=SC2046
eval $(sed -n 's/^RESULT //p' "$T/bench.out" | tr ' ' '\n' | grep -E '^[a-z_]+=[0-9.]+$' | sed 's/^/r_/')
echo

# --- openssl speed -----------------------------------------------------------
# -mr: "+F2:n:2048:sign/s:verify/s" for RSA, "+F:n:sha256:bytes/s" for a digest.
echo "== openssl speed, $OSECS s each, pinned =="
cp /proc/stat "$T/stat.2"
"${PIN[@]}" openssl speed -mr -seconds "$OSECS" rsa2048 >"$T/rsa.out" 2>/dev/null
rsa_vps=$(awk -F: '$1 == "+F2" && $3 == 2048 { print $5; exit }' "$T/rsa.out")
sha_rate() { # BYTES -> bytes/s
	"${PIN[@]}" openssl speed -mr -seconds "$OSECS" -bytes "$1" sha256 2>/dev/null |
		awk -F: '$1 == "+F" && $3 == "sha256" { print $4; exit }'
}
shab_bps=$(sha_rate "${r_body:-$BODY}")
shah_bps=$(sha_rate "${r_hinput:-600}")
if [ -z "$rsa_vps" ] || [ -z "$shab_bps" ] || [ -z "$shah_bps" ]; then
	die "could not parse openssl speed's output (see $T/rsa.out; BENCH_KEEP=1 keeps it)"
fi
o_rsa=$(fcalc "1e6 / $rsa_vps" 2)
o_shab=$(fcalc "1e6 * ${r_body:-$BODY} / $shab_bps" 2)
o_shah=$(fcalc "1e6 * ${r_hinput:-600} / $shah_bps" 2)
o_raw=$(fcalc "$o_rsa + $o_shab + $o_shah" 2)
echo "  rsa2048 verify: $(fcalc "$rsa_vps" 0)/s = $o_rsa us"
echo "  sha256 of ${r_body:-$BODY} bytes: $(fcalc "$shab_bps / 1e6" 0) MB/s = $o_shab us"
echo "  sha256 of ${r_hinput:-600} bytes (the header hash input): $(fcalc "$shah_bps / 1e6" 0) MB/s = $o_shah us"
cp /proc/stat "$T/stat.3"
echo "  cores busy during openssl speed: $(cpu_busy "$T/stat.2" "$T/stat.3")"
echo

# --- callgrind ---------------------------------------------------------------
if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
	echo "== callgrind: instructions of the full verifier (op_full only) =="
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect=op_full \
		--callgrind-out-file="$T/callgrind.out" "$BIN" --only full --rounds 1 \
		--burst-ms 2000 --warmup-ms 500 --body-bytes "$BODY" --tmpdir "$T" >"$T/cg.out" 2>"$T/cg.err"
	calls=$(callgrind_annotate --inclusive=yes "$T/callgrind.out" 2>/dev/null |
		sed -n 's/.*=> .*dkim_verify\.c:dkim_verify_finish (\([0-9]*\)x).*/\1/p' | head -1)
	total=$(callgrind_annotate "$T/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	echo "  $calls verifications, $(fcalc "${total:-0} / ${calls:-1}" 0) instructions each" \
		"(valgrind runs OpenSSL's SHA-256 without SHA-NI: hashing is overcounted)"
	callgrind_annotate --inclusive=yes "$T/callgrind.out" 2>/dev/null |
		grep -E ':(dkim_key_parse|OSSL_DECODER_CTX_new_for_pkey|canon_body_update|content|emit|SHA256_Update|dkim_check_signature|RSA_verify|headers_done|dkim_header_input|dkim_sig_parse|dkim_verify_finish) \[' |
		sed 's/^/  /'
	echo
fi

# --- summary -----------------------------------------------------------------
verdict() { if awk "BEGIN { exit !($1 <= 1.5) }"; then echo "within 1.5x"; else echo "ABOVE 1.5x"; fi; }
echo "== summary (one core; us per operation) =="
printf '  %-58s %10s %10s\n' "" "us" "per s"
printf '  %-58s %10s %10s\n' "openssl speed rsa2048 verify" "$o_rsa" "$(fcalc "$rsa_vps" 0)"
printf '  %-58s %10s\n' "openssl speed sha256, ${r_body:-$BODY} bytes (body hash)" "$o_shab"
printf '  %-58s %10s\n' "openssl speed sha256, ${r_hinput:-600} bytes (header hash)" "$o_shah"
printf '  %-58s %10s %10s\n' "raw cost from openssl speed (sum)" "$o_raw" "$(fcalc "1e6 / $o_raw" 0)"
printf '  %-58s %10s %10s\n' "raw cost measured in dkim_bench, interleaved (median)" "$(fcalc "$r_raw" 2)" "$(fcalc "1e6 / $r_raw" 0)"
printf '  %-58s %10s %10s\n' "postern (a) full streaming verifier, zone key lookup" "$(fcalc "$r_full" 2)" "$(fcalc "1e6 / $r_full" 0)"
printf '  %-58s %10s %10s\n' "postern (b) crypto core, key and signature pre-parsed" "$(fcalc "$r_core" 2)" "$(fcalc "1e6 / $r_core" 0)"
echo
echo "  ratio to the raw cost (target: at most 1.5). The per-round ratio compares figures"
echo "  taken within the same fraction of a second: it is the one to quote; openssl speed"
echo "  ran at another time, and this machine's speed drifts by tens of per cent:"
printf '    (a) full / openssl speed raw: %5sx   per round vs dkim_bench raw: %sx (min %s, max %s)  %s\n' \
	"$(fcalc "$r_full / $o_raw" 2)" "$(fcalc "$r_ratio_full" 2)" "$(fcalc "$r_ratio_full_min" 2)" \
	"$(fcalc "$r_ratio_full_max" 2)" "$(verdict "$r_ratio_full")"
printf '    (b) core / openssl speed raw: %5sx   per round vs dkim_bench raw: %sx (min %s, max %s)  %s\n' \
	"$(fcalc "$r_core / $o_raw" 2)" "$(fcalc "$r_ratio_core" 2)" "$(fcalc "$r_ratio_core_min" 2)" \
	"$(fcalc "$r_ratio_core_max" 2)" "$(verdict "$r_ratio_core")"
echo
echo "  where (a) goes (medians of the phases measured alone; they add up to less than (a),"
echo "  which runs them back to back with colder caches), and faster alternatives (alt_*):"
for kv in "dkim_key_parse (base64 + d2i_PUBKEY)=$r_key_parse" \
	"canon_body relaxed + SHA-256 of the body=$r_body_hash" \
	"  of which the canonicaliser alone (EVP_md_null)=$r_body_canon" \
	"  a canonicaliser by runs (dkim_bench's alt_body)=$r_alt_body" \
	"dkim_check_signature (header SHA-256 + RSA verify)=$r_check_sig" \
	"msghdr_split + dkim_header_input=$r_header_input" \
	"dkim_sig_parse=$r_sig_parse" \
	"alternative key parse (SPKI by hand + d2i_PublicKey)=$r_alt_key_parse" \
	"  plus dkim_check_signature with that fresh key=$r_alt_key_check" \
	"n, e + EVP_PKEY_fromdata + check with that key=$r_alt_fromdata"; do
	printf '    %-54s %8s us\n' "${kv%=*}" "$(fcalc "${kv##*=}" 2)"
done
