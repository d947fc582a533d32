/*
** blockpipe-codec-testpack: a compressing codec for the loader tests — run-length encoding,
** which shrinks the zero-filled and repetitive buffers the tests use. Output: "TPK1", the
** decoded length (4 bytes, little endian), then (count, byte) pairs. Decoding fails closed:
** anything that is not exactly such a stream is BP_ERR_CORRUPT.
*/
#include <string.h>

#include <blockpipe/bp_codec.h>

static int pack_open(const struct bp_config *cfg, const struct bp_codec_volume *volume,
                     const void *stored, size_t stored_len, struct bp_buf *new_header,
                     void **handle) {
  static int instance;
  (void)cfg;
  (void)volume;
  (void)stored;
  (void)stored_len;
  (void)new_header;
  *handle = &instance;
  return BP_OK;
}

static void pack_close(void *handle) { (void)handle; }

static int pack_encode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t n,
                       struct bp_buf *out) {
  const unsigned char *p = in;
  unsigned char head[8] = {'T',
                           'P',
                           'K',
                           '1',
                           (unsigned char)n,
                           (unsigned char)(n >> 8),
                           (unsigned char)(n >> 16),
                           (unsigned char)(n >> 24)};
  unsigned char *dst;
  size_t i = 0, w = 0;
  (void)handle;
  (void)unit;
  if (n > 0xffffffffu) return BP_ERR_INVALID;
  if (bp_host->buf_append(out, head, sizeof head) != BP_OK) return BP_ERR_PERMANENT;
  dst = bp_host->buf_reserve(out, 2 * n + 2); /* worst case: every byte differs */
  if (dst == NULL) return BP_ERR_PERMANENT;
  while (i < n) {
    size_t run = 1;
    while (i + run < n && run < 255 && p[i + run] == p[i]) ++run;
    dst[w++] = (unsigned char)run;
    dst[w++] = p[i];
    i += run;
  }
  bp_host->buf_commit(out, w);
  return BP_OK;
}

static int pack_decode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t n,
                       struct bp_buf *out) {
  const unsigned char *p = in;
  size_t expect, produced = 0, i;
  (void)handle;
  (void)unit;
  if (n < 8 || memcmp(p, "TPK1", 4) != 0 || (n - 8) % 2 != 0) {
    bp_host->set_error("testpack: not a testpack stream");
    return BP_ERR_CORRUPT;
  }
  expect = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24;
  for (i = 8; i < n; i += 2) {
    unsigned char *dst;
    if (p[i] == 0 || produced + p[i] > expect) {
      bp_host->set_error("testpack: run overflows the recorded length");
      return BP_ERR_CORRUPT;
    }
    dst = bp_host->buf_reserve(out, p[i]);
    if (dst == NULL) return BP_ERR_PERMANENT;
    memset(dst, p[i + 1], p[i]);
    bp_host->buf_commit(out, p[i]);
    produced += p[i];
  }
  if (produced != expect) {
    bp_host->set_error("testpack: stream is shorter than its recorded length");
    return BP_ERR_CORRUPT;
  }
  return BP_OK;
}

static struct bp_codec_plugin plugin = {
    .header = {.name = "testpack", .version = "1", .description = "run-length test compressor"},
    .flags = BP_CODEC_COMPRESSES,
    .open = pack_open,
    .close = pack_close,
    .encode = pack_encode,
    .decode = pack_decode,
};

BP_REGISTER_CODEC(plugin, BP_THREAD_PARALLEL)
