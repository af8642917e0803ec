#ifndef NY_THREAD_H
#define NY_THREAD_H

#include "err.h"

/* Lowers the calling thread's scheduling priority: adds by (0..19) to its
 * nice value, capped at 19. Linux keeps a nice value per thread, so the
 * other threads of the process keep theirs. by 0 changes nothing. Returns
 * NY_OK, or NY_ERR with the system's reason when the value cannot be read
 * or set (the thread then runs at its old priority). */
int thread_lower_priority(int by, ny_err *e);

/* Names the calling thread (at most 15 bytes are kept), as top -H, ps -L
 * and /proc/PID/task/TID/comm show it. A name that cannot be set is
 * ignored: it changes nothing but what those tools show. */
void thread_name(const char *name);

#endif
