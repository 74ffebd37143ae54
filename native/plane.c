/*
 * The data plane (the Plane class): a share's window-mode probe clients (flood, ping-pong) driven by a thread
 * of their own instead of Node's loop. The thread blocks in epoll_wait on the clients' descriptors; a reply is
 * read, accounted in the share's Tally and its slot refilled without a wake-up of libuv or a JavaScript call,
 * which is what one round trip of ping-pong costs on the loop. JavaScript reads the Tally as before (collect()
 * and measure() take the plane's lock while it runs) and polls the errors the sockets reported.
 *
 * Rate mode (startRate): JavaScript keeps the schedule (which flow, sequence number, intended time and length of
 * every probe) and writes it some milliseconds ahead into a ring; the thread sleeps until the next intended time
 * (epoll_pwait2, timer slack 1 ns) and sends every probe due, stamped with the time it went out. The send lag is
 * then the thread's wake-up, not the event loop's. With constant arrivals (startConstant) the thread computes the
 * schedule itself, the same one JavaScript would write: JavaScript then only tells it the end and polls errors, so
 * its wake-ups (which preempt this thread when both share a CPU) are few.
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
#include <sys/prctl.h>
#include <time.h>
#include <math.h>
#include <unistd.h>

/* Expiry of unanswered probes and top-ups after a quiet spell: the WindowDriver's HOUSEKEEPING_MS. */
#define PLANE_HOUSEKEEPING_NS 2e6
/* Rate mode: the thread sleeps until this long before a send is due, and polls the sockets for the rest (as the
 * JavaScript pacer polls for its last POLL_BELOW_NS), ns. */
#define PLANE_SPIN_NS 50e3
/* Rate mode: most sends per wake-up before the sockets are read again (the pacer's MAX_BURST). */
#define PLANE_BURST 2048
/* Kinds of error (errno) kept per member between two polls; further kinds are counted as dropped. */
#define PLANE_ERR_KINDS 4
#define PLANE_MAGIC 0x504c4e45u
/* The epoll key of the wake eventfd (stop, new sends in an empty ring); member keys are indexes. */
#define PLANE_WAKE_KEY UINT32_MAX
/* A rate-mode ring entry: member (add() order), sequence number, intended send time (JavaScript's clock), length. */
enum { RE_MEMBER, RE_SEQ, RE_INTENDED, RE_LENGTH, RE_STRIDE };

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
  int blocking; /* one member in window mode: plane_blocking_loop */
  atomic_int quit;
  pthread_mutex_t mu;
  uint32_t nerrors; /* members with errors */
  double dropped_errors;
  atomic_int has_errors; /* nerrors or dropped_errors above 0: errors() takes the lock only then */
  /* Rate mode: the ring of scheduled sends (JavaScript memory), entries [head, tail) not sent yet. */
  int rate_on;
  double *ring;
  napi_ref ring_ref;
  uint32_t ring_cap;
  uint64_t head, tail;
  /* Entries intended from here on are dropped: a run cut short. Atomic, as gen_k: setEnd() and push(0) on a computed
   * schedule run on JavaScript's thread and take no lock, which, on a CPU the two threads share, would park
   * JavaScript until this thread lets the lock go, and hand it over with two context switches. */
  _Atomic double rate_end;
  /* Constant arrivals (startConstant): slot k is intended at gen_t0 + k * gen_period (JavaScript's clock), on
   * member k % count, with that member's next sequence number (mseq) and the length gen_sizes[seq % gen_nsizes]. */
  int gen_on;
  double gen_t0, gen_period;
  _Atomic uint64_t gen_k; /* written by the thread only */
  double *gen_sizes;
  uint32_t gen_nsizes;
  double *mseq;
  double offset;   /* JavaScript's clock minus uv_hrtime */
  /* The thread's life: wall time and CPU time (set as it ends), and the time it spent working (reading,
   * accounting, sending: not sleeping or polling), ns. */
  double wall_ns, cpu_ns, work_ns;
  uint32_t *mpend;   /* per member: probes written into its send arena, not yet sent */
  uint32_t *touched; /* members written to since the last flush, each once (mtouched) */
  uint8_t *mtouched;
  uint32_t ntouched;
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
      atomic_store_explicit(&p->has_errors, 1, memory_order_relaxed);
    }
    e->count[k]++;
    return;
  }
  p->dropped_errors++;
  atomic_store_explicit(&p->has_errors, 1, memory_order_relaxed);
}

/* n rows just received on member s: each frees its probe's slot and is accounted (under the lock). */
static void plane_account(Plane *p, Sock *s, int n) {
  for (int i = 0; i < n; i++) {
    const double *r = p->rows + (size_t)i * P_STRIDE;
    if (s->win_on && (r[0] == PS_PROBE || r[0] == PS_TRUNCATED_HDR || r[0] == PS_CORRUPTED_HDR) &&
        r[1] == s->probe.flow)
      window_answer(s, r[2]);
    tally_reply(s->tally, s->ftally, r);
  }
}

/* The freed slots of member m get new probes at once (under the lock). */
static void plane_refill(Plane *p, uint32_t m) {
  Sock *s = p->members[m];
  if (!s->win_on || s->inflight >= s->win) return;
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
    if (!s->win_on) continue;
    double now = now_ns() + s->clock_offset;
    window_settle(s, now);
    int err;
    window_fill(s, now, &err);
    if (err != 0) plane_note(p, m, err);
  }
}

/* Sends member m's probes written into its send arena (under the lock). */
static void plane_flush_member(Plane *p, uint32_t m) {
  Sock *s = p->members[m];
  uint32_t n = p->mpend[m];
  p->mpend[m] = 0;
  if (n == 0 || s == NULL || s->closed) return;
  int err = client_send(s, n);
  if (err != 0) plane_note(p, m, err < 0 ? EINVAL : err);
}

/* One scheduled send: member (add() order), sequence number, intended time (JavaScript's clock), length. */
typedef struct {
  uint32_t member;
  double seq, intended, length;
} Due;

/* The next scheduled send into *d without taking it; 0 with none (an empty ring, or the generated schedule past its
 * end). Under the lock. */
static int plane_peek(Plane *p, Due *d) {
  if (p->gen_on) {
    uint64_t k = atomic_load_explicit(&p->gen_k, memory_order_relaxed);
    d->intended = p->gen_t0 + (double)k * p->gen_period;
    if (d->intended >= atomic_load_explicit(&p->rate_end, memory_order_relaxed) || p->count == 0) return 0;
    d->member = (uint32_t)(k % p->count);
    d->seq = p->mseq[d->member];
    d->length = p->gen_sizes[(uint64_t)d->seq % p->gen_nsizes];
    return 1;
  }
  if (p->head >= p->tail) return 0;
  const double *e = p->ring + (size_t)(p->head % p->ring_cap) * RE_STRIDE;
  d->member = (uint32_t)e[RE_MEMBER];
  d->seq = e[RE_SEQ];
  d->intended = e[RE_INTENDED];
  d->length = e[RE_LENGTH];
  return 1;
}

/* Takes the send plane_peek returned. */
static void plane_take(Plane *p, const Due *d) {
  if (p->gen_on) {
    atomic_store_explicit(&p->gen_k, atomic_load_explicit(&p->gen_k, memory_order_relaxed) + 1, memory_order_relaxed);
    p->mseq[d->member]++;
  } else {
    p->head++;
  }
}

/*
 * Rate mode: sends the scheduled probes due by `now` (JavaScript's clock), at most PLANE_BURST of them (replies must
 * still be read while catching up), each stamped `now` as its actual send time; one send per member with probes
 * due, or more when its send arena fills (under the lock). Ring entries intended at or after rate_end are dropped.
 * Returns how many it took.
 */
static uint32_t plane_send_due(Plane *p, double now) {
  uint32_t taken = 0;
  Due d;
  for (; taken < PLANE_BURST && plane_peek(p, &d); taken++) {
    if (d.intended > now) break;
    plane_take(p, &d);
    uint32_t m = d.member;
    double end = atomic_load_explicit(&p->rate_end, memory_order_relaxed);
    if (d.intended >= end || m >= p->count || p->members[m] == NULL) continue;
    Sock *s = p->members[m];
    if (!p->mtouched[m]) {
      p->mtouched[m] = 1;
      p->touched[p->ntouched++] = m;
    }
    uint32_t i = p->mpend[m];
    double *row = s->psend + (size_t)i * 4;
    row[0] = d.seq;
    row[1] = d.intended;
    row[2] = now;
    s->slens[i] = (int32_t)d.length;
    if (++p->mpend[m] == s->sslots) plane_flush_member(p, m);
  }
  for (uint32_t k = 0; k < p->ntouched; k++) {
    plane_flush_member(p, p->touched[k]);
    p->mtouched[p->touched[k]] = 0;
  }
  p->ntouched = 0;
  return taken;
}

/* The next intended send time on uv_hrtime's clock, or INFINITY with nothing to send (under the lock). */
static double plane_next_due(Plane *p) {
  Due d;
  if (!p->rate_on || !plane_peek(p, &d)) return INFINITY;
  return d.intended - p->offset;
}

/*
 * Several members, or rate mode: one epoll set, as the group has on Node's loop, waited on with a timeout to the
 * nanosecond (the next send due, or the next housekeeping).
 */
static void plane_poll_loop(Plane *p) {
  struct epoll_event evs[G_EVENTS];
  double next = now_ns() + PLANE_HOUSEKEEPING_NS;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    double due = plane_next_due(p);
    pthread_mutex_unlock(&p->mu);
    /* The last PLANE_SPIN_NS before a send are polled: a sleep's wake-up would make it late. */
    double wake = due - PLANE_SPIN_NS, wait = (wake < next ? wake : next) - now_ns();
    struct timespec ts = {0, 0};
    if (wait > 0) {
      ts.tv_sec = (time_t)(wait / 1e9);
      ts.tv_nsec = (long)(wait - (double)ts.tv_sec * 1e9);
    }
    int ready = epoll_pwait2(p->epfd, evs, G_EVENTS, &ts, NULL);
    if (ready < 0 && errno != EINTR) break;
    double t = now_ns();
    pthread_mutex_lock(&p->mu);
    int worked = ready > 0;
    if (p->rate_on && plane_send_due(p, now_ns() + p->offset) > 0) worked = 1;
    for (int e = 0; e < ready; e++) {
      uint32_t key = evs[e].data.u32;
      if (key == PLANE_WAKE_KEY) {
        uint64_t v;
        ssize_t r = read(p->stopfd, &v, sizeof v);
        (void)r;
      } else if (key < p->count) {
        plane_serve(p, key, evs[e].events);
      }
    }
    if (now_ns() >= next) {
      plane_housekeeping(p);
      next = now_ns() + PLANE_HOUSEKEEPING_NS;
      worked = 1;
    }
    /* A turn that found nothing to read or send was waiting (a poll for the next send), not work. */
    if (worked) p->work_ns += now_ns() - t;
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
  /* Ping-pong (a window of 1) asks for one datagram: a batch would cost a second look at an empty queue. */
  int max = s->win <= 1 ? 1 : BATCH;
  while (!atomic_load(&p->quit)) {
    int err;
    int n = probe_recv(s, p->msgs, p->iov, p->data, p->rows, max, MSG_WAITFORONE, &err);
    double t = now_ns();
    pthread_mutex_lock(&p->mu);
    if (n > 0) plane_account(p, s, n);
    if (err != 0) plane_note(p, 0, err);
    if (s->q_count > 0) queue_flush(s);
    plane_refill(p, 0);
    if (now_ns() >= next) {
      plane_housekeeping(p);
      next = now_ns() + PLANE_HOUSEKEEPING_NS;
    }
    p->work_ns += now_ns() - t;
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
  /* Wake at the time asked, not up to 50 us later (the default slack): the send lag is this thread's wake-up. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  pthread_mutex_lock(&p->mu);
  plane_housekeeping(p);
  pthread_mutex_unlock(&p->mu);
  struct timespec c0, c1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  double w0 = now_ns();
  if (p->blocking)
    plane_blocking_loop(p);
  else
    plane_poll_loop(p);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  pthread_mutex_lock(&p->mu);
  p->wall_ns = now_ns() - w0;
  p->cpu_ns = (double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec);
  pthread_mutex_unlock(&p->mu);
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
  free(p->mpend);
  free(p->touched);
  free(p->mtouched);
  free(p->mseq);
  free(p->gen_sizes);
  if (p->ring_ref != NULL) napi_delete_reference(env, p->ring_ref);
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
  atomic_store(&p->rate_end, INFINITY);
  p->offset = tally_offset(t);
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
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = PLANE_WAKE_KEY};
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
  if (!(s->win_on || p->rate_on) || !s->probe_on || s->group == NULL || s->tally != p->tally || s->plane != NULL)
    return throw_msg(env, "add() needs a probe client of the plane's Tally (in window mode unless startRate), once");
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
    uint32_t *mp = realloc(p->mpend, cap * sizeof *mp);
    if (mp == NULL) return throw_msg(env, "out of memory");
    p->mpend = mp;
    uint32_t *t = realloc(p->touched, cap * sizeof *t);
    if (t == NULL) return throw_msg(env, "out of memory");
    p->touched = t;
    uint8_t *mt = realloc(p->mtouched, cap);
    if (mt == NULL) return throw_msg(env, "out of memory");
    p->mtouched = mt;
    double *sq = realloc(p->mseq, cap * sizeof *sq);
    if (sq == NULL) return throw_msg(env, "out of memory");
    p->mseq = sq;
    p->cap = cap;
  }
  p->members[p->count] = s;
  memset(&p->errs[p->count], 0, sizeof p->errs[p->count]);
  p->mpend[p->count] = 0;
  p->mtouched[p->count] = 0;
  p->mseq[p->count] = 0;
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
  if (p->count == 1 && !p->rate_on) {
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
  /* Only JavaScript's thread writes rate_end. */
  if (end < atomic_load(&p->rate_end)) atomic_store(&p->rate_end, end);
  /* Rate mode's members have no window, so no end of their own. */
  if (p->rate_on) return NULL;
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
  int any = atomic_load(&p->has_errors);
  if (any) pthread_mutex_lock(&p->mu);
  if (any && (p->nerrors > 0 || p->dropped_errors > 0)) {
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
      atomic_store(&p->has_errors, 0);
    }
  }
  if (any) pthread_mutex_unlock(&p->mu);
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

/*
 * startRate(capacity) -> Float64Array(capacity x RE_STRIDE): rate mode, before add() and start(). JavaScript writes
 * scheduled sends (member, sequence number, intended ns on its clock, length) into the ring in order, entry k at
 * k % capacity, and hands them over with push().
 */
static napi_value plane_start_rate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Plane *p = this_plane(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (p->running || p->stopped || p->rate_on || p->count > 0) return throw_msg(env, "startRate() once, before add()");
  uint32_t cap;
  CHECK(napi_get_value_uint32(env, argv[0], &cap));
  if (cap < 16 || cap > (1u << 22)) return throw_msg(env, "capacity must be 16..4194304");
  void *mem;
  napi_value arr = typed(env, napi_float64_array, (size_t)cap * RE_STRIDE, 8, &mem, &p->ring_ref);
  if (arr == NULL) return NULL;
  p->ring = mem;
  p->ring_cap = cap;
  p->rate_on = 1;
  return arr;
}

/*
 * startConstant(t0, period, end, sizes): rate mode with constant arrivals, before add() and start(). The thread
 * computes the schedule: slot k intended at t0 + k * period (ns, JavaScript's clock) until `end`, round-robin over
 * the members in add() order, each member's sequence numbers from 0 on, a probe of sequence number q sizes[q %
 * sizes.length] bytes long: what JavaScript would write into the ring for makeSchedule('constant', t0, 1e9 / period).
 */
static napi_value plane_start_constant(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  Plane *p = this_plane(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (p->running || p->stopped || p->rate_on || p->count > 0)
    return throw_msg(env, "startConstant() once, before add(), and not with startRate()");
  double t0, period, end;
  uint32_t n = 0;
  if (argc < 4 || napi_get_value_double(env, argv[0], &t0) != napi_ok ||
      napi_get_value_double(env, argv[1], &period) != napi_ok || napi_get_value_double(env, argv[2], &end) != napi_ok ||
      napi_get_array_length(env, argv[3], &n) != napi_ok)
    return throw_msg(env, "startConstant(t0, period, end, sizes) needs three numbers and an array");
  if (!(period > 0) || !isfinite(t0) || n == 0 || n > 65536)
    return throw_msg(env, "startConstant() needs a period above 0, a finite t0 and 1..65536 sizes");
  double *sizes = malloc((size_t)n * sizeof *sizes);
  if (sizes == NULL) return throw_msg(env, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    double len;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || napi_get_value_double(env, v, &len) != napi_ok ||
        !(len >= 0 && len <= 65535)) {
      free(sizes);
      return throw_msg(env, "startConstant() sizes must be numbers 0..65535");
    }
    sizes[i] = len;
  }
  p->gen_sizes = sizes;
  p->gen_nsizes = n;
  p->gen_t0 = t0;
  p->gen_period = period;
  atomic_store(&p->gen_k, 0);
  if (end < atomic_load(&p->rate_end)) atomic_store(&p->rate_end, end);
  p->gen_on = 1;
  p->rate_on = 1;
  return NULL;
}

/*
 * push(n) -> pending: the next n ring entries are written; returns the entries not sent yet (sent or dropped ones
 * are free again). push(0) only asks; with startConstant it only asks, and the answer is the slots of the schedule
 * before its end not sent yet.
 */
static napi_value plane_push(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  Plane *p = this_plane(env, info, &argc, argv);
  if (p == NULL) return NULL;
  uint32_t n;
  CHECK(napi_get_value_uint32(env, argv[0], &n));
  if (p->gen_on) {
    if (n != 0) return throw_msg(env, "push() with a schedule the plane computes (startConstant)");
    /* No lock: the thread alone moves gen_k, and t0, period and the member count are fixed once it runs. */
    double end = atomic_load(&p->rate_end), k = (double)atomic_load(&p->gen_k), left = 0;
    if (p->count > 0 && p->gen_t0 + k * p->gen_period < end) {
      left = ceil((end - p->gen_t0) / p->gen_period) - k;
      if (left < 1) left = 1;
    }
    CHECK(napi_create_double(env, left, &out));
    return out;
  }
  pthread_mutex_lock(&p->mu);
  uint64_t pending = p->tail - p->head;
  if (!p->rate_on || pending + n > p->ring_cap) {
    pthread_mutex_unlock(&p->mu);
    return throw_msg(env, "push() beyond the ring's free entries");
  }
  p->tail += n;
  int wake = pending == 0 && n > 0;
  pending += n;
  pthread_mutex_unlock(&p->mu);
  /* A thread asleep with nothing to send would wait up to a housekeeping period: wake it. */
  if (wake && p->running) {
    uint64_t one = 1;
    ssize_t w = write(p->stopfd, &one, sizeof one);
    (void)w;
  }
  CHECK(napi_create_double(env, (double)pending, &out));
  return out;
}

/* usage() -> [wall ns, CPU ns, working ns]: the thread's life, once stopped (zeros before). */
static napi_value plane_usage(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Plane *p = this_plane(env, info, &argc, NULL);
  if (p == NULL) return NULL;
  napi_value items[3];
  pthread_mutex_lock(&p->mu);
  double v[3] = {p->wall_ns, p->cpu_ns, p->work_ns};
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < 3; i++) CHECK(napi_create_double(env, v[i], &items[i]));
  return js_array(env, 3, items);
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
      {"startRate", NULL, plane_start_rate, NULL, NULL, NULL, napi_default, NULL},
      {"startConstant", NULL, plane_start_constant, NULL, NULL, NULL, napi_default, NULL},
      {"push", NULL, plane_push, NULL, NULL, NULL, napi_default, NULL},
      {"usage", NULL, plane_usage, NULL, NULL, NULL, napi_default, NULL},
      {"errors", NULL, plane_errors, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, plane_stop_js, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ctor;
  CHECK(napi_define_class(env, "Plane", NAPI_AUTO_LENGTH, plane_new, NULL, sizeof methods / sizeof methods[0], methods,
                          &ctor));
  CHECK(napi_set_named_property(env, exports, "Plane", ctor));
  return exports;
}
