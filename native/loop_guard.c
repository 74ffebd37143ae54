/*
 * The loop guard of echo sockets (reference-server/loop-guard.ts explains it; the node:dgram path runs that
 * file, this is the same rule in C): a datagram that the same peer has sent more than LOOP_REPEATS times
 * in a row, each within LOOP_GAP_NS of the previous one, is the next step of an echo loop between two
 * servers and is dropped. One fixed table per thread, shared by its echo sockets (the key includes the
 * socket's own port): a keyed hash of peer and payload picks the slot; a slot seen within the gap is never
 * taken over, so payloads that share a slot cannot keep resetting each other's streaks.
 */
#include "echolot_io.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct LoopSlot {
  uint32_t tag;
  uint32_t streak;
  uint64_t last_ns; /* 0 = never: older than any gap (uv_hrtime counts from boot) */
} LoopSlot;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Murmur3's 64-bit finaliser. */
static inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* A keyed hash of every byte: four independent lanes of 64-bit words (a few GB/s), then the tail. */
static uint64_t payload_hash(const uint8_t *p, size_t n, uint64_t seed) {
  const uint64_t k1 = 0x87c37b91114253d5ull, k2 = 0x4cf5ad432745937full;
  uint64_t a = seed ^ n, b = seed + k1, c = seed ^ k2, d = rotl(seed, 17) + k2;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = rotl((a ^ load64(p + i)) * k1, 31);
    b = rotl((b ^ load64(p + i + 8)) * k2, 29);
    c = rotl((c ^ load64(p + i + 16)) * k1, 27);
    d = rotl((d ^ load64(p + i + 24)) * k2, 33);
  }
  for (; i + 8 <= n; i += 8) a = rotl((a ^ load64(p + i)) * k1, 31);
  uint64_t tail = 0;
  for (size_t k = 0; i + k < n; k++) tail |= (uint64_t)p[i + k] << (8 * k);
  a = rotl((a ^ tail) * k2, 31);
  return fmix64(a ^ fmix64(b) ^ rotl(fmix64(c), 21) ^ rotl(fmix64(d), 43));
}

/* Allocates this thread's table (once); 0 on success. */
int loop_guard_init(Shared *sh) {
  if (sh->loops != NULL) return 0;
  sh->loops = calloc(LOOP_SLOTS, sizeof(LoopSlot));
  if (sh->loops == NULL) return -1;
  /* A key the sender cannot guess: otherwise payloads could be chosen to share one slot. */
  if (getrandom(&sh->loop_seed, sizeof sh->loop_seed, GRND_NONBLOCK) != (ssize_t)sizeof sh->loop_seed) {
    sh->loop_seed = fmix64(uv_hrtime() ^ (uint64_t)(uintptr_t)sh->loops);
  }
  return 0;
}

void loop_guard_free(Shared *sh) {
  free(sh->loops);
  sh->loops = NULL;
}

/*
 * Whether datagram `data` (len bytes) from src:port (family 4 or 6), received on a socket bound to own_port
 * at now_ns, continues an echo loop: 1 = drop it. Called only for datagrams that would otherwise be answered.
 */
int loop_guard_drop(Shared *sh, int own_port, int family, const uint8_t *src, int port, const uint8_t *data,
                    size_t len, uint64_t now_ns) {
  uint64_t seed = sh->loop_seed;
  uint64_t h = payload_hash(data, len, seed);
  uint64_t peer;
  if (family == 4) {
    uint32_t v4;
    memcpy(&v4, src, 4); /* the other 12 bytes of an IPv4 source are not cleared */
    peer = (uint64_t)v4 * 0x9e3779b97f4a7c15ull;
  } else {
    peer = load64(src) * 0x9e3779b97f4a7c15ull ^ rotl(load64(src + 8), 32);
  }
  peer ^= ((uint64_t)(uint32_t)port << 32) | ((uint64_t)(uint32_t)own_port << 8) | (uint64_t)(family & 0xff);
  uint64_t key = fmix64(h ^ fmix64(peer ^ seed));
  LoopSlot *e = &((LoopSlot *)sh->loops)[key & (LOOP_SLOTS - 1)];
  uint32_t tag = (uint32_t)(key >> 32) | 1u;
  int recent = e->last_ns != 0 && now_ns - e->last_ns <= LOOP_GAP_NS;
  if (e->tag == tag) {
    e->streak = recent ? (e->streak < 255 ? e->streak + 1 : 255) : 1;
  } else if (!recent) {
    e->tag = tag;
    e->streak = 1;
  } else {
    return 0; /* held by another peer or payload seen within the gap: untracked (answered) for now */
  }
  e->last_ns = now_ns;
  return e->streak > LOOP_REPEATS;
}
