/*
 * Client sockets: the send arena JavaScript writes datagrams into (startClient, send), and the probe client,
 * whose slots are encoded here from send rows and whose replies go to the thread's probe group
 * (startProbeClient; see client_group.c).
 */
#include "echolot_io.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

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

/* UDP GSO: segments per send (the kernel's UDP_MAX_SEGMENTS) and the payload bytes of one send. */
#define GSO_SEGS 64
#define GSO_BYTES 65000

/*
 * Slots 0..n-1, all of one length, as few UDP GSO sends (UDP_SEGMENT): the kernel cuts each into datagrams of
 * that length, on the wire the same datagrams as sendmmsg's, for a fraction of the per-datagram send cost.
 * Returns the slots handed over and stops at the first failure, leaving the rest to sendmmsg: a full buffer
 * (sendmmsg queues), a refusal of GSO itself (a datagram above the path MTU, an IPsec route: GSO is turned off
 * for the socket), or an error the socket reported (an ICMP report, returned in *err as sendmmsg would).
 */
static uint32_t gso_send(Sock *s, uint32_t n, int *err) {
  *err = 0;
  uint32_t len = (uint32_t)s->siov[0].iov_len;
  if (s->q_count > 0 || len == 0) return 0;
  for (uint32_t i = 1; i < n; i++)
    if (s->siov[i].iov_len != len) return 0;
  uint32_t per = GSO_BYTES / len;
  if (per > GSO_SEGS) per = GSO_SEGS;
  if (per < 2) return 0;
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl;
  uint32_t i = 0;
  while (i < n) {
    uint32_t k = n - i < per ? n - i : per;
    if (k < 2) break;
    struct msghdr h = {.msg_iov = &s->siov[i], .msg_iovlen = k, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)len;
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
    ssize_t r = sendmsg(s->fd, &h, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL || errno == EIO || errno == EMSGSIZE || errno == EOPNOTSUPP || errno == ENOPROTOOPT)
        s->gso = 0;
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
        *err = errno;
      break;
    }
    i += k;
  }
  return i;
}

/* Sends send-arena slots 0..n-1 (probe slots encoded first): 0, the first hard errno, or -1 for a bad length. */
int client_send(Sock *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    int32_t len = s->slens[i];
    if (len < 0 || (uint32_t)len > s->sslot_size) return -1;
    if (s->probe_on && len >= PROBE_HEADER) {
      const double *d = s->psend + (size_t)i * 4;
      probe_encode(&s->probe, s->sarena + (size_t)i * s->sslot_size, d[0], d[1], d[2], (uint32_t)len);
    }
    s->siov[i].iov_base = s->sarena + (size_t)i * s->sslot_size;
    s->siov[i].iov_len = (size_t)len;
    memset(&s->smsgs[i], 0, sizeof s->smsgs[i]);
    s->smsgs[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsgs[i].msg_hdr.msg_iovlen = 1;
  }
  int gso_err = 0;
  uint32_t done = s->gso && n >= 2 ? gso_send(s, n, &gso_err) : 0;
  if (gso_err != 0) note_error(s, gso_err);
  int err = done == n ? 0 : send_batch(s, s->smsgs + done, n - done);
  /* Accounted after the send, not between the send time stamped in the probe and the send itself: in ping-pong
   * that time is part of every round trip measured. (Sent or queued, a probe counts as sent.) */
  if (s->probe_on && s->tally != NULL) {
    for (uint32_t i = 0; i < n; i++) {
      if (s->slens[i] < PROBE_HEADER) continue;
      const double *d = s->psend + (size_t)i * 4;
      tally_sent(s->tally, s->ftally, d[0], d[1], d[2]);
    }
  }
  return gso_err != 0 ? gso_err : err;
}

/* Frees the send arena's message headers (the arena itself is JavaScript memory). */
void client_free(Sock *s) {
  free(s->smsgs);
  free(s->siov);
  s->smsgs = NULL;
  s->siov = NULL;
}

/* startClient(sendSlots, slotSize, queueMax) -> [ArrayBuffer arena, Int32Array lengths]; starts receiving. */
napi_value sock_start_client(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], items[2];
  Sock *s = unwrap(env, info, &argc, argv);
  if (s == NULL || setup_client(env, s, argv, &items[0], &items[1]) != 0) return NULL;
  if (start_poll(env, s) != 0) return throw_msg(env, "cannot poll the socket");
  return js_array(env, 2, items);
}

/* send(count): sends send-arena slots 0..count-1 to the connected peer -> undefined, or the first errno name. */
napi_value sock_send(napi_env env, napi_callback_info info) {
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
 * startProbeClient(sendSlots, slotSize, queueMax, runId: Uint8Array(8), flow[, tally]) -> [ArrayBuffer arena,
 * Int32Array lengths, Float64Array send rows (slots x 4), member index]. A client whose probes are encoded and
 * checked here: send(count) encodes slot i from send row i (seq, intended ns, actual ns; the length from
 * lengths[i]) before sending it, and received datagrams are decoded into the rows of the thread's probe group
 * (probeGroup()), where they arrive under this member index. With a Tally (tally.c), every probe sent and every
 * reply is accounted there instead, and the rows do not go to JavaScript (errors still do). Needs probeGroup()
 * first.
 */
napi_value sock_start_probe_client(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], items[4]; /* arena, lengths, send rows, member index */
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
  struct Tally *tally = NULL;
  napi_valuetype tt = napi_undefined;
  if (argc >= 6) napi_typeof(env, argv[5], &tt);
  if (tt != napi_undefined) {
    tally = tally_of(env, argv[5]);
    if (tally == NULL) return throw_msg(env, "tally must be a Tally");
  }
  if (setup_client(env, s, argv, &items[0], &items[1]) != 0) return NULL;
  if (s->sslot_size < PROBE_HEADER) return throw_msg(env, "send slots are smaller than a probe header");
  void *mem;
  if ((items[2] = typed(env, napi_float64_array, (size_t)s->sslots * 4, 8, &mem, &s->psend_ref)) == NULL) return NULL;
  s->psend = mem;
  probe_flow_init(&s->probe, data, flow);
  s->gso = 1;
  if (tally != NULL) {
    s->ftally = tally_attach(tally, flow);
    if (s->ftally == NULL) return throw_msg(env, "out of memory");
    s->tally = tally;
    napi_create_reference(env, argv[5], 1, &s->tally_ref);
  }
  s->probe_on = 1;
  int err = group_join(s);
  if (err != 0) return throw_errno(env, err, "epoll");
  napi_create_uint32(env, s->member, &items[3]);
  return js_array(env, 4, items);
}
