#!/bin/sh
# Builds the libFuzzer targets with clang into build-fuzz (when needed) and
# runs one target, or all of them, for SECONDS each on a scratch copy of its
# seed corpus.  Exits non-zero when a target crashes.
#   fuzz/run.sh TARGET SECONDS    TARGET: addr cmd data reply config dns_packet rdns spf_record spf_macro dkim_sig canon msghead arc dmarc_record dmarc_from authres policyd batv srs ehlo
#   fuzz/run.sh all SECONDS
set -eu

usage() {
	echo "usage: $0 {addr|cmd|data|reply|config|dns_packet|rdns|spf_record|spf_macro|dkim_sig|canon|msghead|arc|dmarc_record|dmarc_from|authres|policyd|batv|srs|ehlo|all} SECONDS" >&2
	exit 2
}
[ $# -eq 2 ] || usage
target=$1
seconds=$2
case $seconds in '' | *[!0-9]*) usage ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
all="addr cmd data reply config dns_packet rdns spf_record spf_macro dkim_sig canon msghead arc dmarc_record dmarc_from authres policyd batv srs ehlo"

if [ ! -f "$build/build.ninja" ]; then
	# fuzzer-no-link instruments the libraries for coverage; the targets
	# themselves link libFuzzer (fuzz/meson.build).
	CC=clang meson setup "$build" "$root" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all'
fi

run_one() {
	name=$1
	case " $all " in *" $name "*) ;; *) usage ;; esac
	ninja -C "$build" "fuzz/fuzz_$name" || return 1
	work=$(mktemp -d "${TMPDIR:-/tmp}/postern-fuzz-$name.XXXXXX")
	mkdir "$work/corpus" "$work/artifacts"
	cp "$root/fuzz/corpus/$name/"* "$work/corpus/"
	echo "fuzz_$name: ${seconds}s, scratch corpus and crashes in $work"
	if ! LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
		"$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
		-artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" \
		> "$work/log" 2>&1; then
		tail -n 60 "$work/log" >&2
		echo "fuzz_$name: FAILED, see $work" >&2
		return 1
	fi
	grep -E '^(#[0-9]+[[:space:]]+DONE|Done)' "$work/log" || true
	rm -rf "$work"
}

if [ "$target" = all ]; then
	failed=0
	for t in $all; do
		run_one "$t" || failed=1
	done
	exit $failed
fi
run_one "$target"
