#ifndef DUALHOOK_CPOSTGRES_SHIM_H
#define DUALHOOK_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <poll.h>

/// Waits until the connection's socket is readable or `timeout_ms` passes.
/// Returns >0 when readable, 0 on timeout, <0 on error.
static inline int dh_pq_wait_readable(PGconn *conn, int timeout_ms) {
    int fd = PQsocket(conn);
    if (fd < 0) return -1;
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    return poll(&p, 1, timeout_ms);
}

/// Silences libpq's default notice processor (it writes to stderr, outside our log format).
static void dh_pq_notice_ignore(void *arg, const char *message) { (void)arg; (void)message; }
static inline void dh_pq_quiet_notices(PGconn *conn) {
    PQsetNoticeProcessor(conn, dh_pq_notice_ignore, NULL);
}
#endif
