/* Minimal UDP echo server batching with recvmmsg/sendmmsg: the machine's ceiling for one thread.
 * Usage: echo-mmsg [PORT [ADDRESS]]   (default port 0 = ephemeral, address 127.0.0.1)
 * Prints "listening on udp port N" once bound; runs until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define MAXLEN 65536

static char bufs[BATCH][MAXLEN];

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  const char *addr = argc > 2 ? argv[2] : "127.0.0.1";
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", addr); return 1; }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  printf("listening on udp port %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_in peers[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iovs[i].iov_base = bufs[i];
      iovs[i].iov_len = MAXLEN;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &peers[i];
      msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
    /* Block for the first datagram, then take whatever else is already queued. */
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++) iovs[i].iov_len = msgs[i].msg_len;
    int done = 0;
    while (done < n) {
      int m = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
      if (m <= 0) break; /* a send error drops the rest of the batch, as a lost datagram would */
      done += m;
    }
  }
}
