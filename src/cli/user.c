/* "postern user": adds, deletes and lists accounts in the state database,
 * changes passwords and allowed senders.  Passwords come from standard
 * input, never from the command line where ps would show them. */
#include "cli/cli.h"
#include "core/xmalloc.h"
#include "store/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1 };

const char cli_user_usage[] =
    "usage: postern user add ADDRESS [--sender ADDR]...\n"
    "       postern user del ADDRESS\n"
    "       postern user list\n"
    "       postern user passwd ADDRESS\n"
    "       postern user sender ADDRESS ADDR\n"
    "add and passwd read the password from the first line of standard\n"
    "input.  A sender ADDR of \"@domain\" allows any address in domain.\n";

static int usage(void)
{
	return cli_usage_error(cli_user_usage);
}

/* Reads the first line of standard input into pw, without its line ending.
 * On a terminal, prompts and turns echo off.  Returns 0, or -1 after
 * saying why. */
static int read_password(char *pw, size_t size)
{
	struct termios saved, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	const char *line;
	size_t len;

	if (tty) {
		fputs("Password: ", stderr);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	line = fgets(pw, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (line == NULL) {
		fputs("postern user: no password on standard input\n", stderr);
		return -1;
	}
	len = strcspn(pw, "\r\n");
	/* A line that filled the buffer without its end is too long; pw is
	 * sized so that a password of the longest accepted length fits. */
	if (pw[len] == '\0' && len == size - 1) {
		int c = getchar();
		if (c != EOF && c != '\n' && c != '\r') {
			fprintf(stderr, "postern user: password longer than %d bytes\n",
			        ACCOUNTS_PASSWORD_MAX);
			return -1;
		}
	}
	pw[len] = '\0';
	if (len == 0) {
		fputs("postern user: empty password refused\n", stderr);
		return -1;
	}
	if (len > ACCOUNTS_PASSWORD_MAX) {
		fprintf(stderr, "postern user: password longer than %d bytes\n",
		        ACCOUNTS_PASSWORD_MAX);
		return -1;
	}
	return 0;
}

static struct accounts *open_store(const struct config *cfg)
{
	char err[512];
	struct accounts *a = accounts_open(cfg->state_dir, err, sizeof(err));

	if (a == NULL)
		fprintf(stderr, "postern user: %s\n", err);
	return a;
}

/* Says why st is a failure, naming the account. */
static int failed(const char *address, enum accounts_status st)
{
	switch (st) {
	case ACCOUNTS_NOT_FOUND:
		fprintf(stderr, "postern user: no account %s\n", address);
		break;
	case ACCOUNTS_EXISTS:
		fprintf(stderr, "postern user: account %s already exists\n", address);
		break;
	case ACCOUNTS_INVALID:
		fprintf(stderr, "postern user: invalid address or password: an address is"
		                " local@domain, at most 254 bytes, without spaces\n");
		break;
	default:
		fprintf(stderr, "postern user: %s: %s\n", address, accounts_status_text(st));
		break;
	}
	return EXIT_FAIL;
}

/* Mail for an address outside the local domains is not delivered here,
 * but the account may still authenticate, so this only warns. */
static void warn_foreign(const struct config *cfg, const char *address)
{
	const char *at = strrchr(address, '@');

	if (at != NULL && config_domain(cfg, at + 1) == NULL)
		fprintf(stderr,
		        "postern user: warning: %s is not a local domain in %s;"
		        " mail to %s will not be delivered here\n",
		        at + 1, cfg->source, address);
}

static int user_add(int argc, char **argv, const struct config *cfg)
{
	const char **senders = xcalloc((size_t)argc, sizeof(*senders));
	size_t nsenders = 0;
	char pw[ACCOUNTS_PASSWORD_MAX + 2];
	struct accounts *a;
	int rc = EXIT_FAIL;

	for (int i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--sender") != 0 || i + 1 == argc) {
			free(senders);
			return usage();
		}
		senders[nsenders++] = argv[i + 1];
	}
	if (read_password(pw, sizeof(pw)) == 0 && (a = open_store(cfg)) != NULL) {
		enum accounts_status st = accounts_add(a, argv[1], pw, senders, nsenders);
		accounts_close(a);
		if (st == ACCOUNTS_OK) {
			printf("added %s\n", argv[1]);
			warn_foreign(cfg, argv[1]);
			rc = EXIT_OK;
		} else {
			rc = failed(argv[1], st);
		}
	}
	explicit_bzero(pw, sizeof(pw));
	free(senders);
	return rc;
}

static int user_del(int argc, char **argv, const struct config *cfg)
{
	struct accounts *a = open_store(cfg);
	enum accounts_status st;

	if (a == NULL)
		return EXIT_FAIL;
	st = accounts_delete(a, argv[1]);
	accounts_close(a);
	if (st != ACCOUNTS_OK)
		return failed(argv[1], st);
	printf("deleted %s\n", argv[1]);
	return EXIT_OK;
}

static void print_account(void *arg, const char *address, const char *const *senders)
{
	fputs(address, stdout);
	for (size_t i = 0; senders[i] != NULL; i++)
		printf(" %s", senders[i]);
	putchar('\n');
}

static int user_list(int argc, char **argv, const struct config *cfg)
{
	struct accounts *a = open_store(cfg);
	enum accounts_status st;

	if (a == NULL)
		return EXIT_FAIL;
	st = accounts_list(a, print_account, NULL);
	accounts_close(a);
	if (st != ACCOUNTS_OK) {
		fprintf(stderr, "postern user: cannot list accounts: %s\n",
		        accounts_status_text(st));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int user_passwd(int argc, char **argv, const struct config *cfg)
{
	char pw[ACCOUNTS_PASSWORD_MAX + 2];
	struct accounts *a;
	int rc = EXIT_FAIL;

	if (read_password(pw, sizeof(pw)) == 0 && (a = open_store(cfg)) != NULL) {
		enum accounts_status st = accounts_set_password(a, argv[1], pw);
		accounts_close(a);
		if (st == ACCOUNTS_OK) {
			printf("changed the password of %s\n", argv[1]);
			rc = EXIT_OK;
		} else {
			rc = failed(argv[1], st);
		}
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

static int user_sender(int argc, char **argv, const struct config *cfg)
{
	struct accounts *a = open_store(cfg);
	enum accounts_status st;

	if (a == NULL)
		return EXIT_FAIL;
	st = accounts_add_sender(a, argv[1], argv[2]);
	accounts_close(a);
	if (st == ACCOUNTS_EXISTS) {
		fprintf(stderr, "postern user: %s may already send as %s\n", argv[1], argv[2]);
		return EXIT_FAIL;
	}
	if (st == ACCOUNTS_INVALID) {
		fprintf(stderr, "postern user: invalid address or sender: a sender is local@domain"
		                " or @domain\n");
		return EXIT_FAIL;
	}
	if (st != ACCOUNTS_OK)
		return failed(argv[1], st);
	printf("%s may now send as %s\n", argv[1], argv[2]);
	return EXIT_OK;
}

/* argc counts the command word itself; add takes --sender pairs after its
 * address, so it checks the rest of its arguments itself. */
static const struct user_cmd {
	const char *name;
	int min_argc, max_argc;
	int (*run)(int argc, char **argv, const struct config *cfg);
} user_cmds[] = {
    {"add", 2, -1, user_add},      {"del", 2, 2, user_del},       {"list", 1, 1, user_list},
    {"passwd", 2, 2, user_passwd}, {"sender", 3, 3, user_sender},
};

int cli_user(int argc, char **argv, const struct config *cfg)
{
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "help") == 0) {
		fputs(cli_user_usage, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(user_cmds) / sizeof(user_cmds[0]); i++) {
		const struct user_cmd *c = &user_cmds[i];
		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (argc < c->min_argc || (c->max_argc >= 0 && argc > c->max_argc))
			return usage();
		return c->run(argc, argv, cfg);
	}
	fprintf(stderr, "postern user: unknown command \"%s\"\n", argv[0]);
	return usage();
}
