/* One mail transaction (RFC 5321 3.3): from MAIL to the end of the
 * message or RSET.  A new transaction is a new structure, so nothing of
 * the previous one survives by accident. */
#ifndef POSTERN_TXN_H
#define POSTERN_TXN_H

#include "auth/msghead.h"
#include "core/buf.h"
#include "core/id.h"
#include "smtp/cmd.h"
#include "smtp/data.h"

#include <stddef.h>
#include <stdint.h>

struct spool_body;
struct spool_rcpt;

struct txn {
	char queue_id[ID_LEN + 1]; /* "" until the body begins */
	char mail_from[ADDR_PATH_MAX + 1];
	struct mail_params mail;
	/* The RCPT at hand, from its check until it is accepted (its DSN
	 * parameters go with it), and whether it is sent on for a local
	 * address (a bounce to our SRS address, a remote postmaster). */
	struct rcpt_params rcpt;
	int rcpt_forwarded;
	struct spool_rcpt *rcpts;
	size_t nrcpt;
	size_t nrcpt_exempt; /* recipients that are postmaster or abuse */
	struct spool_body *body;
	/* The header section, collected once for every filter (FS_HEADER
	 * onwards); the body begins after it. */
	struct msghead head;
	int body_started;
	int body_error; /* spool write failed during DATA/BDAT */
	struct data_reader data;
	struct data_bdat bdat;
	uint64_t bdat_left; /* bytes still to read of the current chunk */
	int bdat_last;
	int bdat_failed;  /* a chunk was refused: the rest are only read */
	int bdat_started; /* bdat is initialised */
	/* Once the message is accepted (FS_SEAL): the header fields we add
	 * (signatures, trace, Authentication-Results), as they go in front
	 * of the message, and the results of our Authentication-Results
	 * field on one line ("" when there is none), for the ARC set of a
	 * forwarded message. */
	struct buf fields;
	char *authres;
};

/* Header sections longer than this are not examined (none of ours is
 * near it); such a message gets no DKIM or DMARC result. */
#define TXN_HEADER_MAX (256 * 1024)
/* The header fields we add to a message are at most this long. */
#define TXN_FIELDS_MAX (1024 * 1024)

struct txn *txn_new(void);
void txn_free(struct txn *t);
/* addr: where it goes; orcpt: as the client gave it; dsn: its RCPT's
 * parameters (NOTIFY, ORCPT); forwarded: addr is remote and stands for a
 * local address (spool_rcpt). */
void txn_add_rcpt(struct txn *t, const char *addr, const char *orcpt, int exempt,
                  const struct rcpt_params *dsn, int forwarded);

#endif
