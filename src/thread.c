/* thread.c - what the server's threads say about themselves: their
 * priority and their name.
 *
 * The server has one serial stage, the group committer (server_commit.c):
 * every acknowledged message waits for it, while the request threads around
 * it work in parallel and the outbox worker can catch up later. On two cores
 * the request threads and the committer share the CPU as equals, so the
 * committer spent about a fifth of its time waiting for a core while requests
 * queued up behind it. Raising its priority needs privileges a service
 * usually lacks; lowering the others' needs none, so the request pool
 * (server_http.c, `serve --pool-nice`) and the outbox worker (outbox_worker.c,
 * `--outbox-nice`) each lower their own threads with this call. The
 * server's own threads also name themselves ("ny-commit", "ny-outbox", …),
 * so that per-thread tools (top -H, ps -L, /proc/PID/task) tell them
 * apart from libmicrohttpd's "MHD-worker" threads. */
#include "thread.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int thread_lower_priority(int by, ny_err *e)
{
    if (by <= 0)
        return NY_OK;
    id_t tid = (id_t)syscall(SYS_gettid); /* this thread, not the process */
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, tid);
    if (cur == -1 && errno)
        return ny_err_set(e, NY_ERR, "cannot read the thread's priority: %s", strerror(errno));
    int want = cur + by > 19 ? 19 : cur + by;
    if (setpriority(PRIO_PROCESS, tid, want) != 0)
        return ny_err_set(e, NY_ERR, "cannot lower the thread's priority: %s", strerror(errno));
    return NY_OK;
}

void thread_name(const char *name)
{
    (void)prctl(PR_SET_NAME, name, 0, 0, 0);
}
