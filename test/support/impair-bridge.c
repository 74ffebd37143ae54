/*
 * impair-bridge: forwards Ethernet frames between two interfaces with AF_PACKET sockets and impairs
 * IPv4/IPv6 unicast frames on the way, per direction: loss, delay and jitter, duplication,
 * reordering. Every decision comes from one seed (xoshiro256** seeded by splitmix64, one stream
 * per direction, four draws per frame whatever the outcome), so a seed and a frame sequence give
 * the same decisions however the two directions interleave. Link control (ARP, neighbour
 * discovery, multicast and broadcast) passes at once and unimpaired: it is not part of the path
 * under test, and drawing for it would make the decisions depend on the kernel's timing.
 *
 * Usage: impair-bridge CLIENT-IF SERVER-IF SEED PARENT-PID [DIR.KEY=VALUE ...]
 *   DIR is to-server (frames read on CLIENT-IF), to-client or both; KEY is loss, dup or reorder
 *   (probabilities, 0..1) or delay-ms, jitter-ms or reorder-ms (the extra hold of a reordered
 *   frame, default 10).
 * stdin, one command a line: "stats" prints the counters; "set DIR.KEY=VALUE ..." changes the
 *   impairments (the PRNG streams go on). Each command gets exactly one line back, with "reply":N.
 * stdout: one JSON object a line, {"event":"ready"|"stats"|"set"|"exit", ...}.
 * SIGUSR1 prints the counters; SIGTERM, SIGINT, SIGHUP and the parent's death end it, printing
 * them once more. Memory is bounded: at most QUEUE_FRAMES frames and QUEUE_BYTES bytes are held.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define QUEUE_FRAMES 8192
#define QUEUE_BYTES (32u << 20)
/* A frame larger than an MTU can only be a GSO/GRO super-frame; it is counted as an error. */
#define RX_BUFFER 65600
/* Frames read from one socket before the other gets its turn. */
#define RX_BATCH 64
#define SOCKET_BUFFER (4 << 20)

enum { TO_SERVER = 0, TO_CLIENT = 1 };
static const char *const DIR_JSON[2] = {"toServer", "toClient"};

struct params {
  double loss, dup, reorder;
  double delay_ms, jitter_ms, reorder_ms;
};

struct counters {
  uint64_t seen, forwarded, dropped, duplicated, delayed, reordered;
  uint64_t overflow, errors, passed, checksummed, socket_drops;
};

struct held {
  uint64_t due, seq;
  unsigned char *data;
  uint32_t len;
  uint8_t dir;
};

static struct params params[2];
static struct counters counters[2];
static uint64_t rng[2][4];
static int sock[2];
static struct held heap[QUEUE_FRAMES];
static size_t heap_n, heap_bytes;
static uint64_t next_seq;
static unsigned char rxbuf[RX_BUFFER];

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("impair-bridge: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro(uint64_t *s) {
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double uniform(int dir) { return (double)(xoshiro(rng[dir]) >> 11) * 0x1.0p-53; }

static void seed_streams(uint64_t seed) {
  uint64_t s = seed;
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < 4; i++) rng[d][i] = splitmix64(&s);
}

/* ---- parameters ---- */

/* Applies one DIR.KEY=VALUE token to `p`; returns an error message or NULL. */
static const char *apply_token(struct params *p, const char *token) {
  const char *dot = strchr(token, '.');
  const char *eq = strchr(token, '=');
  if (!dot || !eq || eq < dot) return "expected DIR.KEY=VALUE";
  size_t dlen = (size_t)(dot - token);
  int dirs[2] = {0, 0};
  if (dlen == 9 && !strncmp(token, "to-server", dlen))
    dirs[TO_SERVER] = 1;
  else if (dlen == 9 && !strncmp(token, "to-client", dlen))
    dirs[TO_CLIENT] = 1;
  else if (dlen == 4 && !strncmp(token, "both", dlen))
    dirs[TO_SERVER] = dirs[TO_CLIENT] = 1;
  else
    return "direction must be to-server, to-client or both";
  char *end;
  errno = 0;
  double v = strtod(eq + 1, &end);
  if (errno || end == eq + 1 || *end || !(v >= 0) || v > 1e7) return "value must be a number >= 0";
  const char *key = dot + 1;
  size_t klen = (size_t)(eq - key);
  for (int d = 0; d < 2; d++) {
    if (!dirs[d]) continue;
    double *field;
    int probability = 1;
    if (klen == 4 && !strncmp(key, "loss", klen))
      field = &p[d].loss;
    else if (klen == 3 && !strncmp(key, "dup", klen))
      field = &p[d].dup;
    else if (klen == 7 && !strncmp(key, "reorder", klen))
      field = &p[d].reorder;
    else {
      probability = 0;
      if (klen == 8 && !strncmp(key, "delay-ms", klen))
        field = &p[d].delay_ms;
      else if (klen == 9 && !strncmp(key, "jitter-ms", klen))
        field = &p[d].jitter_ms;
      else if (klen == 10 && !strncmp(key, "reorder-ms", klen))
        field = &p[d].reorder_ms;
      else
        return "key must be loss, dup, reorder, delay-ms, jitter-ms or reorder-ms";
    }
    if (probability && v > 1) return "a probability must be within 0..1";
    *field = v;
  }
  return NULL;
}

/* Prints the impairments as one JSON line; `extra` is more members, verbatim ("" or ",..."). */
static void print_params(const char *event, const char *extra) {
  printf("{\"event\":\"%s\"%s", event, extra);
  for (int d = 0; d < 2; d++) {
    const struct params *p = &params[d];
    printf(",\"%s\":{\"loss\":%.15g,\"duplicate\":%.15g,\"reorder\":%.15g,\"delayMs\":%.15g,"
           "\"jitterMs\":%.15g,\"reorderMs\":%.15g}",
           DIR_JSON[d], p->loss, p->dup, p->reorder, p->delay_ms, p->jitter_ms, p->reorder_ms);
  }
  printf("}\n");
  fflush(stdout);
}

/* Prints the counters as one JSON line; `extra` as in print_params. */
static void print_stats(const char *event, const char *extra) {
  for (int d = 0; d < 2; d++) {
    /* The kernel resets these on every read, so they are summed here. */
    struct tpacket_stats st;
    socklen_t sl = sizeof st;
    if (getsockopt(sock[d], SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
      counters[d].socket_drops += st.tp_drops;
  }
  printf("{\"event\":\"%s\"%s", event, extra);
  for (int d = 0; d < 2; d++) {
    const struct counters *c = &counters[d];
    printf(",\"%s\":{\"seen\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"dropped\":%" PRIu64
           ",\"duplicated\":%" PRIu64 ",\"delayed\":%" PRIu64 ",\"reordered\":%" PRIu64
           ",\"overflow\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"passed\":%" PRIu64
           ",\"checksummed\":%" PRIu64 ",\"socketDrops\":%" PRIu64 "}",
           DIR_JSON[d], c->seen, c->forwarded, c->dropped, c->duplicated, c->delayed, c->reordered,
           c->overflow, c->errors, c->passed, c->checksummed, c->socket_drops);
  }
  printf(",\"queued\":%zu}\n", heap_n);
  fflush(stdout);
}

/* ---- checksums ---- */

static uint64_t sum16(const unsigned char *p, size_t n, uint64_t acc) {
  for (; n > 1; p += 2, n -= 2) acc += (uint64_t)(p[0] << 8 | p[1]);
  if (n) acc += (uint64_t)p[0] << 8;
  return acc;
}

/*
 * A frame sent by a local socket over a veth still carries a partial UDP/TCP checksum (the sender
 * left it to an offload that a veth never performs); the receiving stack would drop it as
 * corrupt once it arrives through a packet socket. Fills in the full checksum; returns 1 if it did.
 */
static int complete_checksum(unsigned char *f, size_t len) {
  if (len < ETH_HLEN) return 0;
  unsigned type = (unsigned)(f[12] << 8 | f[13]);
  unsigned char *l3 = f + ETH_HLEN;
  size_t l3len = len - ETH_HLEN, off, end;
  unsigned proto;
  uint64_t acc;
  if (type == ETH_P_IP) {
    if (l3len < 20) return 0;
    size_t ihl = (size_t)(l3[0] & 0xf) * 4;
    end = (size_t)(l3[2] << 8 | l3[3]);
    /* Fragments are never partial: the kernel completes the checksum before it fragments. */
    if (ihl < 20 || end > l3len || end < ihl || ((l3[6] << 8 | l3[7]) & 0x3fff)) return 0;
    proto = l3[9];
    off = ihl;
    acc = sum16(l3 + 12, 8, 0);
  } else if (type == ETH_P_IPV6) {
    if (l3len < 40) return 0;
    end = 40 + (size_t)(l3[4] << 8 | l3[5]);
    if (end > l3len) return 0;
    proto = l3[6];
    off = 40;
    while (proto == 0 || proto == 43 || proto == 60) { /* hop-by-hop, routing, destination options */
      if (off + 8 > end) return 0;
      proto = l3[off];
      off += ((size_t)l3[off + 1] + 1) * 8;
    }
    if (off > end) return 0;
    acc = sum16(l3 + 8, 32, 0);
  } else {
    return 0;
  }
  size_t l4len = end - off, field;
  if (proto == IPPROTO_UDP && l4len >= 8)
    field = 6;
  else if (proto == IPPROTO_TCP && l4len >= 20)
    field = 16;
  else
    return 0;
  unsigned char *l4 = l3 + off;
  l4[field] = l4[field + 1] = 0;
  acc += proto + l4len;
  acc = sum16(l4, l4len, acc);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  unsigned c = ~(unsigned)acc & 0xffff;
  if (c == 0 && proto == IPPROTO_UDP) c = 0xffff; /* 0 means "no checksum" in UDP */
  l4[field] = (unsigned char)(c >> 8);
  l4[field + 1] = (unsigned char)c;
  return 1;
}

/* IPv4 or IPv6 unicast that is not neighbour discovery: the traffic under test. */
static int impaired_class(const unsigned char *f, size_t len) {
  if (len < ETH_HLEN || (f[0] & 1)) return 0; /* group bit: multicast or broadcast */
  unsigned type = (unsigned)(f[12] << 8 | f[13]);
  if (type == ETH_P_IP) return 1;
  if (type != ETH_P_IPV6) return 0;
  /* ICMPv6 133..137: router and neighbour solicitation/advertisement, redirect. */
  if (len >= ETH_HLEN + 41 && f[ETH_HLEN + 6] == 58 && f[ETH_HLEN + 40] >= 133 && f[ETH_HLEN + 40] <= 137)
    return 0;
  return 1;
}

/* ---- the timer queue: a binary min-heap on (due, seq), so equal due times keep arrival order ---- */

static int earlier(const struct held *a, const struct held *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(struct held h) {
  size_t i = heap_n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(&h, &heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = h;
  heap_bytes += h.len;
}

static struct held heap_pop(void) {
  struct held top = heap[0], last = heap[--heap_n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= heap_n) break;
    if (c + 1 < heap_n && earlier(&heap[c + 1], &heap[c])) c++;
    if (!earlier(&heap[c], &last)) break;
    heap[i] = heap[c];
    i = c;
  }
  if (heap_n > 0) heap[i] = last;
  heap_bytes -= top.len;
  return top;
}

/* ---- forwarding ---- */

/* Writes a frame out of the far side of `dir`; counts it as forwarded (or an error) if `impaired`. */
static void emit(int dir, const unsigned char *f, size_t len, int impaired) {
  ssize_t n = send(sock[dir ^ 1], f, len, MSG_DONTWAIT);
  if (n == (ssize_t)len) {
    if (impaired) counters[dir].forwarded++;
  } else {
    counters[dir].errors++;
  }
}

static void release_due(uint64_t now) {
  while (heap_n > 0 && heap[0].due <= now) {
    struct held h = heap_pop();
    emit(h.dir, h.data, h.len, 1);
    free(h.data);
  }
}

static void handle_frame(int dir, unsigned char *f, size_t len, uint64_t now) {
  struct counters *c = &counters[dir];
  if (!impaired_class(f, len)) {
    c->passed++;
    emit(dir, f, len, 0);
    return;
  }
  c->seen++;
  const struct params *p = &params[dir];
  /* Always four draws, so frame i's decisions depend only on the seed and i. */
  double u_loss = uniform(dir), u_dup = uniform(dir), u_reorder = uniform(dir), u_jitter = uniform(dir);
  if (u_loss < p->loss) {
    c->dropped++;
    return;
  }
  int copies = u_dup < p->dup ? 2 : 1;
  double ms = p->delay_ms + (2 * u_jitter - 1) * p->jitter_ms;
  if (ms < 0) ms = 0;
  int reordered = u_reorder < p->reorder;
  if (reordered) ms += p->reorder_ms;
  uint64_t delay = (uint64_t)(ms * 1e6);
  if (delay == 0) {
    if (copies == 2) c->duplicated++;
    for (int i = 0; i < copies; i++) emit(dir, f, len, 1);
    return;
  }
  if (heap_n + (size_t)copies > QUEUE_FRAMES || heap_bytes + (size_t)copies * len > QUEUE_BYTES) {
    c->overflow++;
    return;
  }
  if (copies == 2) c->duplicated++;
  c->delayed++;
  if (reordered) c->reordered++;
  for (int i = 0; i < copies; i++) {
    unsigned char *data = malloc(len);
    if (!data) {
      c->overflow++;
      return;
    }
    memcpy(data, f, len);
    heap_push((struct held){
        .due = now + delay, .seq = next_seq++, .data = data, .len = (uint32_t)len, .dir = (uint8_t)dir});
  }
}

static void read_socket(int dir) {
  for (int i = 0; i < RX_BATCH; i++) {
    struct sockaddr_ll from;
    struct iovec iov = {.iov_base = rxbuf, .iov_len = sizeof rxbuf};
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = control.b, .msg_controllen = sizeof control.b};
    ssize_t n = recvmsg(sock[dir], &m, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) counters[dir].errors++;
      return;
    }
    /* Only kernels without PACKET_IGNORE_OUTGOING show us our own output. */
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if ((size_t)n > sizeof rxbuf) {
      counters[dir].errors++;
      continue;
    }
    int partial = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
      if (cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) {
        struct tpacket_auxdata aux;
        memcpy(&aux, CMSG_DATA(cm), sizeof aux);
        partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
      }
    }
    if (partial && complete_checksum(rxbuf, (size_t)n)) counters[dir].checksummed++;
    handle_frame(dir, rxbuf, (size_t)n, now_ns());
  }
}

static int open_port(const char *ifname) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx) die("no interface %s: %s", ifname, strerror(errno));
  /* Protocol 0 until bound: a socket opened on ETH_P_ALL would first see every interface's frames. */
  int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket(AF_PACKET): %s", strerror(errno));
  int one = 1, size = SOCKET_BUFFER;
  if (setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0)
    die("PACKET_AUXDATA: %s", strerror(errno));
  /* Without it, our own output on this interface would be read back (then skipped by sll_pkttype). */
  (void)setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(s, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  /* Frames for the far side's MAC address must reach us too. */
  struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
  if (setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
    die("promiscuous %s: %s", ifname, strerror(errno));
  struct sockaddr_ll sll = {
      .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
  if (bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind %s: %s", ifname, strerror(errno));
  return s;
}

/*
 * Handles one stdin line. Every command gets exactly one line back, numbered by "reply" (1, 2, ...),
 * so that a reader tells answers from the lines SIGUSR1 prints in between.
 */
static void command(char *line) {
  static uint64_t replies;
  char *save, *word = strtok_r(line, " \t\r", &save);
  if (!word) return;
  char reply[40];
  snprintf(reply, sizeof reply, ",\"reply\":%" PRIu64, ++replies);
  if (!strcmp(word, "stats")) {
    print_stats("stats", reply);
  } else if (!strcmp(word, "set")) {
    struct params next[2] = {params[0], params[1]};
    const char *err = NULL;
    char *token;
    while (!err && (token = strtok_r(NULL, " \t\r", &save))) err = apply_token(next, token);
    if (err) {
      printf("{\"event\":\"set\"%s,\"error\":\"%s\"}\n", reply, err);
      fflush(stdout);
    } else {
      memcpy(params, next, sizeof params);
      print_params("set", reply);
    }
  } else {
    printf("{\"event\":\"error\"%s,\"error\":\"unknown command\"}\n", reply);
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) die("usage: impair-bridge CLIENT-IF SERVER-IF SEED PARENT-PID [DIR.KEY=VALUE ...]");
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) die("sigprocmask: %s", strerror(errno));
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd: %s", strerror(errno));
  /* After the mask, so the signal lands in the signalfd; then checked, in case the parent is gone already. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) die("PR_SET_PDEATHSIG: %s", strerror(errno));
  char *end;
  long parent = strtol(argv[4], &end, 10);
  if (*end || parent <= 0) die("bad parent pid %s", argv[4]);
  if (getppid() != (pid_t)parent) die("parent %ld is gone", parent);

  errno = 0;
  uint64_t seed = strtoull(argv[3], &end, 10);
  if (errno || *end || end == argv[3]) die("bad seed %s", argv[3]);
  seed_streams(seed);
  for (int d = 0; d < 2; d++) params[d].reorder_ms = 10;
  for (int i = 5; i < argc; i++) {
    const char *err = apply_token(params, argv[i]);
    if (err) die("%s: %s", argv[i], err);
  }
  sock[TO_SERVER] = open_port(argv[1]);
  sock[TO_CLIENT] = open_port(argv[2]);

  char ready[160];
  snprintf(ready, sizeof ready, ",\"seed\":%" PRIu64 ",\"pid\":%ld", seed, (long)getpid());
  print_params("ready", ready);

  struct pollfd fds[4] = {
      {.fd = sock[TO_SERVER], .events = POLLIN},
      {.fd = sock[TO_CLIENT], .events = POLLIN},
      {.fd = sfd, .events = POLLIN},
      {.fd = STDIN_FILENO, .events = POLLIN},
  };
  char line[4096];
  size_t line_len = 0;
  int running = 1;
  while (running) {
    uint64_t now = now_ns();
    release_due(now);
    struct timespec ts, *timeout = NULL;
    if (heap_n > 0) {
      uint64_t wait = heap[0].due - now;
      ts.tv_sec = (time_t)(wait / 1000000000u);
      ts.tv_nsec = (long)(wait % 1000000000u);
      timeout = &ts;
    }
    if (ppoll(fds, 4, timeout, NULL) < 0) {
      if (errno == EINTR) continue;
      die("ppoll: %s", strerror(errno));
    }
    if (fds[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1)
          print_stats("stats", "");
        else
          running = 0;
      }
    }
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(STDIN_FILENO, line + line_len, sizeof line - 1 - line_len);
      if (n <= 0) {
        /* No more commands (stdin closed or /dev/null); the bridge goes on until signalled. */
        fds[3].fd = -1;
      } else {
        line_len += (size_t)n;
        char *start = line, *nl;
        while ((nl = memchr(start, '\n', line_len - (size_t)(start - line)))) {
          *nl = 0;
          command(start);
          start = nl + 1;
        }
        line_len -= (size_t)(start - line);
        memmove(line, start, line_len);
        if (line_len == sizeof line - 1) line_len = 0; /* an endless line: drop it */
      }
    }
    for (int d = 0; d < 2; d++)
      if (fds[d].revents & POLLIN) read_socket(d);
  }
  print_stats("exit", "");
  return 0;
}
