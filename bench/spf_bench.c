/* bench/spf_bench: SPF check_host() evaluations per second on one thread
 * with a warm resolver cache.  See bench/spf.sh, which starts nsd with the
 * zone the cases file refers to and runs this pinned to one core.
 *
 *   spf_bench --server HOST:PORT --cases FILE [--seconds N] [--inflight M]
 *             [--cache-entries K] [--warmup-passes P]
 *
 * The cases file holds one check per line, "IP SENDER EXPECTED-RESULT"
 * ('#' starts a comment); the measured phase goes round it in order.
 * ares_query is wrapped (-Wl,--wrap=ares_query) to count the queries the
 * resolver hands to c-ares, i.e. cache misses, and dns_lookup to count the
 * lookups check_host() makes; the UDP counters of the network namespace
 * (/proc/net/snmp) are read around the measured phase. */
#include "core/log.h"
#include "dns/dns.h"
#include "policy/spf.h"

#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- counting the queries that reach c-ares ---- */

static unsigned long n_ares_queries;

void __real_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
                       ares_callback callback, void *arg);
void __wrap_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
                       ares_callback callback, void *arg);

void __wrap_ares_query(ares_channel channel, const char *name, int dnsclass, int type,
                       ares_callback callback, void *arg)
{
	n_ares_queries++;
	__real_ares_query(channel, name, dnsclass, type, callback, arg);
}

/* ---- counting the lookups check_host() makes (cache hits included) ---- */

static unsigned long n_lookups;

struct dns_query *__real_dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                                    dns_done_fn done, void *arg);
struct dns_query *__wrap_dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                                    dns_done_fn done, void *arg);

struct dns_query *__wrap_dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                                    dns_done_fn done, void *arg)
{
	n_lookups++;
	return __real_dns_lookup(r, name, type, done, arg);
}

/* ---- UDP counters of this network namespace ---- */

/* The value of column col of the "Udp:" line of /proc/net/snmp, or of the
 * line "col value" of /proc/net/snmp6; -1 when not found. */
static long long snmp_value(const char *path, const char *prefix, const char *col)
{
	FILE *f = fopen(path, "r");
	char head[2048], vals[2048];
	long long v = -1;

	if (f == NULL)
		return -1;
	if (prefix == NULL) { /* snmp6: "Name value" lines */
		char name[128];
		long long x;
		while (fscanf(f, "%127s %lld", name, &x) == 2)
			if (strcmp(name, col) == 0) {
				v = x;
				break;
			}
		fclose(f);
		return v;
	}
	while (fgets(head, sizeof(head), f) != NULL) {
		if (strncmp(head, prefix, strlen(prefix)) != 0 || head[strlen(prefix)] != ' ')
			continue;
		if (fgets(vals, sizeof(vals), f) == NULL)
			break;
		char *hs = NULL, *vs = NULL;
		char *h = strtok_r(head, " \n", &hs), *val = strtok_r(vals, " \n", &vs);
		while (h != NULL && val != NULL) {
			if (strcmp(h, col) == 0) {
				v = atoll(val);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			val = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return v;
}

static long long udp_out(void)
{
	long long v4 = snmp_value("/proc/net/snmp", "Udp:", "OutDatagrams");
	long long v6 = snmp_value("/proc/net/snmp6", NULL, "Udp6OutDatagrams");

	return (v4 < 0 ? 0 : v4) + (v6 < 0 ? 0 : v6);
}

/* ---- cases ---- */

struct bcase {
	char *ip, *sender;
	enum spf_result expect;
};

static struct bcase *cases;
static size_t ncases;

static int result_from_name(const char *s, enum spf_result *out)
{
	for (int r = SPF_NONE; r <= SPF_PERMERROR; r++)
		if (strcmp(s, spf_result_name((enum spf_result)r)) == 0) {
			*out = (enum spf_result)r;
			return 0;
		}
	return -1;
}

static void load_cases(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "spf_bench: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char ip[128], sender[512], res[32];
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		int n = sscanf(line, "%127s %511s %31s", ip, sender, res);
		if (n <= 0)
			continue;
		if (n != 3) {
			fprintf(stderr, "spf_bench: %s:%u: expected IP SENDER RESULT\n", path,
			        lineno);
			exit(2);
		}
		cases = realloc(cases, (ncases + 1) * sizeof(*cases));
		if (cases == NULL)
			abort();
		cases[ncases].ip = strdup(ip);
		cases[ncases].sender = strdup(sender);
		if (result_from_name(res, &cases[ncases].expect) < 0) {
			fprintf(stderr, "spf_bench: %s:%u: unknown result '%s'\n", path, lineno,
			        res);
			exit(2);
		}
		ncases++;
	}
	fclose(f);
	if (ncases == 0) {
		fprintf(stderr, "spf_bench: %s: no cases\n", path);
		exit(2);
	}
}

/* ---- the run ---- */

struct slot {
	struct spf_check *check;
	size_t case_i;
};

static struct event_base *base;
static struct dns_resolver *resolver;
static struct slot *slots;
static size_t inflight, running;
static size_t next_case;
static unsigned long started, completed, to_start; /* to_start: 0 = until the deadline */
static double deadline;
static unsigned long by_result[SPF_PERMERROR + 1];
static unsigned long mismatches, lookups_sum;
static int verbose_mismatch = 1;

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void done_cb(void *arg, const struct spf_outcome *out);

static int more_to_start(void)
{
	if (to_start > 0)
		return started < to_start;
	/* Reading the clock every 64 starts is enough at >10k/s. */
	return (started & 63) != 0 || now_wall() < deadline;
}

static void start_one(struct slot *s)
{
	const struct bcase *bc = &cases[next_case];
	struct spf_request req = {
	    .ip = bc->ip,
	    .sender = bc->sender,
	    .helo = "mail.bench-client.example",
	    .receiver = "bench.example",
	};

	s->case_i = next_case;
	next_case = (next_case + 1) % ncases;
	started++;
	running++;
	s->check = spf_check_start(base, resolver, &req, done_cb, s);
	if (s->check == NULL) {
		fprintf(stderr, "spf_bench: spf_check_start failed\n");
		exit(1);
	}
}

static void done_cb(void *arg, const struct spf_outcome *out)
{
	struct slot *s = arg;
	const struct bcase *bc = &cases[s->case_i];

	s->check = NULL;
	running--;
	completed++;
	by_result[out->result]++;
	lookups_sum += out->dns_lookups;
	if (out->result != bc->expect) {
		mismatches++;
		if (verbose_mismatch) {
			verbose_mismatch = 0;
			fprintf(stderr,
			        "spf_bench: %s %s: %s, expected %s (problem: %s)\ntrace:\n%s\n",
			        bc->ip, bc->sender, spf_result_name(out->result),
			        spf_result_name(bc->expect), out->problem ? out->problem : "-",
			        out->trace && out->trace->data ? out->trace->data : "");
		}
	}
	if (more_to_start())
		start_one(s);
	else if (running == 0)
		event_base_loopbreak(base);
}

static void run_phase(unsigned long count, double seconds)
{
	started = completed = 0;
	running = 0;
	to_start = count;
	deadline = now_wall() + seconds;
	next_case = 0;
	memset(by_result, 0, sizeof(by_result));
	mismatches = lookups_sum = 0;
	for (size_t i = 0; i < inflight && more_to_start(); i++)
		start_one(&slots[i]);
	if (running > 0)
		event_base_dispatch(base);
}

/* The measured phase on its own, so that valgrind --toggle-collect=measure
 * counts only it. */
__attribute__((noinline)) static void measure(double seconds)
{
	run_phase(0, seconds);
}

static void usage(void)
{
	fprintf(stderr, "usage: spf_bench --server HOST:PORT --cases FILE [--seconds N] "
	                "[--inflight M] [--cache-entries K] [--warmup-passes P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *server = NULL, *cases_path = NULL;
	double seconds = 10;
	unsigned long cache_entries = 100000, warmup_passes = 3;
	char err[256];

	inflight = 64;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		if (strcmp(a, "--server") == 0)
			server = v;
		else if (strcmp(a, "--cases") == 0)
			cases_path = v;
		else if (strcmp(a, "--seconds") == 0)
			seconds = atof(v);
		else if (strcmp(a, "--inflight") == 0)
			inflight = strtoul(v, NULL, 10);
		else if (strcmp(a, "--cache-entries") == 0)
			cache_entries = strtoul(v, NULL, 10);
		else if (strcmp(a, "--warmup-passes") == 0)
			warmup_passes = strtoul(v, NULL, 10);
		else
			usage();
		i++;
	}
	if (server == NULL || cases_path == NULL || inflight == 0 || seconds <= 0)
		usage();
	log_init("spf_bench", 0, 0);
	load_cases(cases_path);

	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "spf_bench: event_base_new failed\n");
		return 1;
	}
	const char *servers[] = {server, NULL};
	struct dns_options opt = {
	    .servers = servers,
	    .timeout_ms = 1000,
	    .tries = 2,
	    .cache_entries = cache_entries,
	    .negative_ttl_max = 3600,
	};
	resolver = dns_resolver_new(base, &opt, err, sizeof(err));
	if (resolver == NULL) {
		fprintf(stderr, "spf_bench: dns_resolver_new: %s\n", err);
		return 1;
	}
	slots = calloc(inflight, sizeof(*slots));
	if (slots == NULL)
		abort();

	/* Warm-up: every case, warmup_passes times; the first pass fills the
	 * cache, the others check that it holds. */
	unsigned long q0 = n_ares_queries;
	double w0 = now_wall();
	run_phase(ncases * warmup_passes, 1e9);
	printf("warm-up: %lu evaluations of %zu cases in %.3f s, %lu queries sent to c-ares, "
	       "%lu results differing from the expected one\n",
	       completed, ncases, now_wall() - w0, n_ares_queries - q0, mismatches);
	if (mismatches > 0)
		fprintf(stderr, "spf_bench: WARNING: %lu results differ from the cases file\n",
		        mismatches);
	printf("per case (DNS terms counted by check_host): %.2f on average\n",
	       completed ? (double)lookups_sum / (double)completed : 0.0);

	/* Measured phase. */
	struct rusage ru0, ru1;
	long long u0 = udp_out();
	q0 = n_ares_queries;
	unsigned long l0 = n_lookups;
	getrusage(RUSAGE_SELF, &ru0);
	double c0 = now_cpu(), t0 = now_wall();
	measure(seconds);
	double t1 = now_wall(), c1 = now_cpu();
	getrusage(RUSAGE_SELF, &ru1);
	long long u1 = udp_out();
	unsigned long queries = n_ares_queries - q0, lookups = n_lookups - l0;

	double el = t1 - t0, cpu = c1 - c0;
	double user = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	              (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	double sys = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	             (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("measured: %lu evaluations in %.3f s with %zu in flight\n", completed, el, inflight);
	printf("  results:");
	for (int r = SPF_NONE; r <= SPF_PERMERROR; r++)
		if (by_result[r])
			printf(" %s=%lu", spf_result_name((enum spf_result)r), by_result[r]);
	printf("; differing from expected: %lu\n", mismatches);
	printf("  rate: %.0f evaluations/s\n", (double)completed / el);
	printf("  CPU: %.3f s (user %.3f, sys %.3f) = %.2f us per evaluation, %.0f%% of one core\n",
	       cpu, user, sys, completed ? 1e6 * cpu / (double)completed : 0.0, 100 * cpu / el);
	printf("  lookups: %lu dns_lookup calls, %.2f per evaluation\n", lookups,
	       completed ? (double)lookups / (double)completed : 0.0);
	printf("  DNS: %lu queries handed to c-ares; %lld UDP datagrams sent in this network "
	       "namespace (ours and the DNS server's)\n",
	       queries, u1 - u0);
	printf("  max RSS %ld KB\n", ru1.ru_maxrss);
	printf("RESULT evals=%lu seconds=%.3f rate=%.0f cpu_us=%.3f user=%.3f sys=%.3f queries=%lu "
	       "udp_out=%lld mismatches=%lu inflight=%zu lookups=%lu\n",
	       completed, el, (double)completed / el,
	       completed ? 1e6 * cpu / (double)completed : 0.0, user, sys, queries, u1 - u0,
	       mismatches, inflight, lookups);

	dns_resolver_free(resolver);
	event_base_free(base);
	free(slots);
	for (size_t i = 0; i < ncases; i++) {
		free(cases[i].ip);
		free(cases[i].sender);
	}
	free(cases);
	return mismatches > 0 ? 3 : 0;
}
