/* Accounts in the SQLite state database (<state_dir>/state.db): a mailbox
 * address, a yescrypt password hash, and the addresses the account may
 * use in MAIL FROM.  Every call blocks (SQLite, crypt): from an SMTP
 * worker, call them only on a pool thread.  Safe to share between threads. */
#ifndef POSTERN_ACCOUNTS_H
#define POSTERN_ACCOUNTS_H

#include <stddef.h>

struct accounts;

/* Opens or creates <state_dir>/state.db (WAL).  NULL and err on failure. */
struct accounts *accounts_open(const char *state_dir, char *err, size_t errsize);
void accounts_close(struct accounts *a);

/* The longest password accepted, in bytes: libxcrypt's limit. */
#define ACCOUNTS_PASSWORD_MAX 511

enum accounts_status {
	ACCOUNTS_OK = 0,
	ACCOUNTS_NOT_FOUND,
	ACCOUNTS_EXISTS,
	ACCOUNTS_BAD_PASSWORD,
	ACCOUNTS_INVALID, /* malformed address or empty password */
	ACCOUNTS_ERROR,   /* database or crypt failure: temporary */
};

/* The address is stored lower-cased in its domain part; the local part is
 * kept as given and compared case-insensitively (as every common MTA does).
 * The account's own address is always an allowed sender. */
enum accounts_status accounts_add(struct accounts *a, const char *address, const char *password,
                                  const char *const *senders, size_t nsenders);
enum accounts_status accounts_delete(struct accounts *a, const char *address);
enum accounts_status accounts_set_password(struct accounts *a, const char *address,
                                           const char *password);
enum accounts_status accounts_add_sender(struct accounts *a, const char *address,
                                         const char *sender);

/* Calls fn once per account with its senders (NULL-terminated). */
enum accounts_status
accounts_list(struct accounts *a,
              void (*fn)(void *arg, const char *address, const char *const *senders), void *arg);

/* ACCOUNTS_OK when a mailbox with this address exists, else NOT_FOUND. */
enum accounts_status accounts_exists(struct accounts *a, const char *address);
/* Verifies the password (constant time comparison of the hash): OK,
 * BAD_PASSWORD, NOT_FOUND for an unknown user (after as much work as a
 * known one), INVALID for an empty or over-long password. */
enum accounts_status accounts_authenticate(struct accounts *a, const char *user,
                                           const char *password);
/* ACCOUNTS_OK when user may use sender in MAIL FROM: the account's own
 * address, a sender added for it, or any address in a domain added as
 * "@domain".  NOT_FOUND when refused or user is unknown, INVALID when
 * sender is not an address (the null sender included). */
enum accounts_status accounts_sender_allowed(struct accounts *a, const char *user,
                                             const char *sender);

const char *accounts_status_text(enum accounts_status st);

#endif
