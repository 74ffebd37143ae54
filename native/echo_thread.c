/*
 * The echo thread: an echo socket without a JavaScript policy answered by a thread of its own instead of a
 * uv_poll on Node's loop. The thread sleeps in recvmmsg itself (the socket made blocking, with a receive
 * timeout), as the C recvmmsg server does, and runs the same echo_batch: checks, loop guard, replies. It has
 * its own receive arena and loop-guard table (a Shared of its own, s->sh while it runs); sends never block
 * (MSG_DONTWAIT: what would block goes to the socket's bounded queue, flushed when the socket turns writable).
 * The errors it notes reach JavaScript through a thread-safe function, which also keeps Node's loop alive as
 * the poll handle would. close() stops it: shutdown(SHUT_RD) wakes the receive, the thread is joined.
 */
#include "echolot_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The receive timeout: the longest a stop waits if shutdown did not wake the receive, ms. */
#define ECHO_RCVTIMEO_MS 200
/* With replies queued, how long the thread waits for the socket to turn readable or writable, ms. */
#define ECHO_QUEUE_POLL_MS 10

typedef struct EchoThread {
  pthread_t thread;
  atomic_int quit;
  Shared *env_sh; /* the socket's Shared on Node's thread, restored at stop */
  Shared own;
  napi_threadsafe_function tsfn;
} EchoThread;

/* On Node's thread: an errno the echo thread noted, logged as on the polled path. */
static void echo_error_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  Sock *s = context;
  if (env == NULL || s->closed) return;
  napi_value argv[2];
  napi_create_string_utf8(env, "error", NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(env, uv_err_name(-(int)(intptr_t)data), NAPI_AUTO_LENGTH, &argv[1]);
  call_js(s, s->on_event, 2, argv, NULL);
}

/* From the echo thread: hands an errno to Node's thread (note_error logs each kind once). */
void echo_thread_report(Sock *s, int err) {
  napi_call_threadsafe_function(s->et->tsfn, (void *)(intptr_t)err, napi_tsfn_nonblocking);
}

static void *echo_main(void *arg) {
  Sock *s = arg;
  Shared *sh = s->sh;
  EchoThread *et = s->et;
  while (!atomic_load(&et->quit)) {
    int flags = MSG_WAITFORONE;
    if (s->q_count > 0) {
      queue_flush(s);
      if (s->q_count > 0) {
        struct pollfd pf = {.fd = s->fd, .events = POLLIN | POLLOUT};
        if (poll(&pf, 1, ECHO_QUEUE_POLL_MS) > 0 && (pf.revents & POLLOUT)) queue_flush(s);
        flags = MSG_DONTWAIT;
      }
    }
    prepare_recv(sh);
    int n = recvmmsg(s->fd, sh->msgs, BATCH, flags, NULL);
    if (n < 0) {
      int err = errno;
      if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) note_error(s, err);
      continue;
    }
    if (n == 0) continue; /* shut down for reading: a stop */
    echo_batch(s, n, (uint64_t)now_ns());
  }
  return NULL;
}

static void free_own(EchoThread *et) {
  loop_guard_free(&et->own);
  free(et->own.data);
  free(et->own.meta);
  free(et->own.src);
  free(et->own.dst);
  free(et->own.verdict);
}

/* Starts the echo thread of s (startEcho with threaded on); 0 or an errno. */
int echo_thread_start(napi_env env, Sock *s) {
  EchoThread *et = calloc(1, sizeof *et);
  if (et == NULL) return ENOMEM;
  Shared *own = &et->own;
  own->data = malloc((size_t)BATCH * SLOT);
  own->meta = calloc(BATCH * M_STRIDE, sizeof *own->meta);
  own->src = calloc(BATCH, 16);
  own->dst = calloc(BATCH, 16);
  own->verdict = calloc(BATCH, 1);
  if (own->data == NULL || own->meta == NULL || own->src == NULL || own->dst == NULL || own->verdict == NULL ||
      (s->loop_guard && loop_guard_init(own) != 0)) {
    free_own(et);
    free(et);
    return ENOMEM;
  }
  napi_value name;
  napi_create_string_utf8(env, "echolot:echo-thread", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, s, echo_error_js, &et->tsfn) !=
      napi_ok) {
    free_own(et);
    free(et);
    return EINVAL;
  }
  int fl = fcntl(s->fd, F_GETFL);
  struct timeval tv = {.tv_sec = 0, .tv_usec = ECHO_RCVTIMEO_MS * 1000};
  if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
      setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    int err = errno;
    napi_release_threadsafe_function(et->tsfn, napi_tsfn_abort);
    free_own(et);
    free(et);
    return err;
  }
  et->env_sh = s->sh;
  s->sh = own;
  s->et = et;
  int err = pthread_create(&et->thread, NULL, echo_main, s);
  if (err != 0) {
    s->sh = et->env_sh;
    s->et = NULL;
    if (fl >= 0) fcntl(s->fd, F_SETFL, fl);
    napi_release_threadsafe_function(et->tsfn, napi_tsfn_abort);
    free_own(et);
    free(et);
    return err;
  }
  /* While the thread runs, the wrapper must stay alive, as while polling. */
  napi_reference_ref(env, s->self, NULL);
  return 0;
}

/* Stops the echo thread of s (close, or a finalizer); the socket is closed right after. Idempotent. */
void echo_thread_stop(Sock *s) {
  EchoThread *et = s->et;
  if (et == NULL) return;
  atomic_store(&et->quit, 1);
  shutdown(s->fd, SHUT_RD);
  pthread_join(et->thread, NULL);
  s->sh = et->env_sh;
  s->et = NULL;
  napi_release_threadsafe_function(et->tsfn, napi_tsfn_abort);
  free_own(et);
  free(et);
  if (s->self != NULL) napi_reference_unref(s->env, s->self, NULL);
}
