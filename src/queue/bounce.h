/* DSNs without backscatter: after the recipients of a message have their
 * results, the delivery status notifications their NOTIFY asks for
 * (failures by default; delays after delivery.delay_warning hours;
 * successes when asked) are made and queued, but only for a sender known
 * to be genuine (messages.sender_verified: authenticated submission, SPF
 * pass or aligned DKIM pass on arrival, local mail).  Anyone else's
 * failure is logged with dsn=suppressed and no bounce is made; a null
 * sender or a DSN of our own never gets one. */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include "queue/engine.h"

struct spool;

/* Called once the DSN of m (if any) is durable in the queue, or could not
 * be made (its failed recipients then stay deferred, to try again). */
typedef void (*bounce_done_fn)(void *arg, struct qmsg *m);

/* Decides, makes and queues m's DSN through sp; sets each recipient's
 * dsn note.  done may run before this returns (nothing to send). */
void bounce_after_delivery(struct engine *e, struct spool *sp, struct qmsg *m, bounce_done_fn done,
                           void *arg);

#endif
