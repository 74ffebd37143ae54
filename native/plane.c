/*
 * The data plane (the Plane class): a share's window-mode probe clients (flood, ping-pong) driven by a thread
 * of their own instead of Node's loop. The thread blocks in epoll_wait on the clients' descriptors; a reply is
 * read, accounted in the share's Tally and its slot refilled without a wake-up of libuv or a JavaScript call,
 * which is what one round trip of ping-pong costs on the loop. JavaScript reads the Tally as before (collect()
 * and measure() take the plane's lock while it runs) and polls the errors the sockets reported.
 *
 * start(): the clients leave their group's epoll set (they stay its members) for the plane's, and the thread
 * sends the first windows. stop(): the thread ends and the clients go back to the group, whose uv_poll drains
 * whatever still arrives. A plane runs once.
 */
#include "echolot_io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Expiry of unanswered probes and top-ups after a quiet spell: the WindowDriver's HOUSEKEEPING_MS. */
#define PLANE_HOUSEKEEPING_NS 2e6
/* Kinds of error (errno) kept per member between two polls; further kinds are counted as dropped. */
#define PLANE_ERR_KINDS 4
#define PLANE_MAGIC 0x504c4e45u
/* The epoll key of the stop eventfd, which only wakes the thread (member keys are indexes). */
#define PLANE_STOP_KEY UINT32_MAX

/* A member's errors since the last poll, by errno. */
typedef struct {
  int err[PLANE_ERR_KINDS];
  double count[PLANE_ERR_KINDS];
} PlaneErrors;

typedef struct Plane {
  uint32_t magic;
  napi_env env;
  napi_ref tally_ref;
  struct Tally *tally;
  Sock **members;
  napi_ref *member_refs;
  PlaneErrors *errs;
  uint32_t count, cap;
  int epfd, stopfd;
  pthread_t thread;
  int running, stopped;
  int blocking; /* one member: plane_blocking_loop */
  atomic_int quit;
  pthread_mutex_t mu;
  uint32_t nerrors; /* members with errors */
  double dropped_errors;
  /* The thread's receive buffers (the Shared arena belongs to Node's thread). */
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint8_t *data;
  double rows[BATCH * P_STRIDE];
} Plane;

/* Records an error of member m (under the lock). */
static void plane_note(Plane *p, uint32_t m, int err) {
  PlaneErrors *e = &p->errs[m];
  for (int k = 0; k < PLANE_ERR_KINDS; k++) {
    if (e->count[k] > 0 && e->err[k] != err) continue;
    if (e->count[k] == 0) {
      e->err[k] = err;
      p->nerrors++;
    }
    e->count[k]++;
    return;
  }
  p->dropped_errors++;
}

/* n rows just received on member s: each frees its probe's slot and is accounted (under the lock). */
static void plane_account(Plane *p, Sock *s, int n) {
  for (int i = 0; i < n; i++) {
    const double *r = p->rows + (size_t)i * P_STRIDE;
    if ((r[0] == PS_PROBE || r[0] == PS_TRUNCATED_HDR || r[0] == PS_CORRUPTED_HDR) && r[1] == s->probe.flow)
      window_answer(s, r[2]);
    tally_reply(s->tally, s->ftally, r);
  }
}

/* The freed slots of member m get new probes at once (under the lock). */
static void plane_refill(Plane *p, uint32_t m) {
  Sock *s = p->members[m];
  if (s->inflight >= s->win) return;
  window_settle(s, -1);
  int err;
  window_fill(s, now_ns() + s->clock_offset, &err);
  if (err != 0) plane_note(p, m, err);
}

/* One member's readable or writable turn: what group_on_poll does for a client of a Tally, under the lock. */
static void plane_serve(Plane *p, uint32_t m, uint32_t events) {
  Sock *s = p->members[m];
  if (events & EPOLLOUT) {
    queue_flush(s);
    update_poll(s);
  }
  if (events & (EPOLLIN | EPOLLERR)) {
    for (int total = 0; total < RECV_CAP;) {
      int err;
      int n = probe_recv(s, p->msgs, p->iov, p->data, p->rows, BATCH, MSG_DONTWAIT, &err);
      if (n <= 0) {
        if (err != 0) plane_note(p, m, err);
        break;
      }
      plane_account(p, s, n);
      total += n;
      if (n < BATCH) break;
    }
  }
  plane_refill(p, m);
}

/* Every member's windowTick: expiry of probes unanswered for expireNs, and the top-up. */
static void plane_housekeeping(Plane *p) {
  for (uint32_t m = 0; m < p->count; m++) {
    Sock *s = p->members[m];
    double now = now_ns() + s->clock_offset;
    window_settle(s, now);
    int err;
    window_fill(s, now, &err);
    if (err != 0) plane_note(p, m, err);
  }
}

/* Several members: one epoll set, as the group has on Node's loop. */
static void plane_poll_loop(Plane *p) {
  struct epoll_event evs[G_EVENTS];
  double next = now_ns() + PLANE_HOUSEKEEPING_NS;
  for (;;) {
    double wait = next - now_ns();
    int timeout = wait <= 0 ? 0 : (int)(wait / 1e6) + 1;
    int ready = epoll_wait(p->epfd, evs, G_EVENTS, timeout);
    if (ready < 0 && errno != EINTR) break;
    pthread_mutex_lock(&p->mu);
    for (int e = 0; e < ready; e++) {
      uint32_t key = evs[e].data.u32;
      if (key < p->count) plane_serve(p, key, evs[e].events);
    }
    if (now_ns() >= next) {
      plane_housekeeping(p);
      next = now_ns() + PLANE_HOUSEKEEPING_NS;
    }
    pthread_mutex_unlock(&p->mu);
    if (atomic_load(&p->quit)) break;
  }
}

/*
 * One member (ping-pong, a single flow): the thread sleeps in recvmmsg itself, the socket made blocking with a
 * receive timeout of the housekeeping period, which saves the readiness wake-up and a system call per reply.
 */
static void plane_blocking_loop(Plane *p) {
  Sock *s = p->members[0];
  double next = now_ns() + PLANE_HOUSEKEEPING_NS;
  while (!atomic_load(&p->quit)) {
    int err;
    int n = probe_recv(s, p->msgs, p->iov, p->data, p->rows, BATCH, MSG_WAITFORONE, &err);
    pthread_mutex_lock(&p->mu);
    if (n > 0) plane_account(p, s, n);
    if (err != 0) plane_note(p, 0, err);
    if (s->q_count > 0) queue_flush(s);
    plane_refill(p, 0);
    if (now_ns() >= next) {
      plane_housekeeping(p);
      next = now_ns() + PLANE_HOUSEKEEPING_NS;
    }
    pthread_mutex_unlock(&p->mu);
  }
}

/* Whether the plane's single member waits in recvmmsg: its descriptor blocking, with a receive timeout. */
static int set_blocking(Sock *s, int on) {
  int fl = fcntl(s->fd, F_GETFL);
  if (fl < 0 || fcntl(s->fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK) != 0) return errno;
  struct timeval tv = {.tv_sec = 0, .tv_usec = on ? (suseconds_t)(PLANE_HOUSEKEEPING_NS / 1e3) : 0};
  return setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ? errno : 0;
}

static void *plane_main(void *arg) {
  Plane *p = arg;
  pthread_mutex_lock(&p->mu);
  plane_housekeeping(p);
  pthread_mutex_unlock(&p->mu);
  if (p->blocking)
    plane_blocking_loop(p);
  else
    plane_poll_loop(p);
  return NULL;
}

/* Ends the thread (if it runs) and hands the members back to their group; idempotent. */
static void plane_stop(Plane *p) {
  if (p->stopped) return;
  p->stopped = 1;
  if (p->running) {
    atomic_store(&p->quit, 1);
    uint64_t one = 1;
    ssize_t w = write(p->stopfd, &one, sizeof one);
    (void)w;
    pthread_join(p->thread, NULL);
    p->running = 0;
  }
  if (p->tally != NULL) tally_lock(p->tally, NULL);
  for (uint32_t m = 0; m < p->count; m++) {
    Sock *s = p->members[m];
    if (s == NULL) continue;
    s->plane = NULL;
    if (p->blocking && !s->closed) set_blocking(s, 0);
    if (!s->closed && s->group != NULL) {
      epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->fd, NULL);
      struct epoll_event ev = {.events = EPOLLIN | (s->q_count > 0 ? EPOLLOUT : 0), .data.u32 = s->member};
      epoll_ctl(s->group->epfd, EPOLL_CTL_ADD, s->fd, &ev);
      s->events = UV_READABLE | (s->q_count > 0 ? UV_WRITABLE : 0);
    }
    if (p->member_refs[m] != NULL) {
      napi_delete_reference(p->env, p->member_refs[m]);
      p->member_refs[m] = NULL;
    }
    p->members[m] = NULL;
  }
}

/* A member is closing: the plane stops first (its thread may be using the socket). */
void plane_release(Sock *s) {
  if (s->plane != NULL) plane_stop(s->plane);
}

/* update_poll for a member of a running plane: writable interest in the plane's epoll set. */
void plane_update_poll(Sock *s) {
  struct epoll_event ev = {.events = EPOLLIN | (s->q_count > 0 ? EPOLLOUT : 0), .data.u32 = s->plane_member};
  epoll_ctl(s->plane->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void finalize_plane(napi_env env, void *data, void *hint) {
  (void)hint;
  Plane *p = data;
  plane_stop(p);
  if (p->tally_ref != NULL) napi_delete_reference(env, p->tally_ref);
  close(p->epfd);
  close(p->stopfd);
  pthread_mutex_destroy(&p->mu);
  free(p->members);
  free(p->member_refs);
  free(p->errs);
  free(p->data);
  p->magic = 0;
  free(p);
}

static Plane *this_plane(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  Plane *p = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&p) != napi_ok || p == NULL || p->magic != PLANE_MAGIC) {
    throw_msg(env, "not a Plane");
    return NULL;
  }
  return p;
}

/* new Plane(tally): a data plane for window-mode probe clients accounted in this Tally. */
static napi_value plane_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  struct Tally *t = argc >= 1 ? tally_of(env, argv[0]) : NULL;
  if (t == NULL) return throw_msg(env, "Plane needs a Tally");
  Plane *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_msg(env, "out of memory");
  p->magic = PLANE_MAGIC;
  p->env = env;
  p->tally = t;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->data = malloc((size_t)BATCH * SLOT);
  if (p->epfd < 0 || p->stopfd < 0 || p->data == NULL) {
    int err = errno;
    if (p->epfd >= 0) close(p->epfd);
    if (p->stopfd >= 0) close(p->stopfd);
    free(p->data);
    free(p);
    return throw_errno(env, err ? err : ENOMEM, "plane");
  }
  pthread_mutex_init(&p->mu, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = PLANE_STOP_KEY};
  epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stopfd, &ev);
  napi_create_reference(env, argv[0], 1, &p->tally_ref);
  if (napi_wrap(env, self, p, finalize_plane, NULL, NULL) != napi_ok) {
    finalize_plane(env, p, NULL);
    return NULL;
  }
  return self;
}

/* add(socket): a probe client in window mode, accounted in the plane's Tally; before start(). */
static napi_value plane_add(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Plane *p = this_plane(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (p->running || p->stopped) return throw_msg(env, "add() before start()");
  Sock *s = NULL;
  if (argc < 1 || napi_unwrap(env, argv[0], (void **)&s) != napi_ok || s == NULL || s->closed)
    return throw_msg(env, "add() needs an open Socket");
  if (!s->win_on || s->group == NULL || s->tally != p->tally || s->plane != NULL)
    return throw_msg(env, "add() needs a window-mode probe client of the plane's Tally, once");
  if (p->count == p->cap) {
    uint32_t cap = p->cap ? p->cap * 2 : 16;
    Sock **m = realloc(p->members, cap * sizeof *m);
    if (m == NULL) return throw_msg(env, "out of memory");
    p->members = m;
    napi_ref *r = realloc(p->member_refs, cap * sizeof *r);
    if (r == NULL) return throw_msg(env, "out of memory");
    p->member_refs = r;
    PlaneErrors *e = realloc(p->errs, cap * sizeof *e);
    if (e == NULL) return throw_msg(env, "out of memory");
    p->errs = e;
    p->cap = cap;
  }
  p->members[p->count] = s;
  memset(&p->errs[p->count], 0, sizeof p->errs[p->count]);
  napi_create_reference(env, argv[0], 1, &p->member_refs[p->count]);
  s->plane_member = p->count++;
  return NULL;
}

/* start(): moves the members to the plane's epoll set and starts its thread, which sends the first windows. */
static napi_value plane_start(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Plane *p = this_plane(env, info, &argc, NULL);
  if (p == NULL) return NULL;
  if (p->running || p->stopped) return throw_msg(env, "a Plane starts once");
  for (uint32_t m = 0; m < p->count; m++) {
    Sock *s = p->members[m];
    if (s->closed) return throw_msg(env, "a member closed before start()");
  }
  tally_lock(p->tally, &p->mu);
  for (uint32_t m = 0; m < p->count; m++) {
    Sock *s = p->members[m];
    epoll_ctl(s->group->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    struct epoll_event ev = {.events = EPOLLIN | (s->q_count > 0 ? EPOLLOUT : 0), .data.u32 = m};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
      int err = errno;
      plane_stop(p);
      return throw_errno(env, err, "epoll_ctl");
    }
    s->plane = p;
  }
  if (p->count == 1) {
    int err = set_blocking(p->members[0], 1);
    p->blocking = 1; /* set_blocking(.., 0) undoes even a half-done change at stop */
    if (err != 0) {
      plane_stop(p);
      return throw_errno(env, err, "fcntl");
    }
  }
  int err = pthread_create(&p->thread, NULL, plane_main, p);
  if (err != 0) {
    plane_stop(p);
    return throw_errno(env, err, "pthread_create");
  }
  p->running = 1;
  return NULL;
}

/* setEnd(endNs): sending ends at endNs (JavaScript's clock) on every member: a run cut short. */
static napi_value plane_set_end(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Plane *p = this_plane(env, info, &argc, argv);
  if (p == NULL) return NULL;
  double end;
  CHECK(napi_get_value_double(env, argv[0], &end));
  pthread_mutex_lock(&p->mu);
  for (uint32_t m = 0; m < p->count; m++)
    if (p->members[m] != NULL && end < p->members[m]->end_ns) p->members[m]->end_ns = end;
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/*
 * errors() -> Float64Array [member, errno, count] x n: what the members' sockets reported since the last call
 * (ICMP reports, send errors), member by add() order; a last [-1, 0, count] counts errors that did not fit.
 */
static napi_value plane_errors(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Plane *p = this_plane(env, info, &argc, NULL);
  if (p == NULL) return NULL;
  double *out = NULL;
  size_t len = 0;
  pthread_mutex_lock(&p->mu);
  if (p->nerrors > 0 || p->dropped_errors > 0) {
    out = malloc(((size_t)p->nerrors * PLANE_ERR_KINDS + 1) * 3 * sizeof *out);
    for (uint32_t m = 0; out != NULL && m < p->count; m++)
      for (int k = 0; k < PLANE_ERR_KINDS; k++) {
        PlaneErrors *e = &p->errs[m];
        if (e->count[k] == 0) continue;
        out[len++] = m;
        out[len++] = e->err[k];
        out[len++] = e->count[k];
        e->count[k] = 0;
      }
    if (out != NULL && p->dropped_errors > 0) {
      out[len++] = -1;
      out[len++] = 0;
      out[len++] = p->dropped_errors;
    }
    if (out != NULL) {
      p->nerrors = 0;
      p->dropped_errors = 0;
    }
  }
  pthread_mutex_unlock(&p->mu);
  void *mem;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, len * sizeof(double), &mem, &ab) != napi_ok) {
    free(out);
    return NULL;
  }
  if (len > 0) memcpy(mem, out, len * sizeof(double));
  free(out);
  CHECK(napi_create_typedarray(env, napi_float64_array, len, ab, 0, &arr));
  return arr;
}

/* stop(): ends the thread; the members go back to their group. Idempotent. */
static napi_value plane_stop_js(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Plane *p = this_plane(env, info, &argc, NULL);
  if (p == NULL) return NULL;
  plane_stop(p);
  return NULL;
}

/* Registers the Plane class on the module's exports. */
napi_value plane_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"add", NULL, plane_add, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, plane_start, NULL, NULL, NULL, napi_default, NULL},
      {"setEnd", NULL, plane_set_end, NULL, NULL, NULL, napi_default, NULL},
      {"errors", NULL, plane_errors, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, plane_stop_js, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ctor;
  CHECK(napi_define_class(env, "Plane", NAPI_AUTO_LENGTH, plane_new, NULL, sizeof methods / sizeof methods[0], methods,
                          &ctor));
  CHECK(napi_set_named_property(env, exports, "Plane", ctor));
  return exports;
}
