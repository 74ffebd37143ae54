/* Load generator in C with sendmmsg/recvmmsg: the machine's ceiling for a generator.
 * Usage: gen-mmsg flood|ping-pong HOST PORT DURATION_MS WARMUP_MS FLOWS WINDOW SIZE
 *   flood:     FLOWS (1..1024) connected sockets, each on its own ephemeral port and keeping WINDOW
 *              datagrams outstanding, all in one epoll set; prints echoes/s. Every datagram starts
 *              with its own number, as a real client's would (a run of identical payloads is what a
 *              server's loop guard drops).
 *   ping-pong: one socket, one outstanding datagram; prints the RTT percentiles (FLOWS, WINDOW ignored).
 * Prints one JSON line on stdout. Exit 2 on usage or socket errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXFLOWS 1024
#define MAXSIZE 65507
/* A window with no reply for this long is presumed lost and refilled. */
#define STALL_NS 100000000LL

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_flow(const struct sockaddr_in *to, int nonblock) {
  int fd = socket(AF_INET, SOCK_DGRAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof *to) < 0) {
    perror("socket/connect");
    exit(2);
  }
  return fd;
}

static char sendbuf[MAXSIZE];
static char recvbufs[BATCH][MAXSIZE + 1];

/* Numbers each datagram: a server's loop guard takes a run of identical payloads for an echo loop. */
static uint64_t next_seq;

/* Sends `count` datagrams of `size` bytes on `fd`, each starting with its own 8-byte number; returns
 * how many left. */
static int send_burst(int fd, int count, int size) {
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH][2];
  uint64_t seqs[BATCH];
  int sent = 0;
  while (sent < count) {
    int n = count - sent < BATCH ? count - sent : BATCH;
    for (int i = 0; i < n; i++) {
      seqs[i] = next_seq + (uint64_t)i;
      iovs[i][0] = (struct iovec){.iov_base = &seqs[i], .iov_len = sizeof seqs[i]};
      iovs[i][1] = (struct iovec){.iov_base = sendbuf, .iov_len = (size_t)size - sizeof seqs[i]};
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 2;
    }
    int m = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (m <= 0) break; /* buffer full or ICMP error: the stall timer refills later */
    next_seq += (uint64_t)m;
    sent += m;
  }
  return sent;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Reads everything queued on flow f; returns how many datagrams came (wrong lengths counted in *bad). */
static int drain_flow(int fd, int size, long long *bad) {
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  int got = 0;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iovs[i].iov_base = recvbufs[i];
      iovs[i].iov_len = sizeof recvbufs[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return got;
    for (int i = 0; i < n; i++) {
      if ((int)msgs[i].msg_len != size) (*bad)++;
    }
    got += n;
  }
}

static int flood(const struct sockaddr_in *to, int64_t duration, int64_t warmup, int flows, int window,
                 int size) {
  static int fds[MAXFLOWS], outstanding[MAXFLOWS];
  static int64_t last_rx[MAXFLOWS];
  static struct epoll_event events[MAXFLOWS];
  /* One socket per flow: lift the soft descriptor limit to the hard one for many flows. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int ep = epoll_create1(0);
  if (ep < 0) { perror("epoll_create1"); return 2; }
  int64_t t0 = now_ns(), start = t0 + warmup, end = start + duration;
  for (int f = 0; f < flows; f++) {
    fds[f] = open_flow(to, 1);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)f};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[f], &ev) < 0) { perror("epoll_ctl"); return 2; }
    outstanding[f] = send_burst(fds[f], window, size);
    last_rx[f] = t0;
  }
  long long echoes = 0, bad = 0;
  int64_t next_sweep = t0 + STALL_NS / 10;
  for (;;) {
    int64_t now = now_ns();
    if (now >= end) break;
    int ready = epoll_wait(ep, events, flows, 10);
    now = now_ns();
    for (int e = 0; e < ready; e++) {
      int f = (int)events[e].data.u32;
      int got = drain_flow(fds[f], size, &bad);
      if (got == 0) continue;
      last_rx[f] = now;
      if (now >= start && now < end) echoes += got;
      outstanding[f] -= got;
      if (outstanding[f] < 0) outstanding[f] = 0;
      if (now < end) outstanding[f] += send_burst(fds[f], window - outstanding[f], size);
    }
    if (now >= next_sweep) {
      /* A window with no reply for STALL_NS is presumed lost and refilled. */
      next_sweep = now + STALL_NS / 10;
      for (int f = 0; f < flows; f++) {
        if (now - last_rx[f] <= STALL_NS || now >= end) continue;
        outstanding[f] = send_burst(fds[f], window, size);
        last_rx[f] = now;
      }
    }
  }
  double secs = (double)duration / 1e9;
  printf("{\"mode\":\"flood\",\"echoes\":%lld,\"seconds\":%.3f,\"rate\":%.1f,\"wrongLength\":%lld,\"flows\":%d,\"window\":%d,\"size\":%d}\n",
         echoes, secs, (double)echoes / secs, bad, flows, window, size);
  for (int f = 0; f < flows; f++) close(fds[f]);
  close(ep);
  return 0;
}

static int ping_pong(const struct sockaddr_in *to, int64_t duration, int64_t warmup, int size) {
  int fd = open_flow(to, 0);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t cap = 1 << 16, n = 0;
  int64_t *rtts = malloc(cap * sizeof *rtts);
  if (!rtts) return 2;
  long long lost = 0;
  uint64_t seq = 0;
  int64_t t0 = now_ns(), start = t0 + warmup, end = start + duration;
  for (;;) {
    int64_t a = now_ns();
    if (a >= end) break;
    seq++;
    memcpy(sendbuf, &seq, sizeof seq); /* a stale reply after a timeout is not taken for this one */
    if (send(fd, sendbuf, (size_t)size, 0) < 0) { lost++; continue; }
    for (;;) {
      ssize_t r = recv(fd, recvbufs[0], sizeof recvbufs[0], 0);
      if (r < 0) { if (a >= start) lost++; break; }
      uint64_t got;
      memcpy(&got, recvbufs[0], sizeof got);
      if (r != size || got != seq) continue;
      int64_t b = now_ns();
      if (a >= start) {
        if (n == cap) {
          cap *= 2;
          int64_t *grown = realloc(rtts, cap * sizeof *rtts);
          if (!grown) return 2;
          rtts = grown;
        }
        rtts[n++] = b - a;
      }
      break;
    }
  }
  qsort(rtts, n, sizeof *rtts, cmp64);
  double p50 = n ? (double)rtts[n / 2] / 1000.0 : -1, p99 = n ? (double)rtts[(size_t)((double)n * 0.99)] / 1000.0 : -1;
  printf("{\"mode\":\"ping-pong\",\"samples\":%zu,\"lost\":%lld,\"p50Us\":%.2f,\"p99Us\":%.2f,\"minUs\":%.2f,\"size\":%d}\n", n,
         lost, p50, p99, n ? (double)rtts[0] / 1000.0 : -1, size);
  free(rtts);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: gen-mmsg flood|ping-pong HOST PORT DURATION_MS WARMUP_MS FLOWS WINDOW SIZE\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
  if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[2]); return 2; }
  int64_t duration = atoll(argv[4]) * 1000000LL, warmup = atoll(argv[5]) * 1000000LL;
  int flows = atoi(argv[6]), window = atoi(argv[7]), size = atoi(argv[8]);
  if (duration <= 0 || warmup < 0 || flows < 1 || flows > MAXFLOWS || window < 1 || size < 8 || size > MAXSIZE) {
    fprintf(stderr, "gen-mmsg: bad arguments\n");
    return 2;
  }
  if (strcmp(argv[1], "flood") == 0) return flood(&to, duration, warmup, flows, window, size);
  if (strcmp(argv[1], "ping-pong") == 0) return ping_pong(&to, duration, warmup, size);
  fprintf(stderr, "gen-mmsg: mode must be flood or ping-pong\n");
  return 2;
}
