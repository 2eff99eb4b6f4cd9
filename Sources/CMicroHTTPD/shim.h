#ifndef DUALHOOK_CMICROHTTPD_SHIM_H
#define DUALHOOK_CMICROHTTPD_SHIM_H
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <microhttpd.h>

/// Starts a daemon with an internal pool of `threads` epoll threads on `host:port` (IPv4),
/// whose connections may be suspended while their handler runs elsewhere. `uri_log` gets each
/// request's target as sent (libmicrohttpd decodes the path it hands the access handler, so
/// `%2F` in an id would split it and `%00` would cut it short); what it returns becomes the
/// request's context. `accept` is asked for every connection before it is taken (`HTTPServer`
/// refuses them while it stops).
/// MHD_start_daemon is variadic, so every option the server uses is passed here.
static inline struct MHD_Daemon *dh_mhd_start(
    const char *host, uint16_t port,
    MHD_AcceptPolicyCallback accept, void *accept_cls,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *connection), void *uri_log_cls,
    unsigned int threads, unsigned int connection_limit,
    unsigned int connection_timeout, size_t connection_memory_limit) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return NULL;
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
        port, accept, accept_cls, handler, handler_cls,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, uri_log_cls,
        MHD_OPTION_END);
}

/// The response-memory-mode enum imports as a closed Swift enum; keep the copy mode here.
static inline struct MHD_Response *dh_mhd_response_copy(const void *data, size_t size) {
    return MHD_create_response_from_buffer(size, (void *)data, MHD_RESPMEM_MUST_COPY);
}

static inline const char *dh_mhd_header(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/// Calls `cb(ctx, key, value)` for each header.
typedef void (*dh_mhd_pair_cb)(void *ctx, const char *key, const char *value);
struct dh_mhd_pair_ctx { dh_mhd_pair_cb cb; void *ctx; };
static enum MHD_Result dh_mhd_pair_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    struct dh_mhd_pair_ctx *p = (struct dh_mhd_pair_ctx *)cls;
    p->cb(p->ctx, key, value);
    return MHD_YES;
}
/// Calls `cb(ctx, key, key_size, value, value_size)` for each query argument, decoded, with its
/// length: a value may hold a NUL (`%00`), which a C string would cut short.
typedef void (*dh_mhd_pair_n_cb)(void *ctx, const char *key, size_t key_size, const char *value, size_t value_size);
struct dh_mhd_pair_n_ctx { dh_mhd_pair_n_cb cb; void *ctx; };
static enum MHD_Result dh_mhd_pair_n_iter(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                          const char *value, size_t value_size) {
    (void)kind;
    struct dh_mhd_pair_n_ctx *p = (struct dh_mhd_pair_n_ctx *)cls;
    p->cb(p->ctx, key, key_size, value, value_size);
    return MHD_YES;
}
static inline void dh_mhd_query_args(struct MHD_Connection *c, dh_mhd_pair_n_cb cb, void *ctx) {
    struct dh_mhd_pair_n_ctx p = { cb, ctx };
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, dh_mhd_pair_n_iter, &p);
}
static inline void dh_mhd_headers(struct MHD_Connection *c, dh_mhd_pair_cb cb, void *ctx) {
    struct dh_mhd_pair_ctx p = { cb, ctx };
    MHD_get_connection_values(c, MHD_HEADER_KIND, dh_mhd_pair_iter, &p);
}

/// The peer's address as text ("" when unknown).
static inline void dh_mhd_client_ip(struct MHD_Connection *c, char *buf, size_t len) {
    buf[0] = 0;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr) return;
    if (info->client_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)info->client_addr)->sin_addr, buf, (socklen_t)len);
    } else if (info->client_addr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)info->client_addr)->sin6_addr, buf, (socklen_t)len);
    }
}

static inline enum MHD_Result dh_mhd_yes(void) { return MHD_YES; }
static inline enum MHD_Result dh_mhd_no(void) { return MHD_NO; }
#endif
