# shellcheck shell=bash
# Helpers for the bench/*.sh scripts (sourced, not run). Everything
# here works on processes and files that the calling script itself started
# or created.

log() { printf '%s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# need COMMAND DEBIAN-PACKAGE: stop with a clear message if COMMAND is missing.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; install the Debian package '$2' (apt-get install $2)"
}

# Floating-point helpers (awk, so no bc is needed).
fcalc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
now() { date +%s.%N; }
# children_cpu FILE: CPU seconds (user+system) of this shell's reaped
# children so far. `times` must run in this shell, not in a pipeline's
# subshell, hence the file; call it as a plain command, not in $(...).
children_cpu() {
	times >"$1.times"
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
		printf "%.3f", t }' "$1.times" >"$1"
}

# Busy jiffies of the whole machine: user+nice+system+irq+softirq (idle,
# iowait and steal excluded).
machine_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# nstat_snapshot FILE: absolute counters of the benchmark's network
# namespace (nstat -a: absolute, -s: leave nstat's history file alone).
nstat_snapshot() { $NETNS_RUN nstat -asz >"$1" 2>/dev/null || : >"$1"; }
# nstat_delta BEFORE AFTER NAME: increase of counter NAME.
nstat_delta() {
	awk -v n="$3" 'FNR == NR { if ($1 == n) b = $2; next }
		$1 == n { a = $2 } END { print (a + 0) - (b + 0) }' "$1" "$2"
}

# port_listening PORT: true when something listens on 127.0.0.1:PORT in the
# benchmark's namespace (checked without connecting).
port_listening() {
	$NETNS_RUN ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
# listen_backlogs PORT: the backlog of each socket listening on PORT (ss
# shows it as Send-Q), e.g. "4096" or "128 128" for two SO_REUSEPORT sockets.
listen_backlogs() {
	$NETNS_RUN ss -Hltn "sport = :$1" 2>/dev/null | awk '{ printf "%s%s", sep, $3; sep = " " }'
}
# wait_port PORT SECONDS PID: wait until PORT listens; fail if PID dies.
wait_port() {
	local port=$1 limit=$2 pid=${3:-} i=0
	while ! port_listening "$port"; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		i=$((i + 1))
		[ "$i" -gt $((limit * 10)) ] && return 1
		sleep 0.1
	done
}

# stop_pid PID [SECONDS]: SIGTERM, wait, then SIGKILL the process group that
# setsid gave it (its pid) and the process itself.
stop_pid() {
	local pid=$1 limit=${2:-10} i=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $((limit * 10)) ]; then
			warn "process $pid did not stop on SIGTERM; killing it"
			kill -KILL -- "-$pid" 2>/dev/null
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
}

# netns_start NAME: a private network namespace with only lo, so that
# nothing a benchmark runs can leave the machine: sets NS and NETNS_RUN
# ("ip netns exec NS"), or warns and leaves both empty (plain loopback).
# $T must exist (for the error text).
netns_start() {
	if ip netns add "$1" 2>"$T/netns.err"; then
		NS=$1
		if ip netns exec "$NS" ip link set lo up 2>>"$T/netns.err"; then
			NETNS_RUN="ip netns exec $NS"
			# Per-namespace settings: a backlog as large as the servers ask for.
			$NETNS_RUN sysctl -qw net.core.somaxconn=4096 2>/dev/null
		else
			warn "could not bring lo up in $NS ($(head -1 "$T/netns.err")); falling back to plain loopback"
			ip netns del "$NS" 2>/dev/null
			NS=""
		fi
	else
		warn "could not create a network namespace ($(head -1 "$T/netns.err")): running on plain loopback; UDP and ListenOverflows counters then include the rest of the machine, and resolver look-ups may leave it"
	fi
}

# netns_teardown: kills whatever is still inside NS (everything there was
# started by the benchmark), deletes NS, and removes $T unless BENCH_KEEP=1.
netns_teardown() {
	if [ -n "$NS" ]; then
		local left
		left=$(ip netns pids "$NS" 2>/dev/null)
		if [ -n "$left" ]; then
			warn "killing leftover processes in $NS: $left"
			# shellcheck disable=SC2086
			kill -KILL $left 2>/dev/null
			sleep 0.5
		fi
		ip netns del "$NS" 2>/dev/null || warn "could not delete network namespace $NS"
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
}

# write_helpers DIR: the Python helper used for process-tree CPU and memory
# sampling and for the idle-connections client.
write_helpers() {
	cat >"$1/benchhelper.py" <<'PYEOF'
"""Helper for bench/accept.sh.

  tree-cpu ROOT            CPU ticks (utime+stime+cutime+cstime) of ROOT and
                           all its descendants, and clock ticks per second
  tree-mem ROOT            RSS kB, PSS kB and number of processes of the tree
  sample ROOT OUT [SEC]    every SEC (0.2) seconds sum RSS (and PSS, as
                           often as ~5% of a core allows) over the tree,
                           until SIGTERM; then write peak RSS kB, peak PSS kB,
                           peak process count, sample count and the
                           sampler's own CPU ticks to OUT
  idle PORT N TIMEOUT      open N connections to 127.0.0.1:PORT, read each
                           one's 220 greeting, print READY ..., then hold them
                           open until SIGTERM
"""
import errno, os, re, selectors, signal, socket, sys, time


def procs():
    """{pid: (ppid, ticks)} for every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                s = f.read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        out[int(name)] = (int(f[1]), int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]))
    return out


def tree(root, table=None):
    table = table if table is not None else procs()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    if root not in table:
        return [], table
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(children.get(pid, ()))
    return seen, table


def descendants(root):
    """ROOT and its descendants from /proc/PID/task/TID/children: much
    cheaper than reading every process's stat, which matters every 200 ms."""
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        seen.append(pid)
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return seen


def mem(pids):
    rss = pss = n = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^Rss:\s+(\d+)", text, re.M)
        p = re.search(r"^Pss:\s+(\d+)", text, re.M)
        if m and p:
            rss += int(m.group(1))
            pss += int(p.group(1))
            n += 1
    return rss, pss, n


def tree_cpu(root):
    pids, table = tree(root)
    print(sum(table[p][1] for p in pids), os.sysconf("SC_CLK_TCK"))


def tree_mem(root):
    pids, _ = tree(root)
    print(*mem(pids))


def sample(root, out, interval):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    peak_rss = peak_pss = peak_n = samples = 0
    have_children = os.path.exists("/proc/self/task/%d/children" % os.getpid())
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    next_pss = 0.0
    while not stop:
        pids = descendants(root) if have_children else tree(root)[0]
        if not pids:
            break
        # RSS from statm every time (cheap: the kernel keeps counters).
        rss = n = 0
        for pid in pids:
            try:
                with open("/proc/%d/statm" % pid) as f:
                    rss += int(f.read().split()[1]) * page_kb
                n += 1
            except (OSError, IndexError, ValueError):
                pass
        peak_rss, peak_n = max(peak_rss, rss), max(peak_n, n)
        # PSS from smaps_rollup walks every page table: about 0.4 ms per
        # Postfix process here. Sample it every INTERVAL, but give it at
        # most ~5% of one core, so that the sampler does not slow the run.
        now = time.monotonic()
        if now >= next_pss:
            r, pss, _ = mem(pids)
            cost = time.monotonic() - now
            next_pss = now + max(interval, 20 * cost)
            peak_rss, peak_pss = max(peak_rss, r), max(peak_pss, pss)
            samples += 1
        time.sleep(interval)
    # Our own CPU time, so that the caller can take it out of the machine's.
    t = os.times()
    own = round((t.user + t.system) * os.sysconf("SC_CLK_TCK"))
    with open(out, "w") as f:
        f.write("%d %d %d %d %d\n" % (peak_rss, peak_pss, peak_n, samples, own))


def idle(port, n, timeout):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    sel = selectors.DefaultSelector()
    held, pending, opened, failed, first_error = [], 0, 0, 0, ""
    start = time.time()
    deadline = start + timeout
    while len(held) + failed < n and time.time() < deadline and not stop:
        # Keep at most 256 connections waiting for their greeting, so the
        # listen queue is never the thing being measured.
        while opened < n and pending < 256:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            opened += 1
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                first_error = first_error or os.strerror(err)
                continue
            sel.register(s, selectors.EVENT_READ, b"")
            pending += 1
        for key, _ in sel.select(0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                data, first_error = b"", first_error or str(e)
            buf = key.data + data
            done = re.search(rb"(^|\n)(\d\d\d) [^\n]*\n", buf)
            if not data or done:
                sel.unregister(s)
                pending -= 1
                if data and done.group(2) == b"220":
                    held.append(s)
                else:
                    failed += 1
                    first_error = first_error or (buf.decode("latin-1").strip()[:200]
                                                  or "connection closed before the greeting")
                    s.close()
            else:
                sel.modify(s, selectors.EVENT_READ, buf)
    print("READY greeted=%d failed=%d pending=%d seconds=%.1f first_error=%s"
          % (len(held), failed, pending, time.time() - start, first_error or "-"), flush=True)
    # Hold the connections until SIGTERM; then count how many the server
    # closed in the meantime.
    while not stop:
        time.sleep(0.2)
    closed = 0
    for s in held:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("CLOSED_BY_SERVER %d" % closed, flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tree-cpu":
        tree_cpu(int(args[0]))
    elif cmd == "tree-mem":
        tree_mem(int(args[0]))
    elif cmd == "sample":
        sample(int(args[0]), args[1], float(args[2]) if len(args) > 2 else 0.2)
    elif cmd == "idle":
        idle(int(args[0]), int(args[1]), float(args[2]))
    else:
        sys.exit(__doc__)
PYEOF
}

# --- a local authoritative DNS server (nsd) for the sender checks ----------
# Every name the checks ask for lives in zones served by one nsd on
# 127.0.0.1:PORT inside the benchmark's namespace: "net." (the sender
# domains, their SPF records, include chains and mail hosts, and the
# DNSBL zones bl.bench-lists.net and dbl.bench-lists.net) and
# "127.in-addr.arpa." (PTR of 127.0.0.1). TTLs are a day and the SOA minimum
# too, so that nothing expires from a cache during a run.
NSD_PID=""

# bench_zones_write DIR: net.zone, rev127.zone and spf-cases (the checks
# spf_bench makes: IP SENDER EXPECTED-RESULT, see bench/spf.sh).
bench_zones_write() {
	cat >"$1/net.zone" <<'EOF'
$ORIGIN net.
$TTL 86400
@ IN SOA ns.bench-dns.net. hostmaster.bench-dns.net. 1 3600 600 86400 86400
@ IN NS ns.bench-dns.net.
ns.bench-dns IN A 127.0.0.1

; The sender of the accept benchmark: its mail host is 127.0.0.1 (PTR and
; A match, HELO mail.bench-sender.net), reached through "mx". Before it an
; ip4 and an ip6 range and "a"; after it an include chain three levels deep
; (_spf.bench-sender -> _spf.bench-esp -> _netblocks.bench-esp, and
; _spf.bench-sender -> _spf.bench-relay with an "a:").
bench-sender IN TXT "v=spf1 ip4:192.0.2.0/25 ip6:2001:db8:1::/48 a mx include:_spf.bench-sender.net -all"
bench-sender IN A 198.18.0.80
bench-sender IN MX 10 mail.bench-sender.net.
bench-sender IN MX 20 mx2.bench-sender.net.
mail.bench-sender IN A 127.0.0.1
mail.bench-sender IN TXT "v=spf1 a -all"
mx2.bench-sender IN A 198.18.0.25
mx2.bench-sender IN AAAA 2001:db8:1:25::25
_spf.bench-sender IN TXT "v=spf1 ip4:198.51.100.0/24 include:_spf.bench-esp.net include:_spf.bench-relay.net ~all"
_spf.bench-esp IN TXT "v=spf1 ip4:203.0.113.0/26 ip4:203.0.113.128/25 ip6:2001:db8:e5::/48 include:_netblocks.bench-esp.net ~all"
_netblocks.bench-esp IN TXT "v=spf1 ip4:198.18.16.0/20 ip4:198.18.64.0/18 ip4:198.19.0.0/19 ip6:2001:db8:e5f0::/44 -all"
_spf.bench-relay IN TXT "v=spf1 a:relay.bench-relay.net ip4:100.64.10.0/24 -all"
relay.bench-relay IN A 100.64.20.1
relay.bench-relay IN A 100.64.20.2

; A shop that sends through two providers (includes only).
bench-shop IN TXT "v=spf1 include:_spf.bench-esp.net include:spf.bench-mailer.net -all"
spf.bench-mailer IN TXT "v=spf1 ip4:192.0.2.128/25 ip6:2001:db8:2::/48 ~all"

; A newsletter: its own MX, one address, then redirect= to the provider.
bench-news IN TXT "v=spf1 mx ip4:198.51.100.200 redirect=_spf.bench-esp.net"
bench-news IN MX 10 mx.bench-news.net.
mx.bench-news IN A 192.0.2.77

; A domain that sends no mail, and one without SPF.
bench-nomail IN TXT "v=spf1 -all"
bench-nospf IN A 198.18.0.99

; DNSBLs (RFC 5782): the test entry 127.0.0.2 is listed, 127.0.0.1 is not.
2.0.0.127.bl.bench-lists IN A 127.0.0.2
2.0.0.127.bl.bench-lists IN TXT "listed for testing"
test.dbl.bench-lists IN A 127.0.0.2
EOF
	cat >"$1/rev127.zone" <<'EOF'
$ORIGIN 127.in-addr.arpa.
$TTL 86400
@ IN SOA ns.bench-dns.net. hostmaster.bench-dns.net. 1 3600 600 86400 86400
@ IN NS ns.bench-dns.net.
1.0.0 IN PTR mail.bench-sender.net.
EOF
	cat >"$1/spf-cases" <<'EOF'
# IP             SENDER               EXPECTED   (how)
127.0.0.1        a@bench-sender.net   pass     # mx, first exchange
192.0.2.10       a@bench-sender.net   pass     # ip4, first term
2001:db8:1::5    a@bench-sender.net   pass     # ip6
198.18.0.80      a@bench-sender.net   pass     # a
198.18.0.25      a@bench-sender.net   pass     # mx, second exchange
198.51.100.9     a@bench-sender.net   pass     # include, level 1
203.0.113.200    a@bench-sender.net   pass     # include, level 2
198.18.20.1      a@bench-sender.net   pass     # include, level 3
100.64.20.2      a@bench-sender.net   pass     # a: in an include
10.1.2.3         a@bench-sender.net   fail     # every term, then -all
2001:db8:ffff::1 a@bench-sender.net   fail     # every term (IPv6)
192.0.2.200      x@bench-shop.net     pass     # second include
198.19.3.4       x@bench-shop.net     pass     # include, level 2
10.9.9.9         x@bench-shop.net     fail     # both includes, then -all
192.0.2.77       n@bench-news.net     pass     # mx
203.0.113.5      n@bench-news.net     pass     # redirect=
10.0.0.1         n@bench-news.net     softfail # redirect=, its ~all
192.0.2.1        a@bench-nomail.net   fail     # -all
192.0.2.1        a@bench-nospf.net    none     # no record
EOF
}

# nsd_start DIR PORT: nsd serving DIR's zones on 127.0.0.1:PORT (UDP and
# TCP) in the benchmark's namespace, pinned to the CPUs in $NSD_CPUS if
# set, controlled through the unix socket DIR/nsd.ctl (no TLS keys). Sets
# NSD_PID.
nsd_start() {
	local d=$1 port=$2 i=0
	cat >"$d/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@$port
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	pidfile: "$d/nsd.pid"
	xfrdfile: "$d/xfrd.state"
	zonelistfile: "$d/zone.list"
	xfrdir: "$d"
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 0
remote-control:
	control-enable: yes
	control-interface: $d/nsd.ctl
zone:
	name: net
	zonefile: net.zone
zone:
	name: 127.in-addr.arpa
	zonefile: rev127.zone
EOF
	local pin=()
	[ -n "${NSD_CPUS:-}" ] && pin=(taskset -c "$NSD_CPUS")
	# shellcheck disable=SC2086
	$NETNS_RUN setsid "${pin[@]}" nsd -d -c "$d/nsd.conf" >"$d/nsd.stderr" 2>&1 &
	NSD_PID=$!
	while ! $NETNS_RUN /usr/bin/python3 - "$port" <<'EOF' 2>/dev/null; do
import socket, sys
q = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03net\x00\x00\x06\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
sys.exit(0 if s.recv(4096)[:2] == b"\x00\x01" else 1)
EOF
		i=$((i + 1))
		if ! kill -0 "$NSD_PID" 2>/dev/null || [ "$i" -gt 100 ]; then
			cat "$d/nsd.stderr" "$d/nsd.log" 2>/dev/null | tail -10 | sed 's/^/  /' >&2
			die "nsd did not answer on 127.0.0.1:$port (config $d/nsd.conf)"
		fi
		sleep 0.1
	done
}

# nsd_queries DIR: queries nsd has answered so far (nsd-control stats),
# or "?" when nsd was built without statistics.
nsd_queries() {
	local n
	n=$(nsd-control -c "$1/nsd.conf" stats_noreset 2>/dev/null | awk -F= '$1 == "num.queries" { print $2 }')
	echo "${n:-?}"
}

nsd_stop() {
	stop_pid "$NSD_PID" 10
	NSD_PID=""
}

# postfix_start DIR PORT [LINE...]: a private Postfix instance from
# bench/postfix/*.cf.in in DIR, listening on 127.0.0.1:PORT in the
# benchmark's namespace (process limit BENCH_POSTFIX_PROCESS_LIMIT, else
# 100), each LINE added to its main.cf.  Sets POSTFIX_DIR and
# POSTFIX_MASTER (the master's pid); dies when Postfix does not start.
postfix_start() {
	local dir=$1 port=$2 pid="" i=0
	shift 2
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	sed -e "s|@CONFIG_DIR@|$dir/etc|g" -e "s|@QUEUE_DIR@|$dir/queue|g" \
		-e "s|@DATA_DIR@|$dir/data|g" -e "s|@LOG_FILE@|$dir/maillog|g" \
		-e "s|@PROCESS_LIMIT@|${BENCH_POSTFIX_PROCESS_LIMIT:-100}|g" \
		"$ROOT/bench/postfix/main.cf.in" >"$dir/etc/main.cf"
	if [ "$#" -gt 0 ]; then
		printf '%s\n' "$@" >>"$dir/etc/main.cf"
	fi
	sed -e "s|@LISTEN@|127.0.0.1:$port|g" "$ROOT/bench/postfix/master.cf.in" >"$dir/etc/master.cf"
	POSTFIX_DIR=$dir
	if ! $NETNS_RUN postfix -c "$dir/etc" start >"$dir/start.log" 2>&1; then
		cat "$dir/start.log" "$dir/maillog" 2>/dev/null | tail -20 | sed 's/^/  /' >&2
		die "Postfix did not start (config $dir/etc)"
	fi
	while [ -z "$pid" ] && [ "$i" -lt 100 ]; do
		pid=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null)
		i=$((i + 1))
		[ -z "$pid" ] && sleep 0.1
	done
	[ -n "$pid" ] || die "Postfix started but wrote no master.pid"
	POSTFIX_MASTER=$pid
	wait_port "$port" 30 "$pid" || die "Postfix did not listen on 127.0.0.1:$port"
}

# postfix_stop: stops the instance postfix_start started, if it runs
# (waiting 10 s for its master, then killing the master's process group).
postfix_stop() {
	local dir=${POSTFIX_DIR:-} pid i=0
	[ -n "$dir" ] || return 0
	POSTFIX_DIR=""
	# shellcheck disable=SC2034 # the scripts' to read
	POSTFIX_MASTER=""
	pid=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null)
	postfix -c "$dir/etc" stop >/dev/null 2>&1
	while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			warn "Postfix master $pid still running; killing its process group"
			kill -KILL -- "-$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
}

# --- helpers for bench/relay.sh (delivery through MX records) --------------

# nsd_start_zones DIR ADDR PORT ZONE=FILE...: like nsd_start, but on
# ADDR:PORT (e.g. 127.0.0.1 53, inside the namespace) and serving the given
# zones (FILE relative to DIR). Sets NSD_PID; nsd_queries DIR and nsd_stop
# work on it as on nsd_start's.
nsd_start_zones() {
	local d=$1 addr=$2 port=$3 z i=0
	shift 3
	cat >"$d/nsd.conf" <<EOC
server:
	ip-address: $addr@$port
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	pidfile: "$d/nsd.pid"
	xfrdfile: "$d/xfrd.state"
	zonelistfile: "$d/zone.list"
	xfrdir: "$d"
	logfile: "$d/nsd.log"
	server-count: 1
	verbosity: 0
	# Debian's nsd limits responses to 200 a second per /24 of clients
	# (RRL): beyond that it drops queries or answers truncated, and a
	# libc resolver asking a few hundred a second times out now and then.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: yes
	control-interface: $d/nsd.ctl
EOC
	for z in "$@"; do
		printf 'zone:\n\tname: %s\n\tzonefile: %s\n' "${z%%=*}" "${z#*=}" >>"$d/nsd.conf"
	done
	local pin=()
	[ -n "${NSD_CPUS:-}" ] && pin=(taskset -c "$NSD_CPUS")
	# shellcheck disable=SC2086
	$NETNS_RUN setsid "${pin[@]}" nsd -d -c "$d/nsd.conf" >"$d/nsd.stderr" 2>&1 &
	NSD_PID=$!
	# Ready when it answers the first zone's SOA.
	while ! $NETNS_RUN /usr/bin/python3 - "$addr" "$port" "${1%%=*}" <<'EOP' 2>/dev/null; do
import socket, sys
q = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
for label in sys.argv[3].strip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\x00\x00\x06\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(q, (sys.argv[1], int(sys.argv[2])))
sys.exit(0 if s.recv(4096)[:2] == b"\x00\x01" else 1)
EOP
		i=$((i + 1))
		if ! kill -0 "$NSD_PID" 2>/dev/null || [ "$i" -gt 100 ]; then
			cat "$d/nsd.stderr" "$d/nsd.log" 2>/dev/null | tail -10 | sed 's/^/  /' >&2
			die "nsd did not answer on $addr:$port (config $d/nsd.conf)"
		fi
		sleep 0.1
	done
}

# netns_resolv_conf NS NAMESERVER: /etc/netns/NS/resolv.conf, which
# "ip netns exec NS" bind-mounts over /etc/resolv.conf for everything it
# runs (and their children: Postfix's daemons), so that the system
# resolver (libc) inside the namespace asks NAMESERVER on port 53 and
# nothing else. The rest of the machine is not affected. Sets
# NETNS_ETC_DIR for netns_resolv_conf_remove.
NETNS_ETC_DIR=""
netns_resolv_conf() {
	[ -n "$1" ] || return 1
	mkdir -p "/etc/netns/$1" || return 1
	NETNS_ETC_DIR=/etc/netns/$1
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$2" >"$NETNS_ETC_DIR/resolv.conf"
}
# netns_resolv_conf_remove: removes what netns_resolv_conf made (and
# /etc/netns itself when that is left empty).
netns_resolv_conf_remove() {
	[ -n "$NETNS_ETC_DIR" ] || return 0
	rm -f "$NETNS_ETC_DIR/resolv.conf"
	rmdir "$NETNS_ETC_DIR" 2>/dev/null
	rmdir /etc/netns 2>/dev/null
	NETNS_ETC_DIR=""
	return 0
}

# blackhole_start ADDR PORT: inside the benchmark's namespace (NETNS_RUN
# must be set: never on the host), silently drop every TCP packet to
# ADDR:PORT at the input hook, so that connecting there times out as to a
# host whose SYNs are lost. Uses nft, else iptables; sets BLACKHOLE_TOOL.
# Returns 1 when neither is there or the rule cannot be added.
BLACKHOLE_TOOL=""
blackhole_start() {
	local addr=$1 port=$2
	[ -n "$NETNS_RUN" ] || return 1
	if command -v nft >/dev/null 2>&1 &&
		$NETNS_RUN nft add table inet postern_bench 2>/dev/null &&
		$NETNS_RUN nft add chain inet postern_bench input \
			'{ type filter hook input priority 0; policy accept; }' 2>/dev/null &&
		$NETNS_RUN nft add rule inet postern_bench input \
			ip daddr "$addr" tcp dport "$port" counter drop 2>/dev/null; then
		BLACKHOLE_TOOL=nft
	elif command -v iptables >/dev/null 2>&1 &&
		$NETNS_RUN iptables -I INPUT -d "$addr" -p tcp --dport "$port" -j DROP 2>/dev/null; then
		BLACKHOLE_TOOL=iptables
	else
		return 1
	fi
}
# blackhole_packets: packets dropped so far by blackhole_start's rule.
blackhole_packets() {
	case "$BLACKHOLE_TOOL" in
	nft) $NETNS_RUN nft list table inet postern_bench 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1); exit }' ;;
	iptables) $NETNS_RUN iptables -nvxL INPUT 2>/dev/null | awk '$3 == "DROP" { print $1; exit }' ;;
	*) echo 0 ;;
	esac
}

# postfix_start_from MAIN_IN MASTER_IN DIR PORT [LINE...]: postfix_start
# with other templates (bench/postfix/NAME, same @VAR@ placeholders), e.g.
# main-relay.cf.in and master-relay.cf.in. Sets POSTFIX_DIR and
# POSTFIX_MASTER; postfix_stop stops it.
postfix_start_from() {
	local main_in=$1 master_in=$2 dir=$3 port=$4 pid="" i=0
	shift 4
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
	chown postfix "$dir/data"
	sed -e "s|@CONFIG_DIR@|$dir/etc|g" -e "s|@QUEUE_DIR@|$dir/queue|g" \
		-e "s|@DATA_DIR@|$dir/data|g" -e "s|@LOG_FILE@|$dir/maillog|g" \
		-e "s|@PROCESS_LIMIT@|${BENCH_POSTFIX_PROCESS_LIMIT:-100}|g" \
		"$ROOT/bench/postfix/$main_in" >"$dir/etc/main.cf"
	if [ "$#" -gt 0 ]; then
		printf '%s\n' "$@" >>"$dir/etc/main.cf"
	fi
	sed -e "s|@LISTEN@|127.0.0.1:$port|g" "$ROOT/bench/postfix/$master_in" >"$dir/etc/master.cf"
	POSTFIX_DIR=$dir
	if ! $NETNS_RUN postfix -c "$dir/etc" start >"$dir/start.log" 2>&1; then
		cat "$dir/start.log" "$dir/maillog" 2>/dev/null | tail -20 | sed 's/^/  /' >&2
		die "Postfix did not start (config $dir/etc)"
	fi
	while [ -z "$pid" ] && [ "$i" -lt 100 ]; do
		pid=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null)
		i=$((i + 1))
		[ -z "$pid" ] && sleep 0.1
	done
	[ -n "$pid" ] || die "Postfix started but wrote no master.pid"
	# shellcheck disable=SC2034 # the scripts' to read
	POSTFIX_MASTER=$pid
	wait_port "$port" 30 "$pid" || die "Postfix did not listen on 127.0.0.1:$port"
}

# machine_cpu_ticks: "busy steal total" jiffies of the whole machine
# (busy as machine_busy_ticks; total includes idle, iowait and steal).
machine_cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i
		print $2 + $3 + $4 + $7 + $8, $9, t; exit }' /proc/stat
}
