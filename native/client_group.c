/*
 * The probe group: every probe client of a thread in one epoll set, polled by one uv_poll_t; one wake-up
 * drains every ready socket, decodes the replies into rows and hands them to JavaScript in one call
 * (probeGroup()), or accounts them in C for clients of a Tally (tally.c). And window mode (startWindow,
 * windowTick): the flood and ping-pong closed loop, each reply freeing its probe's slot and the window topped
 * up as soon as the socket is drained.
 */
#include "echolot_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/*
 * One recvmmsg (with these flags: MSG_DONTWAIT on a polled socket) of at most `max` datagrams on a probe client
 * into these buffers (BATCH x SLOT bytes of data), decoded into rows. Returns the rows written; 0 with
 * *err = 0 when nothing is waiting, 0 with *err set when the socket reported an error (an ICMP report on the
 * connected socket, consumed by this call).
 */
int probe_recv(Sock *s, struct mmsghdr *msgs, struct iovec *iov, uint8_t *data, double *rows, int max, int flags,
               int *err) {
  *err = 0;
  for (int i = 0; i < max; i++) {
    struct msghdr *h = &msgs[i].msg_hdr;
    memset(h, 0, sizeof *h);
    iov[i].iov_base = data + (size_t)i * SLOT;
    iov[i].iov_len = SLOT;
    h->msg_iov = &iov[i];
    h->msg_iovlen = 1;
  }
  for (;;) {
    int n;
    if (max == 1) {
      /* One datagram (ping-pong): recvmsg costs less in the kernel than a recvmmsg of one. */
      ssize_t r = recvmsg(s->fd, &msgs[0].msg_hdr, flags & ~MSG_WAITFORONE);
      if (r >= 0) msgs[0].msg_len = (unsigned)r;
      n = r >= 0 ? 1 : -1;
    } else {
      n = recvmmsg(s->fd, msgs, (unsigned)max, flags, NULL);
    }
    if (n > 0) {
      double t = now_ns();
      for (int i = 0; i < n; i++)
        probe_decode(&s->probe, data + (size_t)i * SLOT, msgs[i].msg_len, rows + (size_t)i * P_STRIDE, t);
      return n;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    return 0;
  }
}

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

/* Frees the window's list of probes and ends window mode. */
void window_free(Sock *s) {
  free(s->win_at);
  free(s->win_free);
  s->win_at = NULL;
  s->win_free = NULL;
  s->win_on = 0;
}

/* A reply (or any copy of one) to probe `seq` frees its slot, once. */
void window_answer(Sock *s, double seq) {
  double i = seq - s->win_seq;
  if (i < 0 || i >= s->win_count) return;
  uint32_t k = (s->win_head + (uint32_t)i) % s->win_cap;
  if (s->win_free[k]) return;
  s->win_free[k] = 1;
  s->inflight--;
}

/* Drops settled probes from the head; with now >= 0 also frees the slots of probes unanswered for expire_ns. */
void window_settle(Sock *s, double now) {
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
uint32_t window_fill(Sock *s, double now, int *err) {
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
      int n = probe_recv(s, sh->msgs, sh->iov, sh->data, rows, BATCH, MSG_DONTWAIT, &err);
      if (n > 0) {
        if (s->win_on)
          for (int i = 0; i < n; i++) {
            const double *r = rows + (size_t)i * P_STRIDE;
            if ((r[0] == PS_PROBE || r[0] == PS_TRUNCATED_HDR || r[0] == PS_CORRUPTED_HDR) && r[1] == s->probe.flow)
              window_answer(s, r[2]);
          }
        if (s->tally != NULL) {
          /* Accounted here; the rows' space is reused. */
          for (int i = 0; i < n; i++) tally_reply(s->tally, s->ftally, rows + (size_t)i * P_STRIDE);
        } else {
          group_note(sh, &nseg, m, n, 0);
          used += (uint32_t)n;
        }
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
      /* With a Tally the probes were accounted as they were sent (client_send). */
      if (k > 0 && s->tally == NULL) {
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
int group_join(Sock *s) {
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
void group_leave(Sock *s) {
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

/*
 * probeGroup(fn) -> [Float64Array rows (G_ROWS x P_STRIDE), Int32Array segments (G_SEGS x SEG_STRIDE)]. fn(count)
 * is called once per wake-up of the thread's probe clients with the number of segments filled: segment k is
 * (member index, rows, errno); its rows follow those of segment k-1 from row 0 (status, flow, seq, intended ns,
 * actual ns, receive ns on the uv_hrtime clock); a nonzero errno is an error the socket reported (no rows).
 * Calling it again replaces fn; the arrays stay the same.
 */
napi_value probe_group(napi_env env, napi_callback_info info) {
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

/*
 * startWindow(window, expireNs, endNs, clockOffsetNs, sizes: number[]) on a probe client: from now on C keeps
 * `window` probes outstanding until endNs (sequence numbers from 0, sizes by sequence number round-robin), each
 * reply freeing its slot and each run of new probes reported as a PS_SENT row (status, count, first sequence,
 * send time x3). Times on JavaScript's clock, uv_hrtime + clockOffsetNs. windowTick() sends the first window.
 */
napi_value sock_start_window(napi_env env, napi_callback_info info) {
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
napi_value sock_window_tick(napi_env env, napi_callback_info info) {
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
