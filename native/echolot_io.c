/*
 * echolot_io: batched UDP datagram I/O for echolot (N-API, Linux).
 *
 * One Socket owns one non-blocking UDP descriptor polled by libuv (uv_poll_t on Node's own loop): it never
 * blocks and never busy-waits. On readable it drains with recvmmsg in batches of BATCH until EAGAIN or a
 * per-callback cap, so one wake-up serves many datagrams.
 *
 * Two modes:
 * - echo (the reference server): the whole echo happens here. Each batch is filtered (loop ports, own port,
 *   non-unicast or unlisted destinations, an optional JavaScript policy called once per batch) and sent back
 *   with sendmmsg, each reply leaving from the request's destination address (IP_PKTINFO / IPV6_PKTINFO),
 *   so one wildcard socket per family answers correctly for every local address.
 * - client: JavaScript is called once per batch with the count; the datagrams sit in a shared receive arena.
 *   Sends are written by JavaScript into a per-socket send arena and flushed with one sendmmsg per call.
 * - probe client (the load generator's flows): a client whose probes are encoded and checked here. All probe
 *   clients of a thread share one epoll set, polled by a single uv_poll_t: one wake-up drains every ready
 *   socket and one JavaScript call receives the rows of all of them (see group_on_poll).
 * A send that would block is copied into a bounded queue and retried when the descriptor turns writable;
 * beyond the bound the datagram is dropped and counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

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

/* ST_POLICY counts every policy drop; ST_LOOP_PORT, ST_OWN_PORT and ST_DESTINATION break down the ones decided
 * here (the rest were dropped by the JavaScript policy, which counts its own reasons). */
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
  /* client probe mode: probes encoded and validated here (see probe_decode) */
  int probe_on;
  uint8_t run_id[8];
  uint32_t probe_flow;
  /* The first 16 header bytes of this flow's probes (magic to run id), and the FNV states after them
   * (header checksum) and after run id + flow (filler seed): a probe of this flow hashes only the rest. */
  uint8_t prefix[16];
  uint32_t prefix_hash, seed_hash;
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
} Sock;

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value msg, code, error, sys;
  char buf[160];
  snprintf(buf, sizeof buf, "%s %s: %s", syscall, uv_err_name(-err), strerror(err));
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_value n;
  napi_create_int32(env, -err, &n);
  napi_set_named_property(env, error, "errno", n);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *m) {
  napi_throw_error(env, "ERR_ECHOLOT_NATIVE", m);
  return NULL;
}

/* A JavaScript array of these n values (the multi-value returns of the methods below). */
static napi_value js_array(napi_env env, uint32_t n, const napi_value *items) {
  napi_value arr;
  if (napi_create_array_with_length(env, n, &arr) != napi_ok) return NULL;
  for (uint32_t i = 0; i < n; i++) napi_set_element(env, arr, i, items[i]);
  return arr;
}

static double now_ns(void) { return (double)uv_hrtime(); }

/* Parses an address string ("1.2.3.4", "fe80::1%eth0") into a sockaddr of the socket's family. */
static int parse_addr(int family, const char *text, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, text, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    char host[INET6_ADDRSTRLEN + 64];
    strncpy(host, text, sizeof host - 1);
    host[sizeof host - 1] = 0;
    char *pct = strchr(host, '%');
    if (pct != NULL) {
      *pct = 0;
      unsigned idx = if_nametoindex(pct + 1);
      if (idx == 0) idx = (unsigned)strtoul(pct + 1, NULL, 10);
      if (idx == 0) return -2;
      a->sin6_scope_id = idx;
    }
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -1;
    *len = sizeof *a;
  }
  return 0;
}

static Sock *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  Sock *s = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) return NULL;
  if (s == NULL || s->closed) {
    throw_msg(env, "socket closed");
    return NULL;
  }
  return s;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t n;
  return napi_get_value_string_utf8(env, v, buf, cap, &n) == napi_ok ? 0 : -1;
}

static void note_error(Sock *s, int err);
static void on_poll(uv_poll_t *handle, int status, int events);

/* ---------------------------------------------------------------- bounded send queue */

static int queue_push(Sock *s, const uint8_t *data, uint32_t len, const struct msghdr *h) {
  if (s->q_count >= s->q_cap || s->q_bytes + len > QUEUE_MAX_BYTES) return -1;
  Pending *p = &s->q[(s->q_head + s->q_count) % s->q_cap];
  p->data = malloc(len > 0 ? len : 1);
  if (p->data == NULL) return -1;
  memcpy(p->data, data, len);
  p->len = len;
  p->name_len = h->msg_namelen;
  if (h->msg_namelen > 0) memcpy(&p->name, h->msg_name, h->msg_namelen);
  p->ctl_len = (uint32_t)h->msg_controllen;
  if (p->ctl_len > 0) memcpy(p->ctl, h->msg_control, p->ctl_len);
  s->q_count++;
  s->q_bytes += len;
  return 0;
}

static void queue_pop(Sock *s) {
  Pending *p = &s->q[s->q_head];
  s->q_bytes -= p->len;
  free(p->data);
  p->data = NULL;
  s->q_head = (s->q_head + 1) % s->q_cap;
  s->q_count--;
}

static void update_poll(Sock *s) {
  if ((!s->poll_init && s->group == NULL) || s->closed) return;
  int want = UV_READABLE | (s->q_count > 0 ? UV_WRITABLE : 0);
  if (want == s->events) return;
  s->events = want;
  if (s->group != NULL) {
    struct epoll_event ev = {.events = EPOLLIN | (s->q_count > 0 ? EPOLLOUT : 0), .data.u32 = s->member};
    epoll_ctl(s->group->epfd, EPOLL_CTL_MOD, s->fd, &ev);
    return;
  }
  uv_poll_start(&s->poll, want, on_poll);
}

/* Sends queued datagrams in order; stops at the first would-block. */
static void queue_flush(Sock *s) {
  struct mmsghdr m[BATCH];
  struct iovec v[BATCH];
  while (s->q_count > 0) {
    uint32_t n = s->q_count < BATCH ? s->q_count : BATCH;
    for (uint32_t i = 0; i < n; i++) {
      Pending *p = &s->q[(s->q_head + i) % s->q_cap];
      v[i].iov_base = p->data;
      v[i].iov_len = p->len;
      memset(&m[i], 0, sizeof m[i]);
      m[i].msg_hdr.msg_iov = &v[i];
      m[i].msg_hdr.msg_iovlen = 1;
      m[i].msg_hdr.msg_name = p->name_len > 0 ? &p->name : NULL;
      m[i].msg_hdr.msg_namelen = p->name_len;
      m[i].msg_hdr.msg_control = p->ctl_len > 0 ? p->ctl : NULL;
      m[i].msg_hdr.msg_controllen = p->ctl_len;
    }
    int r = sendmmsg(s->fd, m, n, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
      if (errno == EINTR) continue;
      note_error(s, errno);
      queue_pop(s);
      continue;
    }
    for (int i = 0; i < r; i++) {
      if (s->stats) {
        s->stats[ST_ECHOED]++;
        s->stats[ST_BYTES_OUT] += s->q[s->q_head].len;
      }
      queue_pop(s);
    }
  }
  if (s->stats) s->stats[ST_QUEUED] = s->q_count;
}

/*
 * Sends n prepared messages; whatever would block is queued (after anything already queued, so order holds),
 * and a hard error counts against the one message that caused it. Returns the first hard errno, or 0.
 */
static int send_batch(Sock *s, struct mmsghdr *m, uint32_t n) {
  uint32_t i = 0;
  int first_err = 0;
  if (s->q_count > 0) queue_flush(s);
  while (i < n && s->q_count == 0) {
    int r = sendmmsg(s->fd, m + i, n - i, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
      if (first_err == 0) first_err = errno;
      note_error(s, errno);
      i++;
      continue;
    }
    if (s->stats) {
      s->stats[ST_ECHOED] += r;
      for (int k = 0; k < r; k++) s->stats[ST_BYTES_OUT] += m[i + k].msg_len;
    }
    i += (uint32_t)r;
  }
  for (; i < n; i++) {
    struct msghdr *h = &m[i].msg_hdr;
    if (queue_push(s, h->msg_iov[0].iov_base, (uint32_t)h->msg_iov[0].iov_len, h) != 0) {
      if (s->stats) s->stats[ST_QUEUE_FULL]++;
      else if (first_err == 0) first_err = ENOBUFS;
    }
  }
  if (s->stats) s->stats[ST_QUEUED] = s->q_count;
  update_poll(s);
  return first_err;
}

/* ---------------------------------------------------------------- calling JavaScript */

static void call_js(Sock *s, napi_ref fn_ref, int argc, napi_value *argv, napi_value *result) {
  napi_env env = s->env;
  napi_value fn, recv;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_reference_value(env, s->self, &recv);
  napi_value ignored;
  napi_status st = napi_make_callback(env, s->actx, recv, fn, (size_t)argc, argv, result ? result : &ignored);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void note_error(Sock *s, int err) {
  if (s->stats) s->stats[ST_ERRORS]++;
  if (s->mode != MODE_ECHO) return;
  int k = err & 0xff;
  if (s->seen_errno[k]) return;
  s->seen_errno[k] = 1;
  /* Logged once per errno kind: a flood can repeat the same error thousands of times a second. */
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  napi_value argv[2];
  napi_create_string_utf8(s->env, "error", NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(s->env, uv_err_name(-err), NAPI_AUTO_LENGTH, &argv[1]);
  call_js(s, s->on_event, 2, argv, NULL);
  napi_close_handle_scope(s->env, scope);
}

/* ---------------------------------------------------------------- receive path */

/* Fills meta/src/dst of slot i from the received message; returns the destination family (0 if unknown). */
static void parse_meta(Shared *sh, int i) {
  struct msghdr *h = &sh->msgs[i].msg_hdr;
  int32_t *meta = sh->meta + i * M_STRIDE;
  uint8_t *src = sh->src + i * 16, *dst = sh->dst + i * 16;
  struct sockaddr_storage *name = &sh->names[i];
  memset(dst, 0, 16);
  meta[M_LEN] = (int32_t)sh->msgs[i].msg_len;
  meta[M_IFINDEX] = 0;
  if (name->ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)name;
    meta[M_FAMILY] = 4;
    meta[M_PORT] = ntohs(a->sin_port);
    memcpy(src, &a->sin_addr, 4);
  } else if (name->ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)name;
    meta[M_FAMILY] = 6;
    meta[M_PORT] = ntohs(a->sin6_port);
    memcpy(src, &a->sin6_addr, 16);
  } else {
    meta[M_FAMILY] = 0;
    meta[M_PORT] = 0;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      memcpy(dst, &pi.ipi_addr, 4);
      meta[M_IFINDEX] = pi.ipi_ifindex;
      /*
       * A datagram to a broadcast address carries a different preferred local address: never echoed. Interface
       * 0 means the datagram was queued before IP_PKTINFO was set (an inherited socket): only ipi_addr is real.
       */
      if (pi.ipi_ifindex != 0 && pi.ipi_spec_dst.s_addr != pi.ipi_addr.s_addr) meta[M_FAMILY] = -4;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      memcpy(dst, &pi.ipi6_addr, 16);
      meta[M_IFINDEX] = (int32_t)pi.ipi6_ifindex;
    }
  }
}

static int unicast_dst(const int32_t *meta, const uint8_t *dst) {
  if (meta[M_FAMILY] == 4) {
    if ((dst[0] & 0xf0) == 0xe0) return 0;
    if (dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255) return 0;
    return 1;
  }
  if (meta[M_FAMILY] == 6) {
    /* An IPv4 request on a dual-stack socket (an inherited one) carries a v4-mapped destination. */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(dst, mapped, 12) == 0) {
      const uint8_t *v4 = dst + 12;
      return (v4[0] & 0xf0) != 0xe0 && !(v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255);
    }
    return dst[0] != 0xff;
  }
  return 0;
}

static int allowed_dst(Sock *s, const int32_t *meta, const uint8_t *dst) {
  if (!s->filter_on) return 1;
  int len = meta[M_FAMILY] == 4 ? 4 : 16;
  for (int k = 0; k < s->nfilter; k++) {
    Allowed *a = &s->filter[k];
    if (a->family != meta[M_FAMILY] || memcmp(a->addr, dst, (size_t)len) != 0) continue;
    if (a->scope != 0 && (uint32_t)meta[M_IFINDEX] != a->scope) continue;
    return 1;
  }
  return 0;
}

static void echo_batch(Sock *s, int n) {
  Shared *sh = s->sh;
  double *st = s->stats;
  for (int i = 0; i < n; i++) {
    parse_meta(sh, i);
    sh->verdict[i] = 0;
    st[ST_RECEIVED]++;
    st[ST_BYTES_IN] += sh->msgs[i].msg_len;
    int32_t *meta = sh->meta + i * M_STRIDE;
    int port = meta[M_PORT];
    /* Same order as the node:dgram path: own port, then loop ports. */
    if (port == s->own_port) {
      sh->verdict[i] = 1;
      st[ST_OWN_PORT]++;
    } else if (s->refused[port]) {
      sh->verdict[i] = 1;
      st[ST_LOOP_PORT]++;
    } else if (!s->specific && (!unicast_dst(meta, sh->dst + i * 16) || !allowed_dst(s, meta, sh->dst + i * 16))) {
      sh->verdict[i] = 1;
      st[ST_DESTINATION]++;
    }
  }
  if (s->on_policy != NULL) {
    /* One call per batch: the policy reads meta/src/dst and sets verdict[i] = 1 to drop datagram i. */
    napi_value argv[1];
    napi_create_int32(s->env, n, &argv[0]);
    call_js(s, s->on_policy, 1, argv, NULL);
    if (s->closed) return;
  }
  uint32_t m = 0;
  for (int i = 0; i < n; i++) {
    if (sh->verdict[i]) {
      st[ST_POLICY]++;
      continue;
    }
    struct msghdr *in = &sh->msgs[i].msg_hdr;
    struct msghdr *h = &sh->out[m].msg_hdr;
    memset(&sh->out[m], 0, sizeof sh->out[m]);
    sh->out_iov[m].iov_base = sh->iov[i].iov_base;
    sh->out_iov[m].iov_len = sh->msgs[i].msg_len;
    h->msg_iov = &sh->out_iov[m];
    h->msg_iovlen = 1;
    h->msg_name = in->msg_name;
    h->msg_namelen = in->msg_namelen;
    h->msg_control = sh->out_ctl[m];
    int32_t *meta = sh->meta + i * M_STRIDE;
    const uint8_t *dst = sh->dst + i * 16;
    struct cmsghdr *c;
    if (s->specific) {
      h->msg_control = NULL;
      h->msg_controllen = 0;
    } else if (meta[M_FAMILY] == 4) {
      h->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
      memset(h->msg_control, 0, h->msg_controllen);
      c = CMSG_FIRSTHDR(h);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      memcpy(&pi.ipi_spec_dst, dst, 4);
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else {
      h->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
      memset(h->msg_control, 0, h->msg_controllen);
      c = CMSG_FIRSTHDR(h);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      memcpy(&pi.ipi6_addr, dst, 16);
      /* The interface matters only where the address alone is ambiguous: link-local. */
      if (dst[0] == 0xfe && (dst[1] & 0xc0) == 0x80) pi.ipi6_ifindex = (unsigned)meta[M_IFINDEX];
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    m++;
  }
  if (m > 0) send_batch(s, sh->out, m);
}

/* ---------------------------------------------------------------- load probes (client mode)
 *
 * The same format and verdicts as harness/protocol/probe-codec.ts (encodeProbe / decodeProbe), byte for byte:
 * test/probe-codec.test.ts and test/native-io.test.ts hold the two to each other. Done here so the load
 * generator's JavaScript sees one row of numbers per reply instead of a buffer to parse and check.
 */

#define PROBE_MAGIC 0x45434c54u
#define PROBE_VERSION 1
#define PROBE_HEADER 48
#define P_STRIDE 6
static napi_value typed(napi_env env, napi_typedarray_type type, size_t count, size_t elem, void **mem, napi_ref *ref);
/* Row statuses; the "_HDR" ones carry the header fields (the header checksum held). */
enum { PS_PROBE, PS_FOREIGN, PS_TRUNCATED, PS_CORRUPTED, PS_TRUNCATED_HDR, PS_CORRUPTED_HDR, PS_SENT };

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
/* A JavaScript number (a non-negative integer below 2^64) as the u64 the codec writes. */
static void put64(uint8_t *p, double v) {
  uint64_t u = v >= 18446744073709551616.0 ? 0 : v <= 0 ? 0 : (uint64_t)v;
  put32(p, (uint32_t)(u >> 32));
  put32(p + 4, (uint32_t)u);
}

static uint32_t fnv_bytes(uint32_t h, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x01000193u;
  }
  return h;
}
static uint32_t fnv_u32(uint32_t h, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) {
    h ^= (v >> s) & 0xff;
    h *= 0x01000193u;
  }
  return h;
}

/*
 * The filler seed of (run id, flow, seq) as fillerSeed() computes it from seq as a JavaScript number, continued
 * from the FNV state after run id and flow (Sock.seed_hash).
 */
static uint32_t filler_seed_from(uint32_t h, double seq) {
  uint32_t hi = 0, lo = 0;
  if (seq < 18446744073709551616.0) {
    uint64_t u = (uint64_t)seq;
    hi = (uint32_t)(u >> 32);
    lo = (uint32_t)u;
  }
  h = fnv_u32(h, hi);
  h = fnv_u32(h, lo);
  return h == 0 ? 0x9e3779b9u : h;
}

/* The same seed from scratch, for a probe of another flow or run. */
static uint32_t filler_seed(const uint8_t *run_id, uint32_t flow, double seq) {
  return filler_seed_from(fnv_u32(fnv_bytes(0x811c9dc5u, run_id, 8), flow), seq);
}

static inline uint32_t xs32(uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

static void filler_write(uint8_t *b, size_t start, size_t end, uint32_t x) {
  size_t i = start;
  for (; i + 4 <= end; i += 4) {
    x = xs32(x);
    put32(b + i, x);
  }
  if (i < end) {
    x = xs32(x);
    for (int s = 24; i < end; i++, s -= 8) b[i] = (uint8_t)(x >> s);
  }
}

/* 1 when b[start, end) is the filler stream of seed x. */
static int filler_ok(const uint8_t *b, size_t start, size_t end, uint32_t x) {
  size_t i = start;
  for (; i + 4 <= end; i += 4) {
    x = xs32(x);
    if (be32(b + i) != x) return 0;
  }
  if (i < end) {
    x = xs32(x);
    for (int s = 24; i < end; i++, s -= 8)
      if (b[i] != (uint8_t)(x >> s)) return 0;
  }
  return 1;
}

/* Encodes probe `seq` of this socket's flow into b[0, length) (length >= PROBE_HEADER). */
static void probe_encode(Sock *s, uint8_t *b, double seq, double intended, double actual, uint32_t length) {
  memcpy(b, s->prefix, 16);
  put64(b + 16, seq);
  put64(b + 24, intended);
  put64(b + 32, actual);
  put32(b + 40, length);
  put32(b + 44, fnv_bytes(s->prefix_hash, b + 16, 28));
  filler_write(b, PROBE_HEADER, length, filler_seed_from(s->seed_hash, seq));
}

/* The header prefix and hash states of this socket's flow (see Sock.prefix). */
static void probe_prefix(Sock *s) {
  put32(s->prefix, PROBE_MAGIC);
  s->prefix[4] = PROBE_VERSION;
  s->prefix[5] = 0;
  s->prefix[6] = (uint8_t)(s->probe_flow >> 8);
  s->prefix[7] = (uint8_t)s->probe_flow;
  memcpy(s->prefix + 8, s->run_id, 8);
  s->prefix_hash = fnv_bytes(0x811c9dc5u, s->prefix, 16);
  s->seed_hash = fnv_u32(fnv_bytes(0x811c9dc5u, s->run_id, 8), s->probe_flow);
}

/* decodeProbe(buf, runId) into one row: status, flow, seq, intended, actual (when the header held), receive time. */
static void probe_decode(Sock *s, const uint8_t *b, size_t n, double *row, double t) {
  row[1] = row[2] = row[3] = row[4] = 0;
  row[5] = t;
  if (n < 4) {
    int prefix = n > 0;
    for (size_t i = 0; i < n; i++)
      if (b[i] != (uint8_t)(PROBE_MAGIC >> (24 - 8 * i))) prefix = 0;
    row[0] = prefix ? PS_TRUNCATED : PS_FOREIGN;
    return;
  }
  if (be32(b) != PROBE_MAGIC) { row[0] = PS_FOREIGN; return; }
  if (n < 5) { row[0] = PS_TRUNCATED; return; }
  if (b[4] != PROBE_VERSION) { row[0] = PS_FOREIGN; return; }
  if (n >= 16 && memcmp(b + 8, s->run_id, 8) != 0) { row[0] = PS_FOREIGN; return; }
  if (n < PROBE_HEADER) { row[0] = PS_TRUNCATED; return; }
  /* A probe of this flow (the usual case) hashes from the state after the prefix it shares. */
  int own = memcmp(b, s->prefix, 16) == 0;
  if (be32(b + 44) != (own ? fnv_bytes(s->prefix_hash, b + 16, 28) : fnv_bytes(0x811c9dc5u, b, 44))) {
    row[0] = PS_CORRUPTED;
    return;
  }
  uint32_t flow = ((uint32_t)b[6] << 8) | b[7];
  double seq = (double)be64(b + 16);
  uint32_t length = be32(b + 40);
  row[1] = flow;
  row[2] = seq;
  row[3] = (double)be64(b + 24);
  row[4] = (double)be64(b + 32);
  if (length < PROBE_HEADER) { row[0] = PS_CORRUPTED_HDR; return; }
  uint32_t seed = own ? filler_seed_from(s->seed_hash, seq) : filler_seed(b + 8, flow, seq);
  if (n < length) {
    row[0] = filler_ok(b, PROBE_HEADER, n, seed) ? PS_TRUNCATED_HDR : PS_CORRUPTED_HDR;
    return;
  }
  if (n > length || !filler_ok(b, PROBE_HEADER, n, seed)) { row[0] = PS_CORRUPTED_HDR; return; }
  row[0] = PS_PROBE;
}

static int client_send(Sock *s, uint32_t n);

/* ---------------------------------------------------------------- probe group */

/*
 * One recvmmsg of at most `max` datagrams on a probe client, decoded into rows. Returns the rows written; 0 with
 * *err = 0 when nothing is waiting, 0 with *err set when the socket reported an error (an ICMP report on the
 * connected socket, consumed by this call).
 */
static int probe_recv(Sock *s, double *rows, int max, int *err) {
  Shared *sh = s->sh;
  *err = 0;
  for (int i = 0; i < max; i++) {
    struct msghdr *h = &sh->msgs[i].msg_hdr;
    memset(h, 0, sizeof *h);
    sh->iov[i].iov_base = sh->data + (size_t)i * SLOT;
    sh->iov[i].iov_len = SLOT;
    h->msg_iov = &sh->iov[i];
    h->msg_iovlen = 1;
  }
  for (;;) {
    int n = recvmmsg(s->fd, sh->msgs, (unsigned)max, MSG_DONTWAIT, NULL);
    if (n > 0) {
      double t = now_ns();
      for (int i = 0; i < n; i++)
        probe_decode(s, sh->data + (size_t)i * SLOT, sh->msgs[i].msg_len, rows + (size_t)i * P_STRIDE, t);
      return n;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    return 0;
  }
}

/* ---------------------------------------------------------------- window mode */

/* Appends the probe sent at `at` to the window's list (growing it when full); 0 or -1. */
static int window_push(Sock *s, double at) {
  if (s->win_count == s->win_cap) {
    uint32_t cap = s->win_cap * 2;
    double *a = malloc(cap * sizeof *a);
    uint8_t *f = malloc(cap);
    if (a == NULL || f == NULL) {
      free(a);
      free(f);
      return -1;
    }
    for (uint32_t i = 0; i < s->win_count; i++) {
      uint32_t k = (s->win_head + i) % s->win_cap;
      a[i] = s->win_at[k];
      f[i] = s->win_free[k];
    }
    free(s->win_at);
    free(s->win_free);
    s->win_at = a;
    s->win_free = f;
    s->win_head = 0;
    s->win_cap = cap;
  }
  uint32_t k = (s->win_head + s->win_count) % s->win_cap;
  s->win_at[k] = at;
  s->win_free[k] = 0;
  s->win_count++;
  return 0;
}

/* A reply (or any copy of one) to probe `seq` frees its slot, once. */
static void window_answer(Sock *s, double seq) {
  double i = seq - s->win_seq;
  if (i < 0 || i >= s->win_count) return;
  uint32_t k = (s->win_head + (uint32_t)i) % s->win_cap;
  if (s->win_free[k]) return;
  s->win_free[k] = 1;
  s->inflight--;
}

/* Drops settled probes from the head; with now >= 0 also frees the slots of probes unanswered for expire_ns. */
static void window_settle(Sock *s, double now) {
  while (s->win_count > 0) {
    uint32_t k = s->win_head;
    if (!s->win_free[k]) {
      if (now < 0 || s->win_at[k] + s->expire_ns > now) break;
      s->inflight--; /* presumed lost: its slot goes to a new probe (a late answer still counts in JavaScript) */
    }
    s->win_head = (k + 1) % s->win_cap;
    s->win_count--;
    s->win_seq++;
  }
}

/*
 * Tops the window up at `now`: sends win - inflight new probes (sequence numbers from next_seq on) in batches
 * of the send arena, all stamped `now` (due when sent). Returns how many were handed to the kernel or its
 * queue; *err gets the first hard errno.
 */
static uint32_t window_fill(Sock *s, double now, int *err) {
  uint32_t sent = 0;
  *err = 0;
  if (!s->win_on || s->closed || now >= s->end_ns) return 0;
  while (s->inflight < s->win) {
    uint32_t n = s->win - s->inflight;
    if (n > s->sslots) n = s->sslots;
    for (uint32_t i = 0; i < n; i++) {
      double seq = s->next_seq + i;
      double *row = s->psend + (size_t)i * 4;
      row[0] = seq;
      row[1] = now;
      row[2] = now;
      s->slens[i] = (int32_t)s->sizes[(uint64_t)seq % s->nsizes];
      if (window_push(s, now) != 0) {
        n = i;
        *err = ENOMEM;
        break;
      }
    }
    if (n == 0) break;
    int e = client_send(s, n);
    if (e != 0 && *err == 0) *err = e < 0 ? EINVAL : e;
    s->next_seq += n;
    s->inflight += n;
    sent += n;
    if (*err == ENOMEM) break;
  }
  return sent;
}

/* A PS_SENT row: `count` probes from sequence `first` on, sent at `at`. */
static void sent_row(double *row, uint32_t count, double first, double at) {
  row[0] = PS_SENT;
  row[1] = count;
  row[2] = first;
  row[3] = at;
  row[4] = at;
  row[5] = at;
}

/* Calls the group's JavaScript handler with the number of segments filled. */
static void group_dispatch(Group *g, uint32_t nseg) {
  Shared *sh = g->sh;
  napi_env env = g->env;
  napi_value fn, recv, argv[1], ignored;
  if (sh->gfn_ref == NULL || napi_get_reference_value(env, sh->gfn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv);
  napi_create_uint32(env, nseg, &argv[0]);
  if (napi_make_callback(env, sh->gactx, recv, fn, 1, argv, &ignored) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* Appends rows (or an error) of member m to the segments, extending the last segment when it is m's. */
static void group_note(Shared *sh, uint32_t *nseg, uint32_t m, int rows, int err) {
  int32_t *last = *nseg > 0 ? sh->gsegs + (size_t)(*nseg - 1) * SEG_STRIDE : NULL;
  if (err == 0 && last != NULL && last[SEG_MEMBER] == (int32_t)m && last[SEG_ERRNO] == 0) {
    last[SEG_ROWS] += rows;
    return;
  }
  int32_t *seg = sh->gsegs + (size_t)(*nseg)++ * SEG_STRIDE;
  seg[SEG_MEMBER] = (int32_t)m;
  seg[SEG_ROWS] = rows;
  seg[SEG_ERRNO] = err;
}

/*
 * The group's epoll set is readable: drain every ready socket (up to RECV_CAP datagrams each; level-triggered
 * epoll brings the rest back next turn) into one run of rows, and hand them to JavaScript in one call, or in
 * a few when the rows or segments fill up. Sockets are looked up by member index after every call into
 * JavaScript, which may close them.
 */
static void group_on_poll(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  Group *g = (Group *)handle->data;
  Shared *sh = g->sh;
  if (g->closing) return;
  struct epoll_event evs[G_EVENTS];
  int ready = epoll_wait(g->epfd, evs, G_EVENTS, 0);
  if (ready <= 0) return;
  napi_handle_scope scope;
  napi_open_handle_scope(g->env, &scope);
  uint32_t used = 0, nseg = 0;
  for (int e = 0; e < ready && !g->closing; e++) {
    uint32_t m = evs[e].data.u32;
    Sock *s = m < g->cap ? g->members[m] : NULL;
    if (s == NULL) continue;
    if (evs[e].events & EPOLLOUT) {
      queue_flush(s);
      update_poll(s);
    }
    if (!(evs[e].events & (EPOLLIN | EPOLLERR))) continue;
    for (int total = 0; total < RECV_CAP;) {
      /* Room for a full batch and a PS_SENT row, and for two segments. */
      if (G_ROWS - used < BATCH + 1 || nseg + 2 > G_SEGS) {
        group_dispatch(g, nseg);
        used = nseg = 0;
        s = g->closing || m >= g->cap ? NULL : g->members[m];
        if (s == NULL) break;
      }
      int err;
      double *rows = sh->grows + (size_t)used * P_STRIDE;
      int n = probe_recv(s, rows, BATCH, &err);
      if (n > 0) {
        if (s->win_on)
          for (int i = 0; i < n; i++) {
            const double *r = rows + (size_t)i * P_STRIDE;
            if ((r[0] == PS_PROBE || r[0] == PS_TRUNCATED_HDR || r[0] == PS_CORRUPTED_HDR) && r[1] == s->probe_flow)
              window_answer(s, r[2]);
          }
        group_note(sh, &nseg, m, n, 0);
        used += (uint32_t)n;
        total += n;
        /* Fewer than asked: the queue was empty a moment ago; skip the call that would say EAGAIN. */
        if (n < BATCH) break;
      } else if (err != 0) {
        group_note(sh, &nseg, m, 0, err);
      } else {
        break;
      }
    }
    /* Window mode: the freed slots get new probes at once, before the next socket is drained. */
    if (s != NULL && s->win_on && s->inflight < s->win) {
      window_settle(s, -1);
      double now = now_ns() + s->clock_offset, first = s->next_seq;
      int err;
      uint32_t k = window_fill(s, now, &err);
      if (k > 0) {
        sent_row(sh->grows + (size_t)used * P_STRIDE, k, first, now);
        group_note(sh, &nseg, m, 1, 0);
        used++;
      }
      if (err != 0) group_note(sh, &nseg, m, 0, err);
    }
  }
  if (nseg > 0 && !g->closing) group_dispatch(g, nseg);
  napi_close_handle_scope(g->env, scope);
}

static void group_closed(uv_handle_t *h) {
  Group *g = (Group *)h->data;
  close(g->epfd);
  free(g->members);
  free(g);
}

/* Adds a probe client to its thread's group (created on first use); 0 or an errno. */
static int group_join(Sock *s) {
  Shared *sh = s->sh;
  Group *g = sh->group;
  if (g == NULL) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(s->env, &loop) != napi_ok) return EINVAL;
    g = calloc(1, sizeof *g);
    if (g == NULL) return ENOMEM;
    g->env = s->env;
    g->sh = sh;
    g->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g->epfd < 0) {
      int err = errno;
      free(g);
      return err;
    }
    if (uv_poll_init(loop, &g->poll, g->epfd) != 0) {
      close(g->epfd);
      free(g);
      return EINVAL;
    }
    g->poll.data = g;
    uv_poll_start(&g->poll, UV_READABLE, group_on_poll);
    sh->group = g;
  }
  uint32_t m = 0;
  while (m < g->cap && g->members[m] != NULL) m++;
  if (m == g->cap) {
    uint32_t cap = g->cap ? g->cap * 2 : 16;
    Sock **grown = realloc(g->members, cap * sizeof *grown);
    if (grown == NULL) return ENOMEM;
    memset(grown + g->cap, 0, (cap - g->cap) * sizeof *grown);
    g->members = grown;
    g->cap = cap;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = m};
  if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) return errno;
  g->members[m] = s;
  g->count++;
  s->group = g;
  s->member = m;
  s->events = UV_READABLE;
  /* While in the group, the wrapper must stay alive: the loop holds the only path to it. */
  napi_reference_ref(s->env, s->self, NULL);
  return 0;
}

/* Takes a probe client out of its group; the last one out closes the group (a new one opens on the next join). */
static void group_leave(Sock *s) {
  Group *g = s->group;
  epoll_ctl(g->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  g->members[s->member] = NULL;
  s->group = NULL;
  if (--g->count > 0) return;
  g->closing = 1;
  if (g->sh->group == g) g->sh->group = NULL;
  uv_poll_stop(&g->poll);
  uv_close((uv_handle_t *)&g->poll, group_closed);
}

static void read_ready(Sock *s) {
  Shared *sh = s->sh;
  int total = 0;
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  while (total < RECV_CAP && !s->closed) {
    for (int i = 0; i < BATCH; i++) {
      struct msghdr *h = &sh->msgs[i].msg_hdr;
      sh->iov[i].iov_base = sh->data + (size_t)i * SLOT;
      sh->iov[i].iov_len = SLOT;
      h->msg_iov = &sh->iov[i];
      h->msg_iovlen = 1;
      h->msg_name = &sh->names[i];
      h->msg_namelen = sizeof sh->names[i];
      h->msg_control = sh->ctl[i];
      h->msg_controllen = CTL_LEN;
      h->msg_flags = 0;
    }
    int n = recvmmsg(s->fd, sh->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (err == EINTR) continue;
      /* ICMP errors reported on the socket (connected clients), or anything else: hand over and go on. */
      if (s->mode == MODE_CLIENT) {
        napi_value argv[1];
        napi_create_string_utf8(s->env, uv_err_name(-err), NAPI_AUTO_LENGTH, &argv[0]);
        call_js(s, s->on_event, 1, argv, NULL);
      } else {
        note_error(s, err);
      }
      continue;
    }
    if (n == 0) break;
    double t = now_ns();
    total += n;
    if (s->mode == MODE_ECHO) {
      echo_batch(s, n);
    } else {
      for (int i = 0; i < n; i++) {
        parse_meta(sh, i);
        sh->ts[i] = t;
      }
      napi_value argv[1];
      napi_create_int32(s->env, n, &argv[0]);
      call_js(s, s->on_event, 1, argv, NULL);
    }
    /* A client drains until EAGAIN, as gen-mmsg does: replies that came in meanwhile make the next burst larger. */
    if (n < BATCH && s->mode == MODE_ECHO) break;
  }
  napi_close_handle_scope(s->env, scope);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  Sock *s = (Sock *)handle->data;
  if (s->closed) return;
  if (status < 0) {
    note_error(s, -status);
    return;
  }
  if (events & UV_WRITABLE) {
    queue_flush(s);
    update_poll(s);
  }
  if (events & UV_READABLE) read_ready(s);
}

/* ---------------------------------------------------------------- lifecycle */

static void free_sock_memory(Sock *s) {
  if (s->q != NULL) {
    while (s->q_count > 0) queue_pop(s);
    free(s->q);
    s->q = NULL;
  }
  free(s->smsgs);
  free(s->siov);
  s->smsgs = NULL;
  s->siov = NULL;
  free(s->win_at);
  free(s->win_free);
  s->win_at = NULL;
  s->win_free = NULL;
  s->win_on = 0;
}

static void release_refs(Sock *s) {
  napi_env env = s->env;
  napi_ref *refs[] = {&s->on_event, &s->on_policy, &s->refused_ref, &s->stats_ref, &s->sarena_ref, &s->slens_ref, &s->psend_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i] != NULL) {
      napi_delete_reference(env, *refs[i]);
      *refs[i] = NULL;
    }
  }
  s->refused = NULL;
  s->stats = NULL;
  s->probe_on = 0;
  s->psend = NULL;
}

static void destroy_actx(Sock *s) {
  if (s->actx != NULL) {
    napi_async_destroy(s->env, s->actx);
    s->actx = NULL;
  }
}

static void on_poll_closed(uv_handle_t *h) {
  Sock *s = (Sock *)h->data;
  close(s->fd);
  s->fd = -1;
  s->poll_init = 0;
  free_sock_memory(s);
  destroy_actx(s);
  /* The wrapper may now be collected; the finalizer frees the struct. */
  if (s->self != NULL) napi_reference_unref(s->env, s->self, NULL);
}

static void do_close(Sock *s) {
  if (s->closed) return;
  s->closed = 1;
  release_refs(s);
  if (s->group != NULL) {
    /* Not in libuv's own epoll set: the descriptor can go at once. */
    group_leave(s);
    close(s->fd);
    s->fd = -1;
    free_sock_memory(s);
    destroy_actx(s);
    if (s->self != NULL) napi_reference_unref(s->env, s->self, NULL);
  } else if (s->poll_init) {
    uv_poll_stop(&s->poll);
    /*
     * Release the port now (a caller may rebind it at once) but keep the descriptor number reserved until
     * libuv has closed the handle: a reused number would otherwise be dropped from libuv's epoll set.
     */
    int placeholder = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (placeholder >= 0) {
      dup2(placeholder, s->fd);
      close(placeholder);
    }
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  } else {
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    free_sock_memory(s);
    destroy_actx(s);
  }
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Sock *s = (Sock *)data;
  if (!s->closed) {
    /* Collected without close(): only possible when it never polled; release the descriptor. */
    s->closed = 1;
    if (s->fd >= 0) close(s->fd);
    free_sock_memory(s);
  }
  if (s->self != NULL) napi_delete_reference(env, s->self);
  if (!s->poll_init) free(s);
}

/*
 * Takes over an inherited, already bound datagram descriptor (socket activation) of the given family:
 * non-blocking, close-on-exec, destination reporting on. IPV6_V6ONLY stays as the service manager set it.
 * Returns 0 or an errno.
 */
static int adopt_fd(int fd, int family) {
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0) return errno;
  if (type != SOCK_DGRAM) return ENOTSUP;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return errno;
  if (ss.ss_family != (family == 4 ? AF_INET : AF_INET6)) return EAFNOSUPPORT;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return errno;
  fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0) return errno;
  return 0;
}

/* Whether fd is bound to one address rather than the wildcard. */
static int bound_specific(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ((struct sockaddr_in *)&ss)->sin_addr.s_addr != htonl(INADDR_ANY);
  return !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

static int local_port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* new Socket(family 4|6, mode 0 echo | 1 client, onEvent[, fd]): with fd, adopts that bound descriptor. */
static napi_value sock_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t family = 0, mode = 0;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_int32(env, argv[1], &mode));
  if (family != 4 && family != 6) return throw_msg(env, "family must be 4 or 6");
  Shared *sh;
  CHECK(napi_get_instance_data(env, (void **)&sh));
  int fd = -1;
  napi_valuetype fdt = napi_undefined;
  if (argc >= 4) napi_typeof(env, argv[3], &fdt);
  if (fdt == napi_number) {
    CHECK(napi_get_value_int32(env, argv[3], &fd));
    if (fd < 0) return throw_msg(env, "fd must be a descriptor number");
    int err = adopt_fd(fd, family);
    if (err != 0) return throw_errno(env, err, "adopt");
  } else {
    fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return throw_errno(env, errno, "socket");
  }
  int one = 1;
  if (family == 4) {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  } else {
    /* IPv6-only: an IPv4 client always talks to the IPv4 socket (an adopted one keeps its setting). */
    if (fdt != napi_number) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  }
  Sock *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_msg(env, "out of memory");
  }
  s->env = env;
  s->sh = sh;
  s->fd = fd;
  s->family = family;
  s->mode = mode;
  s->own_port = fdt == napi_number ? local_port_of(fd) : -1;
  s->specific = fdt == napi_number ? bound_specific(fd) : 0;
  s->poll.data = s;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t == napi_function) napi_create_reference(env, argv[2], 1, &s->on_event);
  napi_value name;
  napi_create_string_utf8(env, "echolot:native-udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, self, name, &s->actx);
  if (napi_wrap(env, self, s, finalize_sock, NULL, &s->self) != napi_ok) {
    close(fd);
    free(s);
    return NULL;
  }
  return self;
}

static int local_port(Sock *s) { return local_port_of(s->fd); }

/* bind(address, port) -> bound port; throws an Error with .code = errno name */
static napi_value sock_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  char text[128];
  int32_t port;
  if (get_string(env, argv[0], text, sizeof text) != 0) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  struct sockaddr_storage ss;
  socklen_t len;
  int pr = parse_addr(s->family, text, port, &ss, &len);
  if (pr == -2) return throw_errno(env, ENODEV, "bind");
  if (pr != 0) return throw_errno(env, EINVAL, "bind");
  if (bind(s->fd, (struct sockaddr *)&ss, len) != 0) return throw_errno(env, errno, "bind");
  s->own_port = local_port(s);
  s->specific = bound_specific(s->fd);
  napi_value out;
  napi_create_int32(env, s->own_port, &out);
  return out;
}

static napi_value sock_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  char text[128];
  int32_t port;
  if (get_string(env, argv[0], text, sizeof text) != 0) return NULL;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_addr(s->family, text, port, &ss, &len) != 0) return throw_errno(env, EINVAL, "connect");
  if (connect(s->fd, (struct sockaddr *)&ss, len) != 0) return throw_errno(env, errno, "connect");
  return NULL;
}

/* local() -> [address, port] */
static napi_value sock_local(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, errno, "getsockname");
  char text[INET6_ADDRSTRLEN];
  int port;
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof text);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  } else {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof text);
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  napi_value items[2];
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &items[0]);
  napi_create_int32(env, port, &items[1]);
  return js_array(env, 2, items);
}

/* bufferSize(which 0 rcv | 1 snd, bytes or -1 to read) -> current size */
static napi_value sock_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  int32_t which, bytes;
  CHECK(napi_get_value_int32(env, argv[0], &which));
  CHECK(napi_get_value_int32(env, argv[1], &bytes));
  int opt = which == 0 ? SO_RCVBUF : SO_SNDBUF;
  if (bytes >= 0 && setsockopt(s->fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0)
    return throw_errno(env, errno, "setsockopt");
  int cur = 0;
  socklen_t len = sizeof cur;
  getsockopt(s->fd, SOL_SOCKET, opt, &cur, &len);
  napi_value out;
  napi_create_int32(env, cur, &out);
  return out;
}

static int start_poll(napi_env env, Sock *s) {
  if (s->poll_init) return 0;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -1;
  if (uv_poll_init(loop, &s->poll, s->fd) != 0) return -1;
  s->poll.data = s;
  s->poll_init = 1;
  s->events = UV_READABLE;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  /* While polling, the wrapper must stay alive: the loop holds the only path to it. */
  napi_reference_ref(env, s->self, NULL);
  return 0;
}

static int alloc_queue(Sock *s, uint32_t cap) {
  if (cap < 1) cap = 1;
  s->q = calloc(cap, sizeof(Pending));
  if (s->q == NULL) return -1;
  s->q_cap = cap;
  return 0;
}

/* startEcho(refused: Uint8Array(65536), stats: Float64Array(11), queueMax) */
static napi_value sock_start_echo(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (s->mode != MODE_ECHO) return throw_msg(env, "not an echo socket");
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array || length != 65536) return throw_msg(env, "refused table must be Uint8Array(65536)");
  s->refused = data;
  napi_create_reference(env, argv[0], 1, &s->refused_ref);
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL));
  if (type != napi_float64_array || length < ST_COUNT) return throw_msg(env, "stats must be Float64Array(11)");
  s->stats = data;
  napi_create_reference(env, argv[1], 1, &s->stats_ref);
  int32_t qmax;
  CHECK(napi_get_value_int32(env, argv[2], &qmax));
  if (s->q == NULL && alloc_queue(s, (uint32_t)qmax) != 0) return throw_msg(env, "out of memory");
  if (start_poll(env, s) != 0) return throw_msg(env, "cannot poll the socket");
  return NULL;
}

/* setFilter(null | [[family, Uint8Array(16) addr, scope], ...]): only these destinations are answered. */
static napi_value sock_set_filter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_null || t == napi_undefined) {
    s->filter_on = 0;
    return NULL;
  }
  uint32_t n;
  CHECK(napi_get_array_length(env, argv[0], &n));
  if (n > MAX_FILTER) return throw_msg(env, "too many filter addresses");
  for (uint32_t i = 0; i < n; i++) {
    napi_value e, f, a, sc;
    CHECK(napi_get_element(env, argv[0], i, &e));
    CHECK(napi_get_element(env, e, 0, &f));
    CHECK(napi_get_element(env, e, 1, &a));
    CHECK(napi_get_element(env, e, 2, &sc));
    int32_t fam;
    uint32_t scope;
    CHECK(napi_get_value_int32(env, f, &fam));
    CHECK(napi_get_value_uint32(env, sc, &scope));
    napi_typedarray_type type;
    size_t length;
    void *data;
    CHECK(napi_get_typedarray_info(env, a, &type, &length, &data, NULL, NULL));
    if (length < 16) return throw_msg(env, "filter address must be 16 bytes");
    s->filter[i].family = fam;
    s->filter[i].scope = scope;
    memcpy(s->filter[i].addr, data, 16);
  }
  s->nfilter = (int)n;
  s->filter_on = 1;
  return NULL;
}

/* setPolicy(fn | null): fn(count) is called once per received batch and may set verdict[i] = 1 to drop. */
static napi_value sock_set_policy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (s->on_policy != NULL) {
    napi_delete_reference(env, s->on_policy);
    s->on_policy = NULL;
  }
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_function) napi_create_reference(env, argv[0], 1, &s->on_policy);
  return NULL;
}

/* The send arena of a client socket: slots x size bytes and a length per slot, plus the send queue. */
static int setup_client(napi_env env, Sock *s, napi_value *argv, napi_value *arena, napi_value *lens) {
  if (s->mode != MODE_CLIENT || s->sarena != NULL) {
    throw_msg(env, "not an unstarted client socket");
    return -1;
  }
  uint32_t slots, size, qmax;
  if (napi_get_value_uint32(env, argv[0], &slots) != napi_ok || napi_get_value_uint32(env, argv[1], &size) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &qmax) != napi_ok)
    return -1;
  if (slots < 1 || slots > 1024 || size < 1 || size > SLOT) {
    throw_msg(env, "bad send arena shape");
    return -1;
  }
  napi_value lens_ab;
  void *mem;
  if (napi_create_arraybuffer(env, (size_t)slots * size, &mem, arena) != napi_ok) return -1;
  s->sarena = mem;
  if (napi_create_arraybuffer(env, (size_t)slots * 4, &mem, &lens_ab) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, slots, lens_ab, 0, lens) != napi_ok)
    return -1;
  s->slens = mem;
  napi_create_reference(env, *arena, 1, &s->sarena_ref);
  napi_create_reference(env, *lens, 1, &s->slens_ref);
  s->sslots = slots;
  s->sslot_size = size;
  s->smsgs = calloc(slots, sizeof(struct mmsghdr));
  s->siov = calloc(slots, sizeof(struct iovec));
  if (s->smsgs == NULL || s->siov == NULL || alloc_queue(s, qmax) != 0) {
    throw_msg(env, "out of memory");
    return -1;
  }
  return 0;
}

/* startClient(sendSlots, slotSize, queueMax) -> [ArrayBuffer arena, Int32Array lengths]; starts receiving. */
static napi_value sock_start_client(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], items[2];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL || setup_client(env, s, argv, &items[0], &items[1]) != 0) return NULL;
  if (start_poll(env, s) != 0) return throw_msg(env, "cannot poll the socket");
  return js_array(env, 2, items);
}

/* send(count): sends send-arena slots 0..count-1 to the connected peer -> undefined, or the first errno name. */
/* Sends send-arena slots 0..n-1 (probe slots encoded first): 0, the first hard errno, or -1 for a bad length. */
static int client_send(Sock *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    int32_t len = s->slens[i];
    if (len < 0 || (uint32_t)len > s->sslot_size) return -1;
    if (s->probe_on && len >= PROBE_HEADER) {
      const double *d = s->psend + (size_t)i * 4;
      probe_encode(s, s->sarena + (size_t)i * s->sslot_size, d[0], d[1], d[2], (uint32_t)len);
    }
    s->siov[i].iov_base = s->sarena + (size_t)i * s->sslot_size;
    s->siov[i].iov_len = (size_t)len;
    memset(&s->smsgs[i], 0, sizeof s->smsgs[i]);
    s->smsgs[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsgs[i].msg_hdr.msg_iovlen = 1;
  }
  return send_batch(s, s->smsgs, n);
}

static napi_value sock_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  uint32_t n;
  CHECK(napi_get_value_uint32(env, argv[0], &n));
  if (n > s->sslots) return throw_msg(env, "count exceeds the send arena");
  int err = client_send(s, n);
  if (err < 0) return throw_msg(env, "bad send length");
  if (err == 0) return NULL;
  napi_value out;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &out);
  return out;
}

/*
 * startProbeClient(sendSlots, slotSize, queueMax, runId: Uint8Array(8), flow) -> [ArrayBuffer arena, Int32Array
 * lengths, Float64Array send rows (slots x 4), member index]. A client whose probes are encoded and checked here:
 * send(count) encodes slot i from send row i (seq, intended ns, actual ns; the length from lengths[i]) before
 * sending it, and received datagrams are decoded into the rows of the thread's probe group (probeGroup()), where
 * they arrive under this member index. Needs probeGroup() first.
 */
static napi_value sock_start_probe_client(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], items[4]; /* arena, lengths, send rows, member index */
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (s->sh->gfn_ref == NULL) return throw_msg(env, "startProbeClient needs probeGroup() first");
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array || length != 8) return throw_msg(env, "run id must be Uint8Array(8)");
  uint32_t flow;
  CHECK(napi_get_value_uint32(env, argv[4], &flow));
  if (flow > 0xffff) return throw_msg(env, "flow id must fit 16 bits");
  if (setup_client(env, s, argv, &items[0], &items[1]) != 0) return NULL;
  if (s->sslot_size < PROBE_HEADER) return throw_msg(env, "send slots are smaller than a probe header");
  void *mem;
  if ((items[2] = typed(env, napi_float64_array, (size_t)s->sslots * 4, 8, &mem, &s->psend_ref)) == NULL) return NULL;
  s->psend = mem;
  memcpy(s->run_id, data, 8);
  s->probe_flow = flow;
  probe_prefix(s);
  s->probe_on = 1;
  int err = group_join(s);
  if (err != 0) return throw_errno(env, err, "epoll");
  napi_create_uint32(env, s->member, &items[3]);
  return js_array(env, 4, items);
}

/*
 * startWindow(window, expireNs, endNs, clockOffsetNs, sizes: number[]) on a probe client: from now on C keeps
 * `window` probes outstanding until endNs (sequence numbers from 0, sizes by sequence number round-robin), each
 * reply freeing its slot and each run of new probes reported as a PS_SENT row (status, count, first sequence,
 * send time x3). Times on JavaScript's clock, uv_hrtime + clockOffsetNs. windowTick() sends the first window.
 */
static napi_value sock_start_window(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (!s->probe_on || s->group == NULL || s->win_on) return throw_msg(env, "startWindow needs a probe client, once");
  uint32_t win, nsizes;
  double expire, end, offset;
  CHECK(napi_get_value_uint32(env, argv[0], &win));
  CHECK(napi_get_value_double(env, argv[1], &expire));
  CHECK(napi_get_value_double(env, argv[2], &end));
  CHECK(napi_get_value_double(env, argv[3], &offset));
  CHECK(napi_get_array_length(env, argv[4], &nsizes));
  if (win < 1 || win > 65536) return throw_msg(env, "window must be 1..65536");
  if (nsizes < 1 || nsizes > WIN_SIZES) return throw_msg(env, "sizes must be a list of 1..64 lengths");
  for (uint32_t i = 0; i < nsizes; i++) {
    napi_value v;
    uint32_t len;
    CHECK(napi_get_element(env, argv[4], i, &v));
    CHECK(napi_get_value_uint32(env, v, &len));
    if (len < PROBE_HEADER || len > s->sslot_size) return throw_msg(env, "a size does not fit a probe or a send slot");
    s->sizes[i] = len;
  }
  s->win_cap = 64;
  while (s->win_cap < 2 * win) s->win_cap *= 2;
  s->win_at = malloc(s->win_cap * sizeof *s->win_at);
  s->win_free = malloc(s->win_cap);
  if (s->win_at == NULL || s->win_free == NULL) return throw_msg(env, "out of memory");
  s->nsizes = nsizes;
  s->win = win;
  s->inflight = 0;
  s->next_seq = 0;
  s->win_seq = 0;
  s->win_head = s->win_count = 0;
  s->expire_ns = expire;
  s->end_ns = end;
  s->clock_offset = offset;
  s->win_on = 1;
  return NULL;
}

/*
 * windowTick() -> [sent, send time, errno name or undefined]: frees the slots of probes unanswered for expireNs and
 * tops the window up; `sent` new probes went out from the next sequence number on, stamped with the send time.
 */
static napi_value sock_window_tick(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value items[3]; /* sent, send time, errno name or undefined */
  uint32_t k = 0;
  int err = 0;
  double now = now_ns() + s->clock_offset;
  if (s->win_on && !s->closed) {
    window_settle(s, now);
    k = window_fill(s, now, &err);
  }
  napi_create_uint32(env, k, &items[0]);
  napi_create_double(env, now, &items[1]);
  if (err != 0)
    napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &items[2]);
  else
    napi_get_undefined(env, &items[2]);
  return js_array(env, 3, items);
}

/* queued() -> datagrams waiting for the socket to turn writable */
static napi_value sock_queued(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value out;
  napi_create_uint32(env, s->q_count, &out);
  return out;
}

static napi_value sock_close(napi_env env, napi_callback_info info) {
  napi_value self;
  Sock *s = NULL;
  size_t argc = 0;
  CHECK(napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&s));
  if (s != NULL) do_close(s);
  return NULL;
}

/* ---------------------------------------------------------------- module */

/* probeBind(family, address) -> undefined, or the errno name binding address:0 fails with. */
static napi_value probe_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family;
  char text[128];
  CHECK(napi_get_value_int32(env, argv[0], &family));
  if (get_string(env, argv[1], text, sizeof text) != 0) return NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  int pr = parse_addr(family, text, 0, &ss, &len);
  int err = pr == -2 ? ENODEV : pr != 0 ? EINVAL : 0;
  if (err == 0) {
    int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
    } else {
      if (bind(fd, (struct sockaddr *)&ss, len) != 0) err = errno;
      close(fd);
    }
  }
  if (err == 0) return NULL;
  napi_value out;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &out);
  return out;
}

/*
 * probeGroup(fn) -> [Float64Array rows (G_ROWS x P_STRIDE), Int32Array segments (G_SEGS x SEG_STRIDE)]. fn(count)
 * is called once per wake-up of the thread's probe clients with the number of segments filled: segment k is
 * (member index, rows, errno); its rows follow those of segment k-1 from row 0 (status, flow, seq, intended ns,
 * actual ns, receive ns on the uv_hrtime clock); a nonzero errno is an error the socket reported (no rows).
 * Calling it again replaces fn; the arrays stay the same.
 */
static napi_value probe_group(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], items[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_function) return throw_msg(env, "probeGroup needs a function");
  Shared *sh;
  CHECK(napi_get_instance_data(env, (void **)&sh));
  if (sh->grows == NULL) {
    void *mem;
    if (typed(env, napi_float64_array, (size_t)G_ROWS * P_STRIDE, 8, &mem, &sh->grows_ref) == NULL) return NULL;
    sh->grows = mem;
    if (typed(env, napi_int32_array, (size_t)G_SEGS * SEG_STRIDE, 4, &mem, &sh->gsegs_ref) == NULL) return NULL;
    sh->gsegs = mem;
    napi_value name;
    napi_create_string_utf8(env, "echolot:probe-group", NAPI_AUTO_LENGTH, &name);
    CHECK(napi_async_init(env, NULL, name, &sh->gactx));
  }
  if (sh->gfn_ref != NULL) napi_delete_reference(env, sh->gfn_ref);
  napi_create_reference(env, argv[0], 1, &sh->gfn_ref);
  napi_get_reference_value(env, sh->grows_ref, &items[0]);
  napi_get_reference_value(env, sh->gsegs_ref, &items[1]);
  return js_array(env, 2, items);
}

static napi_value hrtime(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_double(env, now_ns(), &out);
  return out;
}

static napi_value get_shared(napi_env env, napi_callback_info info) {
  (void)info;
  Shared *sh;
  CHECK(napi_get_instance_data(env, (void **)&sh));
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_reference_value(env, sh->data_ref, &v);
  napi_set_named_property(env, obj, "data", v);
  napi_get_reference_value(env, sh->meta_ref, &v);
  napi_set_named_property(env, obj, "meta", v);
  napi_get_reference_value(env, sh->src_ref, &v);
  napi_set_named_property(env, obj, "src", v);
  napi_get_reference_value(env, sh->dst_ref, &v);
  napi_set_named_property(env, obj, "dst", v);
  napi_get_reference_value(env, sh->ts_ref, &v);
  napi_set_named_property(env, obj, "ts", v);
  napi_get_reference_value(env, sh->verdict_ref, &v);
  napi_set_named_property(env, obj, "verdict", v);
  napi_create_uint32(env, BATCH, &v);
  napi_set_named_property(env, obj, "batch", v);
  napi_create_uint32(env, SLOT, &v);
  napi_set_named_property(env, obj, "slot", v);
  napi_create_uint32(env, M_STRIDE, &v);
  napi_set_named_property(env, obj, "metaStride", v);
  return obj;
}

static void free_shared(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value typed(napi_env env, napi_typedarray_type type, size_t count, size_t elem, void **mem, napi_ref *ref) {
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, count * elem, mem, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, type, count, ab, 0, &arr) != napi_ok) return NULL;
  napi_create_reference(env, arr, 1, ref);
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  Shared *sh = calloc(1, sizeof *sh);
  if (sh == NULL) return throw_msg(env, "out of memory");
  void *mem;
  napi_value ab;
  CHECK(napi_create_arraybuffer(env, (size_t)BATCH * SLOT, &mem, &ab));
  sh->data = mem;
  napi_create_reference(env, ab, 1, &sh->data_ref);
  if (typed(env, napi_int32_array, BATCH * M_STRIDE, 4, &mem, &sh->meta_ref) == NULL) return NULL;
  sh->meta = mem;
  if (typed(env, napi_uint8_array, BATCH * 16, 1, &mem, &sh->src_ref) == NULL) return NULL;
  sh->src = mem;
  if (typed(env, napi_uint8_array, BATCH * 16, 1, &mem, &sh->dst_ref) == NULL) return NULL;
  sh->dst = mem;
  if (typed(env, napi_float64_array, BATCH, 8, &mem, &sh->ts_ref) == NULL) return NULL;
  sh->ts = mem;
  /* The verdict bytes live in JS memory too, so a policy can write them directly. */
  if (typed(env, napi_uint8_array, BATCH, 1, &mem, &sh->verdict_ref) == NULL) return NULL;
  sh->verdict = mem;
  CHECK(napi_set_instance_data(env, sh, free_shared, NULL));

  napi_property_descriptor methods[] = {
      {"bind", NULL, sock_bind, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, sock_connect, NULL, NULL, NULL, napi_default, NULL},
      {"local", NULL, sock_local, NULL, NULL, NULL, napi_default, NULL},
      {"bufferSize", NULL, sock_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"startEcho", NULL, sock_start_echo, NULL, NULL, NULL, napi_default, NULL},
      {"setFilter", NULL, sock_set_filter, NULL, NULL, NULL, napi_default, NULL},
      {"setPolicy", NULL, sock_set_policy, NULL, NULL, NULL, napi_default, NULL},
      {"startClient", NULL, sock_start_client, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, sock_send, NULL, NULL, NULL, napi_default, NULL},
      {"startProbeClient", NULL, sock_start_probe_client, NULL, NULL, NULL, napi_default, NULL},
      {"startWindow", NULL, sock_start_window, NULL, NULL, NULL, napi_default, NULL},
      {"windowTick", NULL, sock_window_tick, NULL, NULL, NULL, napi_default, NULL},
      {"queued", NULL, sock_queued, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, sock_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ctor;
  CHECK(napi_define_class(env, "Socket", NAPI_AUTO_LENGTH, sock_new, NULL, sizeof methods / sizeof methods[0],
                          methods, &ctor));
  napi_property_descriptor fns[] = {
      {"Socket", NULL, NULL, NULL, NULL, ctor, napi_enumerable, NULL},
      {"probeBind", NULL, probe_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hrtime", NULL, hrtime, NULL, NULL, NULL, napi_enumerable, NULL},
      {"probeGroup", NULL, probe_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shared", NULL, get_shared, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
