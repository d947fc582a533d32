/*
** blockpipe-codec-testseal: an "encrypting", authenticating codec for the loader tests. It is
** NOT cryptography: it XORs with a keystream from a 64-bit FNV-1a mix and appends a 64-bit tag,
** which is enough to exercise what the host must do with such codecs: chain ordering (it
** declares ENCRYPTS), a required SECRET key, a persistent header (salt + key check) recorded
** at volume creation and verified on open (wrong key → error), unit binding (a unit decoded
** under another seq/index fails) and fail-closed decoding.
*/
#include <stdlib.h>
#include <string.h>

#include <blockpipe/bp_codec.h>

struct seal {
  uint64_t key;
  uint64_t salt;
};

static uint64_t mix(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  size_t i;
  for (i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void put64(unsigned char *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; ++i) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static uint64_t unit_seed(const struct seal *s, const struct bp_unit_ctx *u) {
  uint64_t h = mix(14695981039346656037ull, &s->key, 8);
  h = mix(h, &s->salt, 8);
  h = mix(h, u->volume_uuid, 16);
  h = mix(h, &u->kind, sizeof u->kind);
  h = mix(h, &u->object_seq, 8);
  return mix(h, &u->unit_index, 8);
}

static int seal_open(const struct bp_config *cfg, const struct bp_codec_volume *volume,
                     const void *stored, size_t stored_len, struct bp_buf *new_header,
                     void **handle) {
  const char *key = bp_host->config_string(cfg, "key");
  struct seal *s;
  unsigned char header[20];
  *handle = NULL;
  if (key == NULL || key[0] == '\0') {
    bp_host->set_error("testseal: key must not be empty");
    return BP_ERR_INVALID;
  }
  s = malloc(sizeof *s);
  if (s == NULL) return BP_ERR_PERMANENT;
  s->key = mix(14695981039346656037ull, key, strlen(key));
  if (stored == NULL) {
    s->salt = mix(s->key, volume->volume_uuid, 16);
    memcpy(header, "TSL1", 4);
    put64(header + 4, s->salt);
    put64(header + 12, mix(s->key, &s->salt, 8));
    if (bp_host->buf_append(new_header, header, sizeof header) != BP_OK) {
      free(s);
      return BP_ERR_PERMANENT;
    }
  } else {
    const unsigned char *h = stored;
    if (stored_len != sizeof header || memcmp(h, "TSL1", 4) != 0) {
      free(s);
      bp_host->set_error("testseal: stored header is not a testseal header");
      return BP_ERR_INVALID;
    }
    s->salt = get64(h + 4);
    if (get64(h + 12) != mix(s->key, &s->salt, 8)) {
      free(s);
      bp_host->set_error("testseal: wrong key for this volume");
      return BP_ERR_PERMANENT;
    }
  }
  *handle = s;
  return BP_OK;
}

static void seal_close(void *handle) { free(handle); }

static void xor_stream(uint64_t seed, const unsigned char *in, unsigned char *out, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (i % 8 == 0) seed = mix(seed, &i, sizeof i);
    out[i] = in[i] ^ (unsigned char)(seed >> (8 * (i % 8)));
  }
}

static int seal_encode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t n,
                       struct bp_buf *out) {
  const struct seal *s = handle;
  const uint64_t seed = unit_seed(s, unit);
  unsigned char *dst = bp_host->buf_reserve(out, n + 8);
  if (dst == NULL) return BP_ERR_PERMANENT;
  xor_stream(seed, in, dst, n);
  put64(dst + n, mix(seed, dst, n));
  bp_host->buf_commit(out, n + 8);
  return BP_OK;
}

static int seal_decode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t n,
                       struct bp_buf *out) {
  const struct seal *s = handle;
  const unsigned char *p = in;
  const uint64_t seed = unit_seed(s, unit);
  unsigned char *dst;
  if (n < 8 || get64(p + n - 8) != mix(seed, p, n - 8)) {
    bp_host->set_error("testseal: authentication failed");
    return BP_ERR_CORRUPT;
  }
  dst = bp_host->buf_reserve(out, n - 8);
  if (dst == NULL) return BP_ERR_PERMANENT;
  xor_stream(seed, p, dst, n - 8);
  bp_host->buf_commit(out, n - 8);
  return BP_OK;
}

static const struct bp_config_key keys[] = {
    {"key", BP_CFG_SECRET, NULL, 1, "Secret the units are sealed with."},
    {NULL, 0, NULL, 0, NULL},
};

static struct bp_codec_plugin plugin = {
    .header = {.name = "testseal", .version = "1", .description = "toy sealing codec for tests"},
    .flags = BP_CODEC_ENCRYPTS | BP_CODEC_AUTHENTICATES,
    .config_keys = keys,
    .open = seal_open,
    .close = seal_close,
    .encode = seal_encode,
    .decode = seal_decode,
};

BP_REGISTER_CODEC(plugin, BP_THREAD_SERIALIZE_HANDLE)
