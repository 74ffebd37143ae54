/*
 * The receive path of a socket polled on its own (echo and plain client sockets): drain with recvmmsg, then
 * in client mode hand the batch to JavaScript, in echo mode run the checks made in C (own port, loop ports,
 * destination), the optional JavaScript policy, the loop guard, and send the replies, each from the
 * request's destination address. Also the echo-mode methods (startEcho, setFilter, setPolicy) and the error
 * log of echo sockets.
 */
#include "echolot_io.h"

#include <errno.h>
#include <string.h>

/* Counts a socket error; an echo socket also reports it to JavaScript, onEvent('error', errno name). */
void note_error(Sock *s, int err) {
  if (s->stats) s->stats[ST_ERRORS]++;
  if (s->mode != MODE_ECHO) return;
  int k = err & 0xff;
  if (s->seen_errno[k]) return;
  s->seen_errno[k] = 1;
  if (s->et != NULL) {
    echo_thread_report(s, err);
    return;
  }
  /* Logged once per errno kind: a flood can repeat the same error thousands of times a second. */
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  napi_value argv[2];
  napi_create_string_utf8(s->env, "error", NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(s->env, uv_err_name(-err), NAPI_AUTO_LENGTH, &argv[1]);
  call_js(s, s->on_event, 2, argv, NULL);
  napi_close_handle_scope(s->env, scope);
}

/* Fills meta/src/dst of slot i from the received message; family 0 when unknown, -4 for an IPv4 broadcast. */
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

/* Checks, asks the policy about, and answers one received batch of n datagrams, received at now (ns). */
void echo_batch(Sock *s, int n, uint64_t now) {
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
    /* Last, so that it sees only what would be answered: what it lets through counts as a reply sent. */
    if (s->loop_guard && loop_guard_drop(sh, s->own_port, sh->meta[i * M_STRIDE + M_FAMILY], sh->src + i * 16,
                                         sh->meta[i * M_STRIDE + M_PORT], sh->iov[i].iov_base,
                                         sh->msgs[i].msg_len, now)) {
      st[ST_POLICY]++;
      st[ST_ECHO_LOOP]++;
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

/* Points the arena's BATCH message headers at their slots, names and control buffers for one recvmmsg. */
void prepare_recv(Shared *sh) {
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
}

/* Drains the socket in batches (up to RECV_CAP datagrams) and handles each batch as its mode says. */
static void read_ready(Sock *s) {
  Shared *sh = s->sh;
  int total = 0;
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  while (total < RECV_CAP && !s->closed) {
    prepare_recv(sh);
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
      echo_batch(s, n, (uint64_t)t);
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

void on_poll(uv_poll_t *handle, int status, int events) {
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

/*
 * startEcho(refused: Uint8Array(65536), stats: Float64Array(12), queueMax[, loopGuard[, threaded]]) -> guard running.
 * threaded (without a policy): answered by a thread of its own (echo_thread.c) instead of a uv_poll.
 */
napi_value sock_start_echo(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
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
  if (type != napi_float64_array || length < ST_COUNT) return throw_msg(env, "stats must be Float64Array(12)");
  s->stats = data;
  napi_create_reference(env, argv[1], 1, &s->stats_ref);
  int32_t qmax;
  CHECK(napi_get_value_int32(env, argv[2], &qmax));
  if (s->q == NULL && alloc_queue(s, (uint32_t)qmax) != 0) return throw_msg(env, "out of memory");
  bool guard = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &guard);
  if (guard && loop_guard_init(s->sh) != 0) return throw_msg(env, "out of memory");
  s->loop_guard = guard;
  bool threaded = false;
  if (argc >= 5) napi_get_value_bool(env, argv[4], &threaded);
  if (threaded && s->on_policy == NULL && s->et == NULL && !s->poll_init) {
    int err = echo_thread_start(env, s);
    if (err != 0) return throw_errno(env, err, "echo thread");
  } else if (start_poll(env, s) != 0) {
    return throw_msg(env, "cannot poll the socket");
  }
  napi_value on;
  napi_get_boolean(env, guard, &on);
  return on;
}

/* setFilter(null | [[family, Uint8Array(16) addr, scope], ...]): only these destinations are answered. */
napi_value sock_set_filter(napi_env env, napi_callback_info info) {
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
napi_value sock_set_policy(napi_env env, napi_callback_info info) {
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
