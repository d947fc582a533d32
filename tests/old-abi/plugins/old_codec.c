/*
** blockpipe-codec-abi1N: a toy encrypting codec as a third party would have written it against
** the SDK of ABI 1.N (see old_backend.c for how it is built). NOT cryptography: a keystream
** from a 64-bit data key, and a 64-bit check bound to the unit, enough for the loader tests to
** see a round trip, a tampered unit refused (fail closed) and a wrong password refused.
**
** The persistent header is "ABIH", the data key wrapped with the password's hash, and a second
** hash of the password that open() checks. From 1.1 on the codec has rekey(), which rewraps the
** data key for a new password; built against 1.0 it has none and cannot change its password.
** The plugin struct is followed by aborting pointers, as in old_backend.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockpipe/bp_codec.h>

#define HEADER_SIZE 20   /* "ABIH", wrapped key (8), password check (8) */
#define UNIT_OVERHEAD 12 /* "ABIU" and the unit check (8) */

struct instance {
  uint64_t data_key;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t password_hash(const char *password, uint64_t salt) {
  return fnv(14695981039346656037ull ^ salt, password, strlen(password));
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static int fail(int code, const char *what, const char *volume) {
  char msg[300];
  snprintf(msg, sizeof msg, "%s: %s (volume %s)", OLD_NAME, what, volume);
  bp_host->set_error(msg);
  return code;
}

/* Whether `password` opens `header`; on success *data_key receives the unwrapped key. */
static int opens(const unsigned char *header, const char *password, uint64_t *data_key) {
  if (get64(header + 12) != password_hash(password, 2)) return 0;
  *data_key = get64(header + 4) ^ password_hash(password, 1);
  return 1;
}

static void make_header(unsigned char *header, uint64_t data_key, const char *password) {
  memcpy(header, "ABIH", 4);
  put64(header + 4, data_key ^ password_hash(password, 1));
  put64(header + 12, password_hash(password, 2));
}

static int old_open(const struct bp_config *config, const struct bp_codec_volume *volume,
                    const void *stored_header, size_t stored_len, struct bp_buf *new_header,
                    void **handle) {
  const char *password = bp_host->config_string(config, "password");
  unsigned char header[HEADER_SIZE];
  uint64_t data_key;
  *handle = NULL;
  if (stored_header == NULL) {
    data_key = fnv(14695981039346656037ull, volume->volume_uuid, 16);
    make_header(header, data_key, password);
    if (bp_host->buf_append(new_header, header, sizeof header) != 0) return BP_ERR_PERMANENT;
  } else {
    if (stored_len != HEADER_SIZE || memcmp(stored_header, "ABIH", 4) != 0) {
      return fail(BP_ERR_INVALID, "not a header of this codec", volume->volume_name);
    }
    if (!opens(stored_header, password, &data_key)) {
      return fail(BP_ERR_PERMANENT, "wrong password", volume->volume_name);
    }
  }
  struct instance *inst = malloc(sizeof *inst);
  if (inst == NULL) return BP_ERR_PERMANENT;
  inst->data_key = data_key;
  *handle = inst;
  return BP_OK;
}

static void old_close(void *handle) { free(handle); }

static uint64_t unit_check(uint64_t key, const struct bp_unit_ctx *unit, const void *plain,
                           size_t n) {
  uint64_t h = fnv(14695981039346656037ull ^ key, unit->volume_uuid, 16);
  h = fnv(h, &unit->kind, sizeof unit->kind);
  h = fnv(h, &unit->object_seq, sizeof unit->object_seq);
  h = fnv(h, &unit->unit_index, sizeof unit->unit_index);
  return fnv(h, plain, n);
}

static void cipher(uint64_t key, const unsigned char *in, unsigned char *out, size_t n) {
  uint64_t s = key;
  for (size_t i = 0; i < n; ++i) {
    if (i % 8 == 0) s = s * 6364136223846793005ull + 1442695040888963407ull;
    out[i] = in[i] ^ (unsigned char)(s >> (8 * (i % 8)));
  }
}

/* A unit is "ABIU", the check (8 bytes), then the enciphered bytes. */
static int old_encode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                      struct bp_buf *out) {
  const struct instance *inst = handle;
  unsigned char *p = bp_host->buf_reserve(out, in_len + UNIT_OVERHEAD);
  if (p == NULL) return BP_ERR_PERMANENT;
  memcpy(p, "ABIU", 4);
  put64(p + 4, unit_check(inst->data_key, unit, in, in_len));
  cipher(inst->data_key, in, p + UNIT_OVERHEAD, in_len);
  bp_host->buf_commit(out, in_len + UNIT_OVERHEAD);
  return BP_OK;
}

static int old_decode(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                      struct bp_buf *out) {
  const struct instance *inst = handle;
  const unsigned char *u = in;
  if (in_len < UNIT_OVERHEAD || memcmp(u, "ABIU", 4) != 0) return BP_ERR_CORRUPT;
  const size_t n = in_len - UNIT_OVERHEAD;
  unsigned char *p = bp_host->buf_reserve(out, n > 0 ? n : 1);
  if (p == NULL) return BP_ERR_PERMANENT;
  cipher(inst->data_key, u + UNIT_OVERHEAD, p, n);
  if (unit_check(inst->data_key, unit, p, n) != get64(u + 4)) {
    bp_host->set_error(OLD_NAME ": unit failed its check");
    return BP_ERR_CORRUPT;
  }
  bp_host->buf_commit(out, n);
  return BP_OK;
}

#if BP_ABI_MINOR >= 1
static int old_rekey(const struct bp_config *config, const struct bp_codec_volume *volume,
                     const void *stored_header, size_t stored_len, const void *new_secret,
                     size_t new_secret_len, struct bp_buf *new_header) {
  const char *password = bp_host->config_string(config, "password");
  char next[256];
  unsigned char header[HEADER_SIZE];
  uint64_t data_key;
  if (stored_len != HEADER_SIZE || memcmp(stored_header, "ABIH", 4) != 0) {
    return fail(BP_ERR_INVALID, "not a header of this codec", volume->volume_name);
  }
  if (new_secret_len == 0 || new_secret_len >= sizeof next) {
    return fail(BP_ERR_INVALID, "unusable new password", volume->volume_name);
  }
  memcpy(next, new_secret, new_secret_len);
  next[new_secret_len] = '\0';
  if (!opens(stored_header, password, &data_key)) {
    if (opens(stored_header, next, &data_key)) return BP_ERR_PRECONDITION;
    return fail(BP_ERR_PERMANENT, "wrong password", volume->volume_name);
  }
  make_header(header, data_key, next);
  return bp_host->buf_append(new_header, header, sizeof header) == 0 ? BP_OK : BP_ERR_PERMANENT;
}
#endif

static void past_the_struct(void) { abort(); }

static const struct bp_config_key keys[] = {
    {"password", BP_CFG_SECRET, "old", 0, "Password the data key is wrapped with."},
    {NULL, 0, NULL, 0, NULL},
};

static struct {
  struct bp_codec_plugin plugin;
  void (*after[8])(void);
} self = {
    .plugin =
        {
            .header = {.name = OLD_NAME, .version = "1", .description = "toy encrypting codec"},
            .flags = BP_CODEC_ENCRYPTS,
            .config_keys = keys,
            .open = old_open,
            .close = old_close,
            .encode = old_encode,
            .decode = old_decode,
#if BP_ABI_MINOR >= 1
            .rekey = old_rekey,
#endif
        },
    .after = {past_the_struct, past_the_struct, past_the_struct, past_the_struct, past_the_struct,
              past_the_struct, past_the_struct, past_the_struct},
};

BP_REGISTER_CODEC(self.plugin, BP_THREAD_PARALLEL)
