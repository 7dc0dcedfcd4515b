# shellcheck shell=bash
# Helpers for bench/accept.sh and bench/spf.sh (sourced, not run). Everything
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
