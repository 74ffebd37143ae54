/* A constant-rate sender in C: how precisely one thread on this machine keeps a schedule, the reference for
 * echolot's rate mode (its send lag).
 * Usage: rate-pacer HOST PORT DURATION_MS WARMUP_MS RATE SIZE
 *   One connected socket. Datagram k is intended at t0 + k / RATE; the loop spins on the clock and sends each
 *   as soon as it is due, reading whatever replies wait in between (never blocking). The send lag of a
 *   datagram is the time it was sent (taken just before the send call, as echolot stamps its probes) minus
 *   its intended time; the lags of the datagrams intended after WARMUP_MS, for DURATION_MS, are kept and
 *   their percentiles printed, rounded down to whole microseconds as echolot's histograms record them.
 * Prints one JSON line on stdout. Exit 2 on usage or socket errors. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXSIZE 65507

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double floor_at(const double *sorted, long n, double q) {
  long i = (long)(q * (double)n);
  if (i >= n) i = n - 1;
  return (double)(long)sorted[i];
}

static char sendbuf[MAXSIZE];
static char recvbuf[MAXSIZE + 1];

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: rate-pacer HOST PORT DURATION_MS WARMUP_MS RATE SIZE\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  double duration_ms = atof(argv[3]), warmup_ms = atof(argv[4]), rate = atof(argv[5]);
  int size = atoi(argv[6]);
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || duration_ms <= 0 || warmup_ms < 0 || rate <= 0 ||
      rate > 1e7 || size < 8 || size > MAXSIZE) {
    fprintf(stderr, "rate-pacer: bad arguments\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0 || connect(fd, (const struct sockaddr *)&to, sizeof to) < 0) {
    perror("socket/connect");
    return 2;
  }
  double period = 1e9 / rate;
  long first = (long)(warmup_ms * 1e6 / period), total = (long)((warmup_ms + duration_ms) * 1e6 / period);
  long kept = total - first;
  double *lags = malloc((size_t)(kept > 0 ? kept : 1) * sizeof *lags);
  if (lags == NULL || kept <= 0) {
    fprintf(stderr, "rate-pacer: nothing to measure\n");
    return 2;
  }
  long errors = 0, replies = 0;
  int64_t t0 = now_ns() + 10000000;
  for (long k = 0; k < total;) {
    int64_t due = t0 + (int64_t)((double)k * period), t = now_ns();
    if (t >= due) {
      /* Every datagram starts with its own number, as a real client's would. */
      memcpy(sendbuf, &k, sizeof k);
      if (k >= first) lags[k - first] = (double)(t - due) / 1e3;
      if (send(fd, sendbuf, (size_t)size, 0) < 0 && errno != EAGAIN) errors++;
      k++;
    }
    while (recv(fd, recvbuf, sizeof recvbuf, MSG_DONTWAIT) > 0) replies++;
  }
  qsort(lags, (size_t)kept, sizeof *lags, by_value);
  printf("{\"sent\":%ld,\"replies\":%ld,\"sendErrors\":%ld,\"lagP50Us\":%.0f,\"lagP99Us\":%.0f,\"lagP999Us\":%.0f,"
         "\"lagMaxUs\":%.0f}\n",
         total, replies, errors, floor_at(lags, kept, 0.5), floor_at(lags, kept, 0.99), floor_at(lags, kept, 0.999),
         floor_at(lags, kept, 1.0));
  free(lags);
  close(fd);
  return 0;
}
