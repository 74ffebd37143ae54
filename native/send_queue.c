/*
 * Sending: sendmmsg of prepared batches, and the bounded queue that holds what would block until the
 * descriptor turns writable (beyond the bound a datagram is dropped and counted). Sends never block, also on
 * a descriptor a thread made blocking for its receives (MSG_DONTWAIT).
 */
#include "echolot_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

/* The queue of a socket: room for cap datagrams (at least one), QUEUE_MAX_BYTES in all. */
int alloc_queue(Sock *s, uint32_t cap) {
  if (cap < 1) cap = 1;
  s->q = calloc(cap, sizeof(Pending));
  if (s->q == NULL) return -1;
  s->q_cap = cap;
  return 0;
}

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

/* Drops whatever is still queued and frees the queue. */
void queue_free(Sock *s) {
  if (s->q == NULL) return;
  while (s->q_count > 0) queue_pop(s);
  free(s->q);
  s->q = NULL;
}

/* Writable interest only while something is queued: a UDP socket is almost always writable. */
void update_poll(Sock *s) {
  if ((!s->poll_init && s->group == NULL) || s->closed) return;
  int want = UV_READABLE | (s->q_count > 0 ? UV_WRITABLE : 0);
  if (want == s->events) return;
  s->events = want;
  if (s->plane != NULL) {
    plane_update_poll(s);
    return;
  }
  if (s->group != NULL) {
    struct epoll_event ev = {.events = EPOLLIN | (s->q_count > 0 ? EPOLLOUT : 0), .data.u32 = s->member};
    epoll_ctl(s->group->epfd, EPOLL_CTL_MOD, s->fd, &ev);
    return;
  }
  uv_poll_start(&s->poll, want, on_poll);
}

/* Sends queued datagrams in order; stops at the first would-block. */
void queue_flush(Sock *s) {
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
    int r = sendmmsg(s->fd, m, n, MSG_DONTWAIT);
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
int send_batch(Sock *s, struct mmsghdr *m, uint32_t n) {
  uint32_t i = 0;
  int first_err = 0;
  if (s->q_count > 0) queue_flush(s);
  while (i < n && s->q_count == 0) {
    int r;
    if (n - i == 1) {
      /* One datagram (a ping-pong refill): sendmsg costs less in the kernel than a sendmmsg of one. */
      ssize_t w = sendmsg(s->fd, &m[i].msg_hdr, MSG_DONTWAIT);
      if (w >= 0) m[i].msg_len = (unsigned)w;
      r = w >= 0 ? 1 : -1;
    } else {
      r = sendmmsg(s->fd, m + i, n - i, MSG_DONTWAIT);
    }
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
