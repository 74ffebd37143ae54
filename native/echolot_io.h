/*
 * echolot_io: batched UDP datagram I/O for echolot (N-API, Linux). This header holds what the units share:
 * limits, the socket and per-thread state, and the functions one unit calls in another.
 *
 * One Socket owns one non-blocking UDP descriptor polled by libuv (uv_poll_t on Node's own loop): it never
 * blocks and never busy-waits. On readable it drains with recvmmsg in batches of BATCH until EAGAIN or a
 * per-callback cap, so one wake-up serves many datagrams.
 *
 * Modes:
 * - echo (the reference server): the whole echo happens here. Each batch is filtered (loop ports, own port,
 *   non-unicast or unlisted destinations, an optional JavaScript policy called once per batch, the loop
 *   guard) and sent back with sendmmsg, each reply leaving from the request's destination address
 *   (IP_PKTINFO / IPV6_PKTINFO), so one wildcard socket per family answers correctly for every local address.
 * - client: JavaScript is called once per batch with the count; the datagrams sit in a shared receive arena.
 *   Sends are written by JavaScript into a per-socket send arena and flushed with one sendmmsg per call.
 * - probe client (the load generator's flows): a client whose probes are encoded and checked here. All probe
 *   clients of a thread share one epoll set, polled by a single uv_poll_t: one wake-up drains every ready
 *   socket and one JavaScript call receives the rows of all of them (see group_on_poll), or, for clients of
 *   a Tally (tally.c), every probe sent and every reply is accounted here and JavaScript reads the counts.
 * A send that would block is copied into a bounded queue and retried when the descriptor turns writable;
 * beyond the bound the datagram is dropped and counted.
 *
 * Units: module.c (registration, N-API helpers), socket.c (the Socket class and its lifecycle),
 * send_queue.c (sending and the bounded queue), echo.c (receive path of a polled socket, echo mode),
 * loop_guard.c (ends echo loops between two servers),
 * client.c (client sockets' send arena), client_group.c (the probe group and window mode),
 * probe_codec.c (the load probe format), tally.c (the load generator's accounting: counters and latency
 * histograms, per probe sent and per reply), plane.c (the data plane: window-mode probe clients on a thread of
 * their own instead of Node's loop), echo_thread.c (an echo socket without a JavaScript policy answered by a
 * thread of its own).
 */
#ifndef ECHOLOT_IO_H
#define ECHOLOT_IO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, sendmmsg, struct in6_pktinfo */
#endif
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <node_api.h>
#include <uv.h>

#include "probe_codec.h"

#define BATCH 64
#define SLOT 65536
/* Datagrams handled per readable callback before yielding to the loop (the poll is level-triggered). */
#define RECV_CAP (BATCH * 16)
#define CTL_LEN 64
#define MAX_FILTER 64
#define QUEUE_MAX_BYTES (64u << 20)
/* Probe group: rows handed to JavaScript per call, segments (one per socket drained) per call, epoll events per wake-up. */
#define G_ROWS 1024
#define G_SEGS 256
#define G_EVENTS 64
/* Probe sizes a window-mode socket cycles through (by sequence number). */
#define WIN_SIZES 64
/* Loop guard (loop_guard.c), the numbers of LOOP_GUARD in reference-server/loop-guard.ts: repeats answered in
 * a row, the most time between two of them, and the table's entries (a power of two). */
#define LOOP_REPEATS 8
#define LOOP_GAP_NS 10000000ull
#define LOOP_SLOTS (1u << 16)

/* ST_POLICY counts every policy drop; ST_LOOP_PORT, ST_OWN_PORT, ST_DESTINATION and ST_ECHO_LOOP break down the
 * ones decided here (the rest were dropped by the JavaScript policy, which counts its own reasons). */
enum {
  ST_RECEIVED,
  ST_ECHOED,
  ST_POLICY,
  ST_QUEUE_FULL,
  ST_ERRORS,
  ST_BYTES_IN,
  ST_BYTES_OUT,
  ST_QUEUED,
  ST_LOOP_PORT,
  ST_OWN_PORT,
  ST_DESTINATION,
  ST_ECHO_LOOP,
  ST_COUNT
};
enum { MODE_ECHO = 0, MODE_CLIENT = 1 };
/* Per-datagram metadata visible to JavaScript: length, source port, family (4/6), interface index. */
enum { M_LEN, M_PORT, M_FAMILY, M_IFINDEX, M_STRIDE };

#define CHECK(call)                                                                                          \
  do {                                                                                                       \
    if ((call) != napi_ok) return NULL;                                                                      \
  } while (0)

typedef struct {
  /* Shared receive arena and its JavaScript views (one per env: all sockets of a thread share it). */
  uint8_t *data;
  int32_t *meta;
  uint8_t *src;
  uint8_t *dst;
  double *ts;
  napi_ref data_ref, meta_ref, src_ref, dst_ref, ts_ref;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage names[BATCH];
  char ctl[BATCH][CTL_LEN];
  /* Reply batch of echo mode. */
  struct mmsghdr out[BATCH];
  struct iovec out_iov[BATCH];
  char out_ctl[BATCH][CTL_LEN];
  uint8_t *verdict;
  napi_ref verdict_ref;
  /* Probe group of this thread (NULL until a probe client joins; freed once the last one leaves). */
  struct Group *group;
  double *grows;   /* G_ROWS x P_STRIDE receive rows */
  int32_t *gsegs;  /* G_SEGS x SEG_STRIDE: member, rows, errno */
  napi_ref grows_ref, gsegs_ref, gfn_ref;
  napi_async_context gactx;
  /* Loop guard table of this thread's echo sockets (NULL until one starts with the guard on) and its hash key. */
  struct LoopSlot *loops;
  uint64_t loop_seed;
} Shared;

/* One epoll set for every probe client of a thread, polled by one uv_poll_t on Node's loop. */
typedef struct Group {
  napi_env env;
  Shared *sh;
  int epfd;
  uv_poll_t poll;
  int closing;
  struct Sock **members; /* by member index (the epoll event's data); NULL = free */
  uint32_t cap, count;
} Group;

enum { SEG_MEMBER, SEG_ROWS, SEG_ERRNO, SEG_STRIDE };

/* A flow's counters in the Tally's collect() records (TALLY_FLOW in harness/net/native-io.ts). */
enum {
  TF_SENT,
  TF_RECEIVED,
  TF_UNIQUE,
  TF_LATE,
  TF_DUPLICATES,
  TF_REORDERED,
  TF_REORDER_EXTENT_MAX,
  TF_CORRUPTED,
  TF_TRUNCATED,
  TF_FOREIGN,
  TF_JITTER_NS,
  TF_JITTER_SAMPLES,
  TALLY_FLOW_COUNT
};
/* A Tally's live numbers (TALLY_LIVE in native-io.ts): measured probes unanswered, the last first answer's time,
 * measured probes due when sent (closed loop: a send lag of 0 each). */
enum { TALLY_LIVE_OUTSTANDING, TALLY_LIVE_LAST_ANSWER, TALLY_LIVE_ZERO_LAGS, TALLY_LIVE_COUNT };
struct Tally;
struct FlowTally;

typedef struct {
  uint8_t *data;
  uint32_t len;
  uint32_t name_len;
  struct sockaddr_storage name;
  uint32_t ctl_len;
  char ctl[CTL_LEN];
} Pending;

typedef struct {
  int family;
  uint8_t addr[16];
  uint32_t scope;
} Allowed;

typedef struct Sock {
  napi_env env;
  Shared *sh;
  int fd;
  int family;
  int mode;
  int own_port;
  /*
   * Bound to one address rather than the wildcard: the kernel delivers only unicast datagrams for that address
   * and replies leave from it, so no destination check or source control message is needed. It also keeps
   * the datagrams an inherited socket queued before IP_PKTINFO was set (no valid pktinfo) answerable.
   */
  int specific;
  uv_poll_t poll;
  int poll_init;
  int events;
  int closed;
  napi_ref self;
  napi_ref on_event; /* client: (count) / (errnoName) ; echo: ('error', errnoName) */
  napi_ref on_policy;
  napi_async_context actx;
  /* echo */
  uint8_t *refused;
  napi_ref refused_ref;
  double *stats;
  napi_ref stats_ref;
  int filter_on;
  int loop_guard; /* drop datagrams that continue an echo loop (loop_guard.c) */
  int nfilter;
  Allowed filter[MAX_FILTER];
  uint8_t seen_errno[256];
  /* bounded send queue */
  Pending *q;
  uint32_t q_head, q_count, q_cap;
  size_t q_bytes;
  /* client send arena */
  uint8_t *sarena;
  int32_t *slens;
  uint32_t sslots, sslot_size;
  napi_ref sarena_ref, slens_ref;
  struct mmsghdr *smsgs;
  struct iovec *siov;
  /* client probe mode: probes encoded and validated here (see probe_codec.h) */
  int probe_on;
  ProbeFlow probe;
  double *psend; /* sslots x 4: seq, intended ns, actual ns, length */
  napi_ref psend_ref;
  Group *group; /* probe clients: polled through the thread's group, not poll */
  uint32_t member;
  /*
   * Window mode (flood, ping-pong): the closed loop runs here. Each reply frees its probe's slot and the
   * window is topped up as soon as the socket is drained; JavaScript sees the replies and, as a PS_SENT row,
   * each run of probes sent. Times are on JavaScript's clock: uv_hrtime + clock_offset.
   */
  int win_on;
  uint32_t win, inflight;
  double next_seq, end_ns, expire_ns, clock_offset;
  uint32_t nsizes;
  uint32_t sizes[WIN_SIZES];
  /* Every probe from win_seq on, in sequence order: its send time and whether its slot is free again. */
  double *win_at;
  uint8_t *win_free;
  uint32_t win_head, win_count, win_cap;
  double win_seq;
  /* Accounting in C (tally.c): the share's Tally (held by tally_ref) and this flow's part of it; NULL = the
   * rows go to JavaScript. */
  struct Tally *tally;
  struct FlowTally *ftally;
  napi_ref tally_ref;
  int gso; /* probe clients: equal-length batches go out as UDP GSO sends (client.c) */
  /* Echo mode answered by a thread of its own (echo_thread.c) instead of a uv_poll; NULL = not. */
  struct EchoThread *et;
  /* Window mode driven by a data plane's thread (plane.c) instead of the group's uv_poll; NULL = not. */
  struct Plane *plane;
  uint32_t plane_member;
} Sock;

static inline double now_ns(void) { return (double)uv_hrtime(); }

/*
 * Hidden: these cross units but not the module's boundary. Calls stay direct (no PLT), and names such as
 * send_batch cannot collide with symbols the node binary exports.
 */
#pragma GCC visibility push(hidden)

/* module.c: N-API helpers */
napi_value throw_errno(napi_env env, int err, const char *syscall);
napi_value throw_msg(napi_env env, const char *m);
napi_value js_array(napi_env env, uint32_t n, const napi_value *items);
napi_value typed(napi_env env, napi_typedarray_type type, size_t count, size_t elem, void **mem, napi_ref *ref);
int get_string(napi_env env, napi_value v, char *buf, size_t cap);
Sock *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);
void call_js(Sock *s, napi_ref fn_ref, int argc, napi_value *argv, napi_value *result);

/* socket.c: the Socket class */
int start_poll(napi_env env, Sock *s);
napi_value sock_new(napi_env env, napi_callback_info info);
napi_value sock_bind(napi_env env, napi_callback_info info);
napi_value sock_connect(napi_env env, napi_callback_info info);
napi_value sock_local(napi_env env, napi_callback_info info);
napi_value sock_buffer(napi_env env, napi_callback_info info);
napi_value sock_queued(napi_env env, napi_callback_info info);
napi_value sock_close(napi_env env, napi_callback_info info);
napi_value probe_bind(napi_env env, napi_callback_info info);

/* send_queue.c: sending and the bounded send queue */
int alloc_queue(Sock *s, uint32_t cap);
void queue_free(Sock *s);
void update_poll(Sock *s);
void queue_flush(Sock *s);
int send_batch(Sock *s, struct mmsghdr *m, uint32_t n);

/* echo.c: receive path of a polled socket, echo mode */
void note_error(Sock *s, int err);
void on_poll(uv_poll_t *handle, int status, int events);
void echo_batch(Sock *s, int n, uint64_t now);
void prepare_recv(Shared *sh);
napi_value sock_start_echo(napi_env env, napi_callback_info info);
napi_value sock_set_filter(napi_env env, napi_callback_info info);
napi_value sock_set_policy(napi_env env, napi_callback_info info);

/* loop_guard.c: ends echo loops between two servers */
int loop_guard_init(Shared *sh);
void loop_guard_free(Shared *sh);
int loop_guard_drop(Shared *sh, int own_port, int family, const uint8_t *src, int port, const uint8_t *data,
                    size_t len, uint64_t now_ns);

/* client.c: client sockets' send arena */
int client_send(Sock *s, uint32_t n);
void client_free(Sock *s);
napi_value sock_start_client(napi_env env, napi_callback_info info);
napi_value sock_send(napi_env env, napi_callback_info info);
napi_value sock_start_probe_client(napi_env env, napi_callback_info info);

/* client_group.c: the probe group and window mode */
int probe_recv(Sock *s, struct mmsghdr *msgs, struct iovec *iov, uint8_t *data, double *rows, int max, int flags,
               int *err);
void window_answer(Sock *s, double seq);
void window_settle(Sock *s, double now);
uint32_t window_fill(Sock *s, double now, int *err);
int group_join(Sock *s);
void group_leave(Sock *s);
void window_free(Sock *s);
napi_value probe_group(napi_env env, napi_callback_info info);
napi_value sock_start_window(napi_env env, napi_callback_info info);
napi_value sock_window_tick(napi_env env, napi_callback_info info);

/* tally.c: the load generator's per-datagram accounting */
napi_value tally_register(napi_env env, napi_value exports);
struct Tally *tally_of(napi_env env, napi_value v);
struct FlowTally *tally_attach(struct Tally *t, uint32_t flow);
void tally_lock(struct Tally *t, pthread_mutex_t *mu);
double tally_offset(const struct Tally *t);
void tally_sent(struct Tally *t, struct FlowTally *f, double seq, double intended, double actual);
void tally_reply(struct Tally *t, struct FlowTally *f, const double *row);

/* echo_thread.c: an echo socket answered by a thread of its own */
int echo_thread_start(napi_env env, Sock *s);
void echo_thread_stop(Sock *s);
void echo_thread_report(Sock *s, int err);

/* plane.c: the data plane's thread for window-mode probe clients */
napi_value plane_register(napi_env env, napi_value exports);
void plane_release(Sock *s);
void plane_update_poll(Sock *s);

#pragma GCC visibility pop

#endif
