/*
** test_checksum — tests the checksum codec without a daemon, the way you can test your own
** plugin: load the .so with dlopen() exactly as the host does (RTLD_LOCAL), hand it a small host
** table written here, and call its callbacks directly.
**
**   test_checksum ./blockpipe-codec-checksum.so      exit status 0 = every check passed
**
** The host table below implements only what a codec needs (config lookup, set_error, growable
** buffers); the other services are stubs that do nothing. A real host promises more (see
** bp_common.h), but a plugin that works here uses nothing beyond the documented ABI.
*/
#include <blockpipe/blockpipe.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A tiny host ---------------------------------------------------------------------------- */

/* The host's side of the opaque types: plugins only ever see pointers to them. */
struct bp_buf {
  unsigned char *data;
  size_t size, capacity;
};
struct bp_config {
  const char *algorithm; /* NULL: use the key's default, as a host would after validation */
};

static char last_error[512];

static void host_log(int level, const char *plugin, const char *message) {
  (void)level, (void)plugin, (void)message;
}
static void host_set_error(const char *message) {
  snprintf(last_error, sizeof(last_error), "%s", message ? message : "");
}
static int host_config_has(const struct bp_config *cfg, const char *key) {
  return strcmp(key, "algorithm") == 0 && cfg->algorithm != NULL;
}
static const char *host_config_string(const struct bp_config *cfg, const char *key) {
  return strcmp(key, "algorithm") == 0 ? cfg->algorithm : NULL;
}
static int64_t host_config_int(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return 0;
}
static int host_config_bool(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return 0;
}
static size_t host_config_list_count(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return 0;
}
static const char *host_config_list_item(const struct bp_config *cfg, const char *key, size_t i) {
  (void)cfg, (void)key, (void)i;
  return NULL;
}
static const char *host_config_dir(const struct bp_config *cfg) {
  (void)cfg;
  return "/";
}
static void *host_buf_reserve(struct bp_buf *buf, size_t n) {
  if (buf->size + n > buf->capacity) {
    size_t capacity = (buf->size + n) * 2;
    unsigned char *grown = realloc(buf->data, capacity);
    if (grown == NULL) return NULL;
    buf->data = grown;
    buf->capacity = capacity;
  }
  return buf->data + buf->size;
}
static void host_buf_commit(struct bp_buf *buf, size_t n) {
  if (buf->size + n > buf->capacity) abort(); /* committed more than reserved: plugin bug */
  buf->size += n;
}
static int host_buf_append(struct bp_buf *buf, const void *data, size_t n) {
  void *dest = host_buf_reserve(buf, n);
  if (dest == NULL) return BP_ERR_PERMANENT;
  if (n > 0) memcpy(dest, data, n);
  buf->size += n;
  return BP_OK;
}
static size_t host_buf_size(const struct bp_buf *buf) { return buf->size; }
static int host_list_add(struct bp_list *list, const char *key, uint64_t size) {
  (void)list, (void)key, (void)size;
  return BP_ERR_UNSUPPORTED;
}
static void host_list_set_next(struct bp_list *list, const char *cursor) {
  (void)list, (void)cursor;
}
static void host_metric_add(const char *plugin, const char *name, int64_t delta) {
  (void)plugin, (void)name, (void)delta;
}

static const struct bp_host_api host = {
    sizeof(struct bp_host_api),
    BP_ABI_MINOR,
    host_log,
    host_set_error,
    host_config_has,
    host_config_string,
    host_config_int,
    host_config_bool,
    host_config_list_count,
    host_config_list_item,
    host_config_dir,
    host_buf_reserve,
    host_buf_commit,
    host_buf_append,
    host_buf_size,
    host_list_add,
    host_list_set_next,
    host_metric_add,
};

/* ---- Checks --------------------------------------------------------------------------------- */

static int failures = 0;
#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "FAILED %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              last_error);                                                              \
      failures++;                                                                       \
    }                                                                                   \
  } while (0)

static void buf_reset(struct bp_buf *buf) { buf->size = 0; }

/* Round trip, tamper, truncate and move a unit through one codec instance. */
static void exercise(const struct bp_codec_plugin *codec, void *handle, size_t digest_size) {
  static const unsigned char uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  struct bp_unit_ctx unit = {sizeof(struct bp_unit_ctx), BP_UNIT_DATA, uuid, 7, 3, 0};
  struct bp_buf encoded = {0}, decoded = {0};
  unsigned char data[5000];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = (unsigned char)(i * 31 + 7);

  unit.logical_length = sizeof(data);
  CHECK(codec->encode(handle, &unit, data, sizeof(data), &encoded) == BP_OK);
  CHECK(encoded.size == sizeof(data) + digest_size);
  CHECK(codec->decode(handle, &unit, encoded.data, encoded.size, &decoded) == BP_OK);
  CHECK(decoded.size == sizeof(data) && memcmp(decoded.data, data, sizeof(data)) == 0);

  /* Any single flipped bit, anywhere, is caught. */
  for (size_t pos = 0; pos < encoded.size; pos += 97) {
    encoded.data[pos] ^= 0x10;
    buf_reset(&decoded);
    CHECK(codec->decode(handle, &unit, encoded.data, encoded.size, &decoded) == BP_ERR_CORRUPT);
    encoded.data[pos] ^= 0x10;
  }
  /* Truncation, including below the digest size. */
  for (size_t len = 0; len < encoded.size; len += 333) {
    buf_reset(&decoded);
    CHECK(codec->decode(handle, &unit, encoded.data, len, &decoded) == BP_ERR_CORRUPT);
  }
  /* The same bytes presented as another unit (location binding is on by default). */
  struct bp_unit_ctx elsewhere = unit;
  elsewhere.unit_index = 4;
  buf_reset(&decoded);
  CHECK(codec->decode(handle, &elsewhere, encoded.data, encoded.size, &decoded) == BP_ERR_CORRUPT);
  CHECK(strstr(last_error, "digest mismatch") != NULL);

  /* An empty unit still carries a digest. */
  buf_reset(&encoded);
  buf_reset(&decoded);
  CHECK(codec->encode(handle, &unit, "", 0, &encoded) == BP_OK);
  CHECK(encoded.size == digest_size);
  CHECK(codec->decode(handle, &unit, encoded.data, encoded.size, &decoded) == BP_OK);
  CHECK(decoded.size == 0);
  free(encoded.data);
  free(decoded.data);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH/blockpipe-codec-checksum.so\n", argv[0]);
    return 2;
  }
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  /* The same steps as the host: find the one entry symbol, call it, check the ABI and kind. */
  bp_plugin_entry_fn entry = (bp_plugin_entry_fn)(uintptr_t)dlsym(library, BP_ENTRY_SYMBOL);
  if (entry == NULL) {
    fprintf(stderr, "%s exports no %s\n", argv[1], BP_ENTRY_SYMBOL);
    return 1;
  }
  const struct bp_plugin_header *header = entry(&host);
  CHECK(header != NULL && header->abi_major == BP_ABI_MAJOR && header->kind == BP_KIND_CODEC);
  if (failures) return 1;
  const struct bp_codec_plugin *codec = (const struct bp_codec_plugin *)header;
  CHECK(strcmp(header->name, "checksum") == 0);

  static const unsigned char uuid[16] = {0};
  struct bp_codec_volume volume = {sizeof(struct bp_codec_volume), 0, uuid, "test"};
  const char *algorithms[] = {NULL, "crc32c", "crc64"};
  const size_t digest_sizes[] = {4, 4, 8};
  for (int i = 0; i < 3; i++) {
    /* Creating a volume: the codec records its header. */
    struct bp_config config = {algorithms[i]};
    struct bp_buf stored = {0};
    void *handle = NULL;
    CHECK(codec->open(&config, &volume, NULL, 0, &stored, &handle) == BP_OK);
    CHECK(handle != NULL && stored.size > 0);
    if (handle == NULL) continue;
    exercise(codec, handle, digest_sizes[i]);
    codec->close(handle);

    /* Reopening it later with a different config: the recorded header wins. */
    struct bp_config changed = {i == 2 ? "crc32c" : "crc64"};
    CHECK(codec->open(&changed, &volume, stored.data, stored.size, NULL, &handle) == BP_OK);
    if (handle != NULL) {
      exercise(codec, handle, digest_sizes[i]);
      codec->close(handle);
    }
    /* A header it did not write is refused, and the handle stays NULL. */
    stored.data[0] ^= 0xff;
    handle = (void *)1;
    CHECK(codec->open(&config, &volume, stored.data, stored.size, NULL, &handle) == BP_ERR_INVALID);
    CHECK(handle == NULL);
    free(stored.data);
  }
  struct bp_config bad = {"md5"};
  void *handle = (void *)1;
  struct bp_buf ignored = {0};
  CHECK(codec->open(&bad, &volume, NULL, 0, &ignored, &handle) == BP_ERR_INVALID);
  CHECK(handle == NULL && strstr(last_error, "crc32c") != NULL);
  free(ignored.data);

  dlclose(library);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("checksum codec: all checks passed\n");
  return 0;
}
