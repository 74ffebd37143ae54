/*
 * The Socket class: creating or adopting a descriptor, bind, connect, local address, buffer sizes, polling on
 * Node's loop, and closing (the descriptor, the poll handle and the wrapper each released in turn). Also
 * probeBind(), which asks whether an address is local by binding a throwaway socket.
 */
#include "echolot_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int local_port(Sock *s) { return local_port_of(s->fd); }

/* Polls an echo or plain client socket on Node's loop (probe clients are polled through their group). */
int start_poll(napi_env env, Sock *s) {
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

static void release_refs(Sock *s) {
  napi_env env = s->env;
  napi_ref *refs[] = {&s->on_event, &s->on_policy, &s->refused_ref, &s->stats_ref, &s->sarena_ref, &s->slens_ref, &s->psend_ref, &s->tally_ref};
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
  s->tally = NULL;
  s->ftally = NULL;
}

static void destroy_actx(Sock *s) {
  if (s->actx != NULL) {
    napi_async_destroy(s->env, s->actx);
    s->actx = NULL;
  }
}

static void free_sock_memory(Sock *s) {
  queue_free(s);
  client_free(s);
  window_free(s);
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
  plane_release(s);
  echo_thread_stop(s);
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
  /* A data plane's thread may still use it (a worker torn down mid-run): the plane stops first. */
  plane_release(s);
  echo_thread_stop(s);
  if (!s->closed) {
    /* Collected without close(): only possible when it never polled; release the descriptor. */
    s->closed = 1;
    if (s->fd >= 0) close(s->fd);
    free_sock_memory(s);
  }
  if (s->self != NULL) napi_delete_reference(env, s->self);
  if (!s->poll_init) free(s);
}

/* new Socket(family 4|6, mode 0 echo | 1 client, onEvent[, fd]): with fd, adopts that bound descriptor. */
napi_value sock_new(napi_env env, napi_callback_info info) {
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

/* bind(address, port) -> bound port; throws an Error with .code = errno name */
napi_value sock_bind(napi_env env, napi_callback_info info) {
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

napi_value sock_connect(napi_env env, napi_callback_info info) {
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
napi_value sock_local(napi_env env, napi_callback_info info) {
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
napi_value sock_buffer(napi_env env, napi_callback_info info) {
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

/* queued() -> datagrams waiting for the socket to turn writable */
napi_value sock_queued(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  napi_value out;
  napi_create_uint32(env, s->q_count, &out);
  return out;
}

napi_value sock_close(napi_env env, napi_callback_info info) {
  napi_value self;
  Sock *s = NULL;
  size_t argc = 0;
  CHECK(napi_get_cb_info(env, info, &argc, NULL, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&s));
  if (s != NULL) do_close(s);
  return NULL;
}

/* probeBind(family, address) -> undefined, or the errno name binding address:0 fails with. */
napi_value probe_bind(napi_env env, napi_callback_info info) {
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
