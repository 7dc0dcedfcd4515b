/* Connection counts shared by every SMTP worker, so that
 * limits.max_connections and limits.max_connections_per_ip hold for the
 * whole server and not once per worker.  A shared anonymous mapping made
 * by the master before it forks: each worker writes only its own slot,
 * readers add the slots up, and the master clears the slot of a worker
 * that has exited, so a crash leaks no count. */
#ifndef POSTERN_CONNCOUNT_H
#define POSTERN_CONNCOUNT_H

struct conncount;

struct conncount *conncount_new(int nslots);
int conncount_slots(const struct conncount *cc);
void conncount_clear_slot(struct conncount *cc, int slot);

/* Adds delta (+1 or -1) to slot's count for ip and its total.  Returns the
 * server-wide count for ip after the change and sets *total to the
 * server-wide number of connections.  Addresses share a counter when
 * their hashes collide, which can only make a limit stricter. */
unsigned conncount_add(struct conncount *cc, int slot, const char *ip, int delta, unsigned *total);

#endif
