/*
 * The load generator's per-datagram accounting in C (the Tally class): what harness/load/accounting.ts,
 * counters.ts and latency.ts compute per probe sent and per reply, computed here as the probe group drains
 * its sockets and as probes are sent, so that JavaScript reads a snapshot per interval instead of a row per
 * reply. The two must agree number for number: the same double arithmetic in the same order, and latency
 * histograms counted by hdr-histogram-js's own counts index (lowest discernible value 1, highest trackable
 * HIST_HIGHEST_US), which JavaScript copies into hdr-histogram-js histograms of the same configuration
 * (LatencyRecorder.addCounts). test/unit/native-tally.test.ts and test/integration/load-engine.test.ts hold
 * the two paths to each other.
 */
#include "echolot_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* HIGHEST_TRACKABLE_US of harness/load/latency.ts: 60 s. */
#define HIST_HIGHEST_US 60000000.0
/* CHECKPOINT of counters.ts: sequence numbers between two settle points of the per-sequence state. */
#define CHECKPOINT 1024.0
/* FlowCounters' ANSWERED bit (the RELEASED bit is window bookkeeping, kept in client_group.c). */
#define ANSWERED 1
#define TALLY_MAGIC 0x54414c59u

/* What a reply is (accounting.ts replyKind). */
enum { K_NOT_COUNTED, K_FIRST, K_AGAIN, K_SETTLED };
/* The collect() stream's record kinds and histogram names. */
enum { R_HIST = 1, R_SERIES = 2, R_FLOW = 3 };
enum { H_RESPONSE, H_SERVICE, H_SEND_LAG, H_SERIES };

/* One latency histogram: counts by HDR counts index, plus the exact moments of LatencyRecorder. */
typedef struct {
  int half_mag; /* HDR's subBucketHalfCountMagnitude for the digits */
  uint32_t len;
  uint64_t *counts; /* NULL until the first value */
  uint32_t lo_i, hi_i; /* the touched index range since the last collect (lo_i > hi_i: none) */
  double n, lo, hi, sum, sumsq;
} Hist;

/* A growable list of numbers with a dropped front, three columns pushed and dropped together. */
typedef struct {
  double *a, *b, *c;
  uint32_t head, len, cap;
} Lists;

/* One flow's counters and per-sequence state (FlowCounters). */
typedef struct FlowTally {
  uint32_t flow;
  double c[TALLY_FLOW_COUNT];
  uint8_t *state;
  uint64_t mask, base, top;
  Lists check;   /* a: checkpoint sequence, b: its send time */
  Lists records; /* a: record setter sequence, b: its arrival index, c: its intended send time */
  double next_exp, arrivals, last_transit;
  int have_transit;
} FlowTally;

/* One interval bucket of the series (IntervalSeries), counted since the last collect. */
typedef struct {
  double sent, received, unique;
  int touched;
  Hist lat;
} Bucket;

typedef struct Tally {
  uint32_t magic;
  double start, end, late_ns, keep_ns, interval_ns;
  /* JavaScript's clock minus uv_hrtime: receive times go on the clock of the probes' send times. */
  double offset;
  int closed_loop;
  double *live; /* TALLY_LIVE_*: read by JavaScript at any time */
  napi_ref live_ref;
  Hist hist[3];
  Bucket *buckets;
  uint32_t nbuckets;
  FlowTally **flows;
  uint32_t nflows, flows_cap;
  /* Held by a data plane's thread while it accounts (plane.c); JavaScript's reads take it too. NULL = none. */
  pthread_mutex_t *lock;
} Tally;

static int half_mag_of(int digits) {
  double largest = 2 * floor(pow(10, digits));
  int m = 0;
  while ((double)(1u << m) < largest) m++;
  return (m < 1 ? 1 : m) - 1;
}

/* HDR's counts index of integer value v (LatencyRecorder.indexOf). */
static inline uint32_t hist_index(int hm, uint32_t v) {
  int bucket = v == 0 ? 0 : 31 - __builtin_clz(v) - hm;
  if (bucket < 0) bucket = 0;
  return ((uint32_t)(bucket + 1) << hm) + (v >> bucket) - (1u << hm);
}

static void hist_init(Hist *h, int digits) {
  memset(h, 0, sizeof *h);
  h->half_mag = half_mag_of(digits);
  h->len = hist_index(h->half_mag, (uint32_t)HIST_HIGHEST_US) + 1;
  h->lo_i = UINT32_MAX;
  h->lo = INFINITY;
}

/* JavaScript's Math.round for a non-negative number. */
static inline double js_round(double v) {
  double r = floor(v);
  return v - r >= 0.5 ? r + 1 : r;
}

/* LatencyRecorder.record: one value in us (negative counts as 0, above 60 s as 60 s); -1 when out of memory. */
static int hist_record(Hist *h, double us) {
  if (h->counts == NULL) {
    h->counts = calloc(h->len, sizeof *h->counts);
    if (h->counts == NULL) return -1;
  }
  double v = us < 0 ? 0 : us > HIST_HIGHEST_US ? HIST_HIGHEST_US : us;
  uint32_t i = hist_index(h->half_mag, (uint32_t)js_round(v));
  h->counts[i]++;
  if (i < h->lo_i) h->lo_i = i;
  if (i > h->hi_i) h->hi_i = i;
  h->n++;
  if (v < h->lo) h->lo = v;
  if (v > h->hi) h->hi = v;
  h->sum += v;
  h->sumsq += v * v;
  return 0;
}

static int lists_push(Lists *l, int cols, double a, double b, double c) {
  if (l->len == l->cap) {
    uint32_t live = l->len - l->head;
    if (l->cap == 0 || live * 2 > l->cap) {
      uint32_t cap = l->cap ? l->cap * 2 : 1024;
      double *na = malloc(cap * sizeof *na), *nb = malloc(cap * sizeof *nb), *nc = cols > 2 ? malloc(cap * sizeof *nc) : NULL;
      if (na == NULL || nb == NULL || (cols > 2 && nc == NULL)) {
        free(na);
        free(nb);
        free(nc);
        return -1;
      }
      if (live > 0) {
        memcpy(na, l->a + l->head, live * sizeof *na);
        memcpy(nb, l->b + l->head, live * sizeof *nb);
        if (cols > 2) memcpy(nc, l->c + l->head, live * sizeof *nc);
      }
      free(l->a);
      free(l->b);
      free(l->c);
      l->a = na;
      l->b = nb;
      l->c = nc;
      l->cap = cap;
    } else {
      memmove(l->a, l->a + l->head, live * sizeof *l->a);
      memmove(l->b, l->b + l->head, live * sizeof *l->b);
      if (cols > 2) memmove(l->c, l->c + l->head, live * sizeof *l->c);
    }
    l->len = live;
    l->head = 0;
  }
  l->a[l->len] = a;
  l->b[l->len] = b;
  if (cols > 2) l->c[l->len] = c;
  l->len++;
  return 0;
}

static void lists_free(Lists *l) {
  free(l->a);
  free(l->b);
  free(l->c);
  memset(l, 0, sizeof *l);
}

/* FlowCounters.ensure: room for sequences up to seq, sent at `at`; settles what was sent more than keep_ns before. */
static void flow_ensure(FlowTally *f, uint64_t seq, double at, double keep_ns) {
  if (seq < f->top) return;
  uint64_t old_top = f->top;
  uint64_t cp = (uint64_t)CHECKPOINT;
  for (uint64_t k = (f->top + cp - 1) / cp * cp; k <= seq; k += cp) lists_push(&f->check, 2, (double)k, at, 0);
  f->top = seq + 1;
  uint64_t size = f->mask + 1;
  if (f->top - f->base <= size) return;
  double horizon = at - keep_ns;
  uint64_t settle = f->base;
  Lists *c = &f->check;
  while (c->head < c->len && c->b[c->head] < horizon) {
    if ((uint64_t)c->a[c->head] > settle) settle = (uint64_t)c->a[c->head];
    c->head++;
  }
  for (uint64_t q = f->base; q < settle; q++) f->state[q & f->mask] = 0;
  f->base = settle;
  if (f->top - f->base <= size) return;
  uint64_t n = size * 2;
  while (n < f->top - f->base) n *= 2;
  uint8_t *bigger = calloc(n, 1);
  if (bigger == NULL) return; /* out of memory: the old ring stays (aliasing marks, not a crash) */
  for (uint64_t q = f->base; q < old_top; q++) bigger[q & (n - 1)] = f->state[q & f->mask];
  free(f->state);
  f->state = bigger;
  f->mask = n - 1;
}

/* FlowCounters.noteArrival (RFC 4737) for a unique, measured arrival. */
static void flow_arrival(FlowTally *f, double seq, double intended, double horizon) {
  double index = f->arrivals++;
  Lists *r = &f->records;
  while (r->head + 1 < r->len && r->c[r->head] < horizon) r->head++;
  if (seq >= f->next_exp) {
    f->next_exp = seq + 1;
    lists_push(r, 3, seq, index, intended);
    return;
  }
  f->c[TF_REORDERED]++;
  uint32_t lo = r->head, hi = r->len - 1;
  while (lo < hi) {
    uint32_t mid = (lo + hi) >> 1;
    if (r->a[mid] > seq) hi = mid;
    else lo = mid + 1;
  }
  double extent = index - r->b[lo];
  if (extent > f->c[TF_REORDER_EXTENT_MAX]) f->c[TF_REORDER_EXTENT_MAX] = extent;
}

/* FlowCounters.noteTransit (RFC 3550 interarrival jitter). */
static void flow_transit(FlowTally *f, double sent, double received) {
  double transit = received - sent;
  if (f->have_transit) {
    double d = fabs(transit - f->last_transit);
    f->c[TF_JITTER_NS] += (d - f->c[TF_JITTER_NS]) / 16;
    f->c[TF_JITTER_SAMPLES]++;
  }
  f->last_transit = transit;
  f->have_transit = 1;
}

static inline int measured(const Tally *t, double intended) { return intended >= t->start && intended < t->end; }

/* IntervalSeries.bucketOf, growing the buckets; NULL when out of memory. */
static Bucket *bucket_at(Tally *t, double offset_ns) {
  double b = floor(offset_ns / t->interval_ns);
  uint32_t i = b > 0 ? (uint32_t)b : 0;
  if (i >= t->nbuckets) {
    uint32_t n = t->nbuckets ? t->nbuckets : 16;
    while (n <= i) n *= 2;
    Bucket *grown = realloc(t->buckets, n * sizeof *grown);
    if (grown == NULL) return NULL;
    for (uint32_t k = t->nbuckets; k < n; k++) {
      memset(&grown[k], 0, sizeof grown[k]);
      hist_init(&grown[k].lat, 2);
    }
    t->buckets = grown;
    t->nbuckets = n;
  }
  Bucket *bk = &t->buckets[i];
  bk->touched = 1;
  return bk;
}

void tally_sent(Tally *t, FlowTally *f, double seq, double intended, double actual) {
  flow_ensure(f, (uint64_t)seq, intended, t->keep_ns);
  if (!measured(t, intended)) return;
  f->c[TF_SENT]++;
  t->live[TALLY_LIVE_OUTSTANDING]++;
  if (t->closed_loop) t->live[TALLY_LIVE_ZERO_LAGS]++;
  else hist_record(&t->hist[H_SEND_LAG], (actual - intended) / 1000);
  Bucket *b = bucket_at(t, intended - t->start);
  if (b != NULL) b->sent++;
}

void tally_reply(Tally *t, FlowTally *f, const double *row) {
  double at = row[5] + t->offset;
  int status = (int)row[0];
  double *c = f->c;
  if (status == PS_FOREIGN) {
    c[TF_FOREIGN]++;
    return;
  }
  if (status == PS_TRUNCATED || status == PS_CORRUPTED) {
    c[status == PS_TRUNCATED ? TF_TRUNCATED : TF_CORRUPTED]++;
    return;
  }
  double seq = row[2];
  if (row[1] != f->flow || seq >= (double)f->top) {
    c[TF_FOREIGN]++;
    return;
  }
  int kind;
  uint64_t q = (uint64_t)seq;
  if (q < f->base) {
    kind = K_SETTLED;
  } else {
    uint8_t *s = &f->state[q & f->mask];
    kind = (*s & ANSWERED) ? K_AGAIN : K_FIRST;
    *s |= ANSWERED;
  }
  double intended = row[3], actual = row[4];
  if (!measured(t, intended)) return;
  Bucket *b = bucket_at(t, intended - t->start);
  c[TF_RECEIVED]++;
  if (b != NULL) b->received++;
  if (kind == K_FIRST) {
    t->live[TALLY_LIVE_OUTSTANDING]--;
    t->live[TALLY_LIVE_LAST_ANSWER] = at;
  }
  if (status != PS_PROBE) {
    c[status == PS_TRUNCATED_HDR ? TF_TRUNCATED : TF_CORRUPTED]++;
    return;
  }
  if (kind == K_SETTLED) {
    c[TF_LATE]++;
    return;
  }
  if (kind != K_FIRST) {
    c[TF_DUPLICATES]++;
    return;
  }
  double response_ns = at - intended;
  if (response_ns > t->late_ns) {
    c[TF_LATE]++;
    return;
  }
  c[TF_UNIQUE]++;
  double response_us = response_ns / 1000;
  hist_record(&t->hist[H_RESPONSE], response_us);
  if (!t->closed_loop) hist_record(&t->hist[H_SERVICE], (at - actual) / 1000);
  if (b != NULL) {
    b->unique++;
    hist_record(&b->lat, response_us);
  }
  flow_arrival(f, seq, intended, at - t->late_ns);
  flow_transit(f, actual, at);
}

FlowTally *tally_attach(Tally *t, uint32_t flow) {
  if (t->nflows == t->flows_cap) {
    uint32_t cap = t->flows_cap ? t->flows_cap * 2 : 16;
    FlowTally **grown = realloc(t->flows, cap * sizeof *grown);
    if (grown == NULL) return NULL;
    t->flows = grown;
    t->flows_cap = cap;
  }
  FlowTally *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->state = calloc(4096, 1);
  if (f->state == NULL) {
    free(f);
    return NULL;
  }
  f->mask = 4095;
  f->flow = flow;
  t->flows[t->nflows++] = f;
  return f;
}

/* A growable stream of numbers (collect's result). */
typedef struct {
  double *d;
  size_t n, cap;
  int failed;
} Out;

static void out_put(Out *o, double v) {
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 1024;
    double *grown = realloc(o->d, cap * sizeof *grown);
    if (grown == NULL) {
      o->failed = 1;
      return;
    }
    o->d = grown;
    o->cap = cap;
  }
  o->d[o->n++] = v;
}

/* A histogram's record: [R_HIST, which, bucket, n, lo, hi, sum, sumsq, pairs, (index, count) x pairs]; the counts
 * since the last collect, which are cleared. */
static void out_hist(Out *o, Hist *h, int which, double bucket) {
  out_put(o, R_HIST);
  out_put(o, which);
  out_put(o, bucket);
  out_put(o, h->n);
  out_put(o, h->lo);
  out_put(o, h->hi);
  out_put(o, h->sum);
  out_put(o, h->sumsq);
  size_t at = o->n;
  out_put(o, 0);
  double pairs = 0;
  if (h->counts != NULL && h->lo_i <= h->hi_i) {
    for (uint32_t i = h->lo_i; i <= h->hi_i; i++) {
      if (h->counts[i] == 0) continue;
      out_put(o, i);
      out_put(o, (double)h->counts[i]);
      h->counts[i] = 0;
      pairs++;
    }
  }
  if (!o->failed) o->d[at] = pairs;
  h->lo_i = UINT32_MAX;
  h->hi_i = 0;
}

static Tally *unwrap_tally(napi_env env, napi_value v) {
  Tally *t = NULL;
  if (napi_unwrap(env, v, (void **)&t) != napi_ok || t == NULL || t->magic != TALLY_MAGIC) return NULL;
  return t;
}

static Tally *this_tally(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  Tally *t = unwrap_tally(env, self);
  if (t == NULL) throw_msg(env, "not a Tally");
  return t;
}

Tally *tally_of(napi_env env, napi_value v) { return unwrap_tally(env, v); }

/* JavaScript's clock minus uv_hrtime (the caller's clock of the Tally). */
double tally_offset(const Tally *t) { return t->offset; }

/* While a data plane's thread accounts in t, its lock guards t (NULL: back on Node's thread alone). */
void tally_lock(Tally *t, pthread_mutex_t *mu) { t->lock = mu; }

static void lock(Tally *t) {
  if (t->lock != NULL) pthread_mutex_lock(t->lock);
}

static void unlock(Tally *t) {
  if (t->lock != NULL) pthread_mutex_unlock(t->lock);
}

static void finalize_tally(napi_env env, void *data, void *hint) {
  (void)hint;
  Tally *t = data;
  for (int k = 0; k < 3; k++) free(t->hist[k].counts);
  for (uint32_t i = 0; i < t->nbuckets; i++) free(t->buckets[i].lat.counts);
  free(t->buckets);
  for (uint32_t i = 0; i < t->nflows; i++) {
    FlowTally *f = t->flows[i];
    free(f->state);
    lists_free(&f->check);
    lists_free(&f->records);
    free(f);
  }
  free(t->flows);
  if (t->live_ref != NULL) napi_delete_reference(env, t->live_ref);
  t->magic = 0;
  free(t);
}

/*
 * new Tally(intervalNs, lateBoundNs, keepNs, closedLoop, clockOffsetNs): the accounting of one share of a load
 * run, fed by the probe clients that name it in startProbeClient; times on the caller's clock, uv_hrtime +
 * clockOffsetNs. Until measure() nothing is measured (the per-sequence state is still kept).
 */
static napi_value tally_new(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 5) return throw_msg(env, "Tally needs intervalNs, lateBoundNs, keepNs, closedLoop, clockOffsetNs");
  double interval, late, keep, offset;
  bool closed;
  CHECK(napi_get_value_double(env, argv[0], &interval));
  CHECK(napi_get_value_double(env, argv[1], &late));
  CHECK(napi_get_value_double(env, argv[2], &keep));
  CHECK(napi_get_value_bool(env, argv[3], &closed));
  CHECK(napi_get_value_double(env, argv[4], &offset));
  if (!(interval > 0)) return throw_msg(env, "intervalNs must be positive");
  Tally *t = calloc(1, sizeof *t);
  if (t == NULL) return throw_msg(env, "out of memory");
  t->magic = TALLY_MAGIC;
  t->start = INFINITY;
  t->end = -INFINITY;
  t->interval_ns = interval;
  t->late_ns = late;
  t->keep_ns = keep;
  t->closed_loop = closed;
  t->offset = offset;
  for (int k = 0; k < 3; k++) hist_init(&t->hist[k], 3);
  void *mem;
  if (typed(env, napi_float64_array, TALLY_LIVE_COUNT, 8, &mem, &t->live_ref) == NULL) {
    free(t);
    return NULL;
  }
  t->live = mem;
  if (napi_wrap(env, self, t, finalize_tally, NULL, NULL) != napi_ok) {
    napi_delete_reference(env, t->live_ref);
    free(t);
    return NULL;
  }
  return self;
}

/* measure(startNs, endNs): probes intended in [startNs, endNs) are the measurement. */
static napi_value tally_measure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Tally *t = this_tally(env, info, &argc, argv);
  if (t == NULL) return NULL;
  double start, end;
  CHECK(napi_get_value_double(env, argv[0], &start));
  CHECK(napi_get_value_double(env, argv[1], &end));
  lock(t);
  t->start = start;
  t->end = end;
  unlock(t);
  return NULL;
}

/* live() -> Float64Array(TALLY_LIVE_COUNT): outstanding, last first answer's time, zero lags; current at any time. */
static napi_value tally_live(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Tally *t = this_tally(env, info, &argc, NULL);
  if (t == NULL) return NULL;
  napi_value v;
  CHECK(napi_get_reference_value(env, t->live_ref, &v));
  return v;
}

/*
 * collect() -> Float64Array: what was counted since the last collect, as records. [R_HIST, which, bucket, n, lo, hi,
 * sum, sumsq, pairs, (counts index, count) x pairs]: the histogram's new counts; its moments are the running
 * totals for H_RESPONSE, H_SERVICE and H_SEND_LAG, and since the last collect for H_SERIES (bucket `bucket`).
 * [R_SERIES, bucket, sent, received, unique]: since the last collect. [R_FLOW, flow, TALLY_FLOW_COUNT numbers]:
 * each flow's running counters.
 */
static napi_value tally_collect(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Tally *t = this_tally(env, info, &argc, NULL);
  if (t == NULL) return NULL;
  Out o = {0};
  lock(t);
  for (int k = 0; k < 3; k++) out_hist(&o, &t->hist[k], k, 0);
  for (uint32_t i = 0; i < t->nbuckets; i++) {
    Bucket *b = &t->buckets[i];
    if (!b->touched) continue;
    out_put(&o, R_SERIES);
    out_put(&o, i);
    out_put(&o, b->sent);
    out_put(&o, b->received);
    out_put(&o, b->unique);
    if (b->lat.n > 0) out_hist(&o, &b->lat, H_SERIES, i);
    /* A collected bucket keeps no histogram memory: a long run's buckets cost nothing once read. */
    free(b->lat.counts);
    hist_init(&b->lat, 2);
    b->sent = b->received = b->unique = 0;
    b->touched = 0;
  }
  for (uint32_t i = 0; i < t->nflows; i++) {
    FlowTally *f = t->flows[i];
    out_put(&o, R_FLOW);
    out_put(&o, f->flow);
    for (int k = 0; k < TALLY_FLOW_COUNT; k++) out_put(&o, f->c[k]);
  }
  unlock(t);
  if (o.failed) {
    free(o.d);
    return throw_msg(env, "out of memory");
  }
  void *mem;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, o.n * sizeof(double), &mem, &ab) != napi_ok) {
    free(o.d);
    return NULL;
  }
  if (o.n > 0) memcpy(mem, o.d, o.n * sizeof(double));
  free(o.d);
  CHECK(napi_create_typedarray(env, napi_float64_array, o.n, ab, 0, &arr));
  return arr;
}

/*
 * latencyCounts(digits, values: Float64Array) -> Float64Array [n, lo, hi, sum, sumsq, (counts index, count)...]: the
 * values recorded as a Tally records latencies (for tests: the C histogram against hdr-histogram-js).
 */
static napi_value latency_counts(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t digits;
  CHECK(napi_get_value_int32(env, argv[0], &digits));
  if (digits < 1 || digits > 5) return throw_msg(env, "digits must be 1..5");
  napi_typedarray_type type;
  size_t len;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL));
  if (type != napi_float64_array) return throw_msg(env, "values must be a Float64Array");
  Hist h;
  hist_init(&h, digits);
  const double *v = data;
  for (size_t i = 0; i < len; i++)
    if (hist_record(&h, v[i]) != 0) return throw_msg(env, "out of memory");
  Out o = {0};
  out_hist(&o, &h, 0, 0);
  free(h.counts);
  if (o.failed) {
    free(o.d);
    return throw_msg(env, "out of memory");
  }
  /* Drop the record's head up to the moments: [n, lo, hi, sum, sumsq, pairs...] without the pair count. */
  size_t n = o.n - 3 - 1;
  void *mem;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, n * sizeof(double), &mem, &ab) != napi_ok) {
    free(o.d);
    return NULL;
  }
  double *out = mem;
  memcpy(out, o.d + 3, 5 * sizeof(double));
  memcpy(out + 5, o.d + 9, (o.n - 9) * sizeof(double));
  free(o.d);
  CHECK(napi_create_typedarray(env, napi_float64_array, n, ab, 0, &arr));
  return arr;
}

/* Registers the Tally class and latencyCounts on the module's exports. */
napi_value tally_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"measure", NULL, tally_measure, NULL, NULL, NULL, napi_default, NULL},
      {"live", NULL, tally_live, NULL, NULL, NULL, napi_default, NULL},
      {"collect", NULL, tally_collect, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value ctor, fn;
  CHECK(napi_define_class(env, "Tally", NAPI_AUTO_LENGTH, tally_new, NULL, sizeof methods / sizeof methods[0], methods,
                          &ctor));
  CHECK(napi_set_named_property(env, exports, "Tally", ctor));
  CHECK(napi_create_function(env, "latencyCounts", NAPI_AUTO_LENGTH, latency_counts, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "latencyCounts", fn));
  return exports;
}
