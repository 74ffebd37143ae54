/*
 * The load probe codec: the same format and verdicts as harness/protocol/probe-codec.ts (encodeProbe /
 * decodeProbe), byte for byte; test/probe-codec.test.ts and test/native-io.test.ts hold the two to each
 * other. Plain C, no N-API: a flow's identity goes in, bytes or one row of numbers come out.
 */
#ifndef ECHOLOT_PROBE_CODEC_H
#define ECHOLOT_PROBE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_MAGIC 0x45434c54u
#define PROBE_VERSION 1
#define PROBE_HEADER 48
/* Numbers per row: status, flow, seq, intended ns, actual ns, receive time (PROBE_ROW_STRIDE in native-io.ts). */
#define P_STRIDE 6
/* Row statuses; the "_HDR" ones carry the header fields (the header checksum held). PS_SENT is no verdict:
 * window mode's rows of probes sent share the row format. */
enum { PS_PROBE, PS_FOREIGN, PS_TRUNCATED, PS_CORRUPTED, PS_TRUNCATED_HDR, PS_CORRUPTED_HDR, PS_SENT };

/* One flow's probe identity, and what every probe of it shares (see probe_flow_init). */
typedef struct {
  uint8_t run_id[8];
  uint32_t flow;
  /* The first 16 header bytes of this flow's probes (magic to run id), and the FNV states after them
   * (header checksum) and after run id + flow (filler seed): a probe of this flow hashes only the rest. */
  uint8_t prefix[16];
  uint32_t prefix_hash, seed_hash;
} ProbeFlow;

#pragma GCC visibility push(hidden)

/* Sets up flow `flow` of run `run_id`: its header prefix and hash states. */
void probe_flow_init(ProbeFlow *f, const uint8_t run_id[8], uint32_t flow);

/* Encodes probe `seq` of flow f into b[0, length) (length >= PROBE_HEADER). */
void probe_encode(const ProbeFlow *f, uint8_t *b, double seq, double intended, double actual, uint32_t length);

/* decodeProbe(b[0, n), f's run id) into one row: status, flow, seq, intended, actual (when the header held), t. */
void probe_decode(const ProbeFlow *f, const uint8_t *b, size_t n, double *row, double t);

#pragma GCC visibility pop

#endif
