/*
 * The load probe codec (probe_codec.h): byte order, FNV-1a, the xorshift filler, and encoding and judging one
 * probe. Done in C so the load generator's JavaScript sees one row of numbers per reply instead of a buffer to
 * parse and check.
 */
#include "probe_codec.h"

#include <string.h>

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* A JavaScript number (a non-negative integer below 2^64) as the u64 the codec writes. */
static void put64(uint8_t *p, double v) {
  uint64_t u = v >= 18446744073709551616.0 ? 0 : v <= 0 ? 0 : (uint64_t)v;
  put32(p, (uint32_t)(u >> 32));
  put32(p + 4, (uint32_t)u);
}

static uint32_t fnv_bytes(uint32_t h, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x01000193u;
  }
  return h;
}

static uint32_t fnv_u32(uint32_t h, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) {
    h ^= (v >> s) & 0xff;
    h *= 0x01000193u;
  }
  return h;
}

/*
 * The filler seed of (run id, flow, seq) as fillerSeed() computes it from seq as a JavaScript number, continued
 * from the FNV state after run id and flow (ProbeFlow.seed_hash).
 */
static uint32_t filler_seed_from(uint32_t h, double seq) {
  uint32_t hi = 0, lo = 0;
  if (seq < 18446744073709551616.0) {
    uint64_t u = (uint64_t)seq;
    hi = (uint32_t)(u >> 32);
    lo = (uint32_t)u;
  }
  h = fnv_u32(h, hi);
  h = fnv_u32(h, lo);
  return h == 0 ? 0x9e3779b9u : h;
}

/* The same seed from scratch, for a probe of another flow or run. */
static uint32_t filler_seed(const uint8_t *run_id, uint32_t flow, double seq) {
  return filler_seed_from(fnv_u32(fnv_bytes(0x811c9dc5u, run_id, 8), flow), seq);
}

static inline uint32_t xs32(uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

static void filler_write(uint8_t *b, size_t start, size_t end, uint32_t x) {
  size_t i = start;
  for (; i + 4 <= end; i += 4) {
    x = xs32(x);
    put32(b + i, x);
  }
  if (i < end) {
    x = xs32(x);
    for (int s = 24; i < end; i++, s -= 8) b[i] = (uint8_t)(x >> s);
  }
}

/* 1 when b[start, end) is the filler stream of seed x. */
static int filler_ok(const uint8_t *b, size_t start, size_t end, uint32_t x) {
  size_t i = start;
  for (; i + 4 <= end; i += 4) {
    x = xs32(x);
    if (be32(b + i) != x) return 0;
  }
  if (i < end) {
    x = xs32(x);
    for (int s = 24; i < end; i++, s -= 8)
      if (b[i] != (uint8_t)(x >> s)) return 0;
  }
  return 1;
}

void probe_flow_init(ProbeFlow *f, const uint8_t run_id[8], uint32_t flow) {
  memcpy(f->run_id, run_id, 8);
  f->flow = flow;
  put32(f->prefix, PROBE_MAGIC);
  f->prefix[4] = PROBE_VERSION;
  f->prefix[5] = 0;
  f->prefix[6] = (uint8_t)(flow >> 8);
  f->prefix[7] = (uint8_t)flow;
  memcpy(f->prefix + 8, run_id, 8);
  f->prefix_hash = fnv_bytes(0x811c9dc5u, f->prefix, 16);
  f->seed_hash = fnv_u32(fnv_bytes(0x811c9dc5u, run_id, 8), flow);
}

void probe_encode(const ProbeFlow *f, uint8_t *b, double seq, double intended, double actual, uint32_t length) {
  memcpy(b, f->prefix, 16);
  put64(b + 16, seq);
  put64(b + 24, intended);
  put64(b + 32, actual);
  put32(b + 40, length);
  put32(b + 44, fnv_bytes(f->prefix_hash, b + 16, 28));
  filler_write(b, PROBE_HEADER, length, filler_seed_from(f->seed_hash, seq));
}

void probe_decode(const ProbeFlow *f, const uint8_t *b, size_t n, double *row, double t) {
  row[1] = row[2] = row[3] = row[4] = 0;
  row[5] = t;
  if (n < 4) {
    int prefix = n > 0;
    for (size_t i = 0; i < n; i++)
      if (b[i] != (uint8_t)(PROBE_MAGIC >> (24 - 8 * i))) prefix = 0;
    row[0] = prefix ? PS_TRUNCATED : PS_FOREIGN;
    return;
  }
  if (be32(b) != PROBE_MAGIC) { row[0] = PS_FOREIGN; return; }
  if (n < 5) { row[0] = PS_TRUNCATED; return; }
  if (b[4] != PROBE_VERSION) { row[0] = PS_FOREIGN; return; }
  if (n >= 16 && memcmp(b + 8, f->run_id, 8) != 0) { row[0] = PS_FOREIGN; return; }
  if (n < PROBE_HEADER) { row[0] = PS_TRUNCATED; return; }
  /* A probe of this flow (the usual case) hashes from the state after the prefix it shares. */
  int own = memcmp(b, f->prefix, 16) == 0;
  if (be32(b + 44) != (own ? fnv_bytes(f->prefix_hash, b + 16, 28) : fnv_bytes(0x811c9dc5u, b, 44))) {
    row[0] = PS_CORRUPTED;
    return;
  }
  uint32_t flow = ((uint32_t)b[6] << 8) | b[7];
  double seq = (double)be64(b + 16);
  uint32_t length = be32(b + 40);
  row[1] = flow;
  row[2] = seq;
  row[3] = (double)be64(b + 24);
  row[4] = (double)be64(b + 32);
  if (length < PROBE_HEADER) { row[0] = PS_CORRUPTED_HDR; return; }
  uint32_t seed = own ? filler_seed_from(f->seed_hash, seq) : filler_seed(b + 8, flow, seq);
  if (n < length) {
    row[0] = filler_ok(b, PROBE_HEADER, n, seed) ? PS_TRUNCATED_HDR : PS_CORRUPTED_HDR;
    return;
  }
  if (n > length || !filler_ok(b, PROBE_HEADER, n, seed)) { row[0] = PS_CORRUPTED_HDR; return; }
  row[0] = PS_PROBE;
}
