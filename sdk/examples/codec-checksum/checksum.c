/*
** checksum — an example blockpipe codec, and the template to copy for your own plugin.
**
** WHAT IT DOES
**   Appends a digest (CRC-32C or CRC-64) of every stored unit and verifies it on the way back,
**   refusing the unit (BP_ERR_CORRUPT) on any mismatch. Put it last in a chain to detect bit rot
**   or truncation in the object store before the decompressor sees the bytes:
**
**       [[codec]]
**       plugin = "zstd"
**       [[codec]]
**       plugin = "checksum"
**       algorithm = "crc32c"      # or "crc64"
**
**   The digest also covers where the unit lives (volume uuid, unit kind, object sequence and
**   unit index), so a unit copied to the wrong place fails too. A CRC catches accidents, not
**   attackers: use the encryption codec when the store is not trusted.
**
** WHAT IT SHOWS
**   - the plugin struct and the BP_REGISTER_CODEC macro (the only exported symbol),
**   - config keys declared as a table and read through the host (bp_host->config_*),
**   - a persistent codec header: the algorithm chosen when the volume was created is recorded
**     in the volume metadata, so changing the config later never makes old data unreadable,
**   - output through host-owned buffers (buf_reserve/buf_commit), errors through set_error,
**   - per-instance state behind an opaque handle, and no global mutable state at all, so the
**     plugin can declare BP_THREAD_PARALLEL.
**
** It is plain C99 and depends on nothing but the SDK headers and libc. Build it out of tree:
**   cmake -S . -B build -DCMAKE_PREFIX_PATH=/usr/local && cmake --build build   (CMakeLists.txt)
**   make                                                           (Makefile, uses pkg-config)
*/
#include <blockpipe/bp_codec.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
** The persistent header. Five bytes, written once when a volume is created and handed back to
** open() every time the volume is opened afterwards:
**   0..1  'C' 'K'   identifies this codec's header
**   2     1         header format version (refuse versions you do not know: fail closed)
**   3     algorithm ALGO_CRC32C or ALGO_CRC64
**   4     flags     bit 0: the digest covers the unit's location
** ------------------------------------------------------------------------------------------- */
#define HEADER_SIZE 5
#define HEADER_VERSION 1
#define ALGO_CRC32C 1
#define ALGO_CRC64 2
#define FLAG_BIND_LOCATION 1u

/* Per-instance state: one per volume that uses the codec. Read-only after open(), so encode
** and decode may run on many threads at once without locks. */
struct checksum_codec {
  int algorithm;      /* ALGO_* */
  int bind_location;  /* non-zero: digest covers volume uuid, kind, object_seq, unit_index */
  size_t digest_size; /* 4 for CRC-32C, 8 for CRC-64 */
  uint32_t crc32c_table[256];
  uint64_t crc64_table[256];
};

/* ---------------------------------------------------------------------------------------------
** The digests: table-driven reflected CRCs. CRC-32C (Castagnoli, as in iSCSI, ext4 and
** RocksDB) and CRC-64 with the ECMA-182 polynomial in its reflected form (as in xz). Tables are
** built per instance in open(): 4 KiB of work, and it keeps the plugin free of global state.
** ------------------------------------------------------------------------------------------- */
static void build_tables(struct checksum_codec *codec) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c32 = i;
    uint64_t c64 = i;
    for (int bit = 0; bit < 8; bit++) {
      c32 = (c32 & 1u) ? (c32 >> 1) ^ 0x82F63B78u : c32 >> 1;
      c64 = (c64 & 1u) ? (c64 >> 1) ^ 0xC96C5795D7870F42ull : c64 >> 1;
    }
    codec->crc32c_table[i] = c32;
    codec->crc64_table[i] = c64;
  }
}

/* Running CRC state is kept inverted between calls, so digests can be fed in pieces. */
static uint64_t crc_update(const struct checksum_codec *codec, uint64_t state, const void *data,
                           size_t n) {
  const uint8_t *p = (const uint8_t *)data;
  if (codec->algorithm == ALGO_CRC32C) {
    uint32_t c = (uint32_t)state;
    while (n--) c = codec->crc32c_table[(c ^ *p++) & 0xffu] ^ (c >> 8);
    return c;
  }
  while (n--) state = codec->crc64_table[(state ^ *p++) & 0xffu] ^ (state >> 8);
  return state;
}

static void put_le64(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* Digest of one unit: its location (when bound) followed by its bytes, written little-endian
** into out[0 .. digest_size). */
static void compute_digest(const struct checksum_codec *codec, const struct bp_unit_ctx *unit,
                           const void *data, size_t n, uint8_t *out) {
  uint64_t state = codec->algorithm == ALGO_CRC32C ? 0xFFFFFFFFull : ~0ull;
  if (codec->bind_location && unit != NULL) {
    /* Serialize the location explicitly (fixed sizes, little-endian) rather than hashing the
    ** struct: the struct has padding and may grow in later ABI minors. */
    uint8_t place[4 + 8 + 8];
    place[0] = (uint8_t)unit->kind;
    place[1] = (uint8_t)(unit->kind >> 8);
    place[2] = (uint8_t)(unit->kind >> 16);
    place[3] = (uint8_t)(unit->kind >> 24);
    put_le64(place + 4, unit->object_seq);
    put_le64(place + 12, unit->unit_index);
    if (unit->volume_uuid != NULL) state = crc_update(codec, state, unit->volume_uuid, 16);
    state = crc_update(codec, state, place, sizeof(place));
  }
  state = crc_update(codec, state, data, n);
  if (codec->algorithm == ALGO_CRC32C) {
    uint32_t crc = ~(uint32_t)state;
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(crc >> (8 * i));
  } else {
    put_le64(out, ~state);
  }
}

/* ---------------------------------------------------------------------------------------------
** Config keys. The host validates the user's [[codec]] section against this table before
** open() runs: unknown keys, wrong types and missing required keys are refused with the file and
** line, and `blockpipe plugins` prints the help texts. Defaults are strings; the host converts.
** ------------------------------------------------------------------------------------------- */
static const struct bp_config_key checksum_keys[] = {
    {"algorithm", BP_CFG_STRING, "crc32c", 0,
     "Digest for new volumes: crc32c (4 bytes per unit) or crc64 (8 bytes per unit). Existing "
     "volumes keep the algorithm they were created with."},
    {"bind_location", BP_CFG_BOOL, "true", 0,
     "Include the unit's volume and position in the digest, so a unit stored in the wrong "
     "place is detected. Fixed at volume creation like the algorithm."},
    {NULL, 0, NULL, 0, NULL},
};

/* Errors: return a negative BP_ERR_* code and say why through the host. The host copies the
** message, so a stack buffer or a literal is fine. */
static int fail(int code, const char *message) {
  bp_host->set_error(message);
  return code;
}

/* ---------------------------------------------------------------------------------------------
** open(): called once per volume. For a new volume stored_header is NULL and we append our
** header to new_header; for an existing volume we get those bytes back and must refuse anything
** we cannot honour. On failure *handle stays NULL.
** ------------------------------------------------------------------------------------------- */
static int checksum_open(const struct bp_config *config, const struct bp_codec_volume *volume,
                         const void *stored_header, size_t stored_len, struct bp_buf *new_header,
                         void **handle) {
  (void)volume;
  *handle = NULL;
  struct checksum_codec *codec = calloc(1, sizeof(*codec));
  if (codec == NULL) return fail(BP_ERR_PERMANENT, "checksum: out of memory");
  build_tables(codec);

  if (stored_header != NULL) {
    /* Existing volume: the recorded header decides, whatever the config says now. */
    const uint8_t *h = (const uint8_t *)stored_header;
    if (stored_len != HEADER_SIZE || h[0] != 'C' || h[1] != 'K') {
      free(codec);
      return fail(BP_ERR_INVALID, "checksum: the volume's codec header is not a checksum header");
    }
    if (h[2] != HEADER_VERSION) {
      free(codec);
      return fail(BP_ERR_INVALID,
                  "checksum: the volume's header has a newer format; upgrade the checksum plugin");
    }
    if (h[3] != ALGO_CRC32C && h[3] != ALGO_CRC64) {
      free(codec);
      return fail(BP_ERR_INVALID, "checksum: the volume records an unknown algorithm");
    }
    codec->algorithm = h[3];
    codec->bind_location = (h[4] & FLAG_BIND_LOCATION) != 0;
  } else {
    /* New volume: take the config (the host filled defaults for absent keys), then record it. */
    const char *algorithm = bp_host->config_string(config, "algorithm");
    if (algorithm == NULL || strcmp(algorithm, "crc32c") == 0) {
      codec->algorithm = ALGO_CRC32C;
    } else if (strcmp(algorithm, "crc64") == 0) {
      codec->algorithm = ALGO_CRC64;
    } else {
      free(codec);
      return fail(BP_ERR_INVALID, "checksum: algorithm must be \"crc32c\" or \"crc64\"");
    }
    codec->bind_location = bp_host->config_has(config, "bind_location")
                               ? bp_host->config_bool(config, "bind_location")
                               : 1;
    uint8_t header[HEADER_SIZE] = {'C', 'K', HEADER_VERSION, (uint8_t)codec->algorithm,
                                   codec->bind_location ? FLAG_BIND_LOCATION : 0};
    if (new_header != NULL && bp_host->buf_append(new_header, header, sizeof(header)) != BP_OK) {
      free(codec);
      return fail(BP_ERR_PERMANENT, "checksum: out of memory");
    }
  }
  codec->digest_size = codec->algorithm == ALGO_CRC32C ? 4 : 8;
  *handle = codec;
  return BP_OK;
}

static void checksum_close(void *handle) { free(handle); }

/* ---------------------------------------------------------------------------------------------
** encode(): append in || digest to the host's buffer. buf_reserve hands out room for exactly
** what we are about to write; buf_commit makes it part of the output. No allocation of our own.
** ------------------------------------------------------------------------------------------- */
static int checksum_encode(void *handle, const struct bp_unit_ctx *unit, const void *in,
                           size_t in_len, struct bp_buf *out) {
  const struct checksum_codec *codec = (const struct checksum_codec *)handle;
  uint8_t *dest = (uint8_t *)bp_host->buf_reserve(out, in_len + codec->digest_size);
  if (dest == NULL) return fail(BP_ERR_PERMANENT, "checksum: out of memory");
  if (in_len > 0) memcpy(dest, in, in_len);
  compute_digest(codec, unit, in, in_len, dest + in_len);
  bp_host->buf_commit(out, in_len + codec->digest_size);
  return BP_OK;
}

/* ---------------------------------------------------------------------------------------------
** decode(): fail closed. Anything shorter than a digest, or whose digest differs, is
** BP_ERR_CORRUPT; only verified bytes reach the output.
** ------------------------------------------------------------------------------------------- */
static int checksum_decode(void *handle, const struct bp_unit_ctx *unit, const void *in,
                           size_t in_len, struct bp_buf *out) {
  const struct checksum_codec *codec = (const struct checksum_codec *)handle;
  if (in_len < codec->digest_size) {
    return fail(BP_ERR_CORRUPT, "checksum: unit is shorter than its digest (truncated?)");
  }
  size_t payload_len = in_len - codec->digest_size;
  uint8_t expected[8];
  compute_digest(codec, unit, in, payload_len, expected);
  if (memcmp(expected, (const uint8_t *)in + payload_len, codec->digest_size) != 0) {
    return fail(BP_ERR_CORRUPT,
                "checksum: digest mismatch (the stored unit is damaged or not where it belongs)");
  }
  if (payload_len > 0 && bp_host->buf_append(out, in, payload_len) != BP_OK) {
    return fail(BP_ERR_PERMANENT, "checksum: out of memory");
  }
  return BP_OK;
}

/* ---------------------------------------------------------------------------------------------
** The plugin struct. Fill name/version/description; BP_REGISTER_CODEC fills the rest of the
** header (ABI version, struct size, kind, thread model) and defines blockpipe_plugin_entry, the
** one symbol the host looks up, plus the `bp_host` pointer used above. The name is what users
** write in `plugin = "..."` and what volume metadata records: never change it once released.
** ------------------------------------------------------------------------------------------- */
static struct bp_codec_plugin checksum_plugin = {
    .header = {.name = "checksum",
               .version = "1.0",
               .description = "appends a CRC-32C/CRC-64 of each unit and verifies it on read"},
    .flags = 0, /* neither compresses nor encrypts; a CRC is no protection against tampering */
    .config_keys = checksum_keys,
    .open = checksum_open,
    .close = checksum_close,
    .encode = checksum_encode,
    .decode = checksum_decode,
};

BP_REGISTER_CODEC(checksum_plugin, BP_THREAD_PARALLEL)
