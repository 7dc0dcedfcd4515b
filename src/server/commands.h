/* The SMTP commands: the table the session's lines are dispatched
 * through, the greeting and the end of a message. */
#ifndef POSTERN_COMMANDS_H
#define POSTERN_COMMANDS_H

#include "smtp/data.h"

#include <stddef.h>

struct session;

void commands_greet(struct session *s);
void commands_line(struct session *s, const char *line, size_t len);
/* Called at the end of DATA or the last BDAT chunk. */
void commands_message_end(struct session *s, enum data_error err);

#endif
