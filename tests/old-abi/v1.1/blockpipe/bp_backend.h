/*
** blockpipe plugin SDK — backend plugins (ABI v1).
**
** A backend stores immutable objects under string keys: a directory, an S3 bucket, an Azure
** container. The host never modifies an object in place; it creates, reads (whole or ranged),
** lists and deletes. Keys are '/'-separated ASCII paths ([A-Za-z0-9._/-]), at most 512 bytes,
** relative to the location the user configured (the plugin adds its own prefix).
**
** THREADING
**   Backends are called synchronously from the host's I/O thread pool. Latency is hidden by
**   parallelism, so a backend should declare BP_THREAD_PARALLEL if it can; the host honours a
**   stricter model by serializing calls.
**
** BUFFERS
**   The caller owns every buffer passed in. Whole-object reads append into a host-owned bp_buf.
**
** A minimal backend:
**
**     static int my_open(const struct bp_config *cfg, const char *url, void **h) { ... }
**     static struct bp_backend_plugin plugin = {
**       .header = { .name = "mystore", .description = "objects in my store" },
**       .url_schemes = schemes, .config_keys = keys,
**       .open = my_open, .close = my_close, .capabilities = my_caps,
**       .get = my_get, .read = my_read, .put = my_put, .del = my_del, .list = my_list,
**     };
**     BP_REGISTER_BACKEND(plugin, BP_THREAD_PARALLEL)
*/
#ifndef BLOCKPIPE_BP_BACKEND_H
#define BLOCKPIPE_BP_BACKEND_H

#include "bp_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capability bits returned by capabilities(). The host emulates what is missing where it can
** do so safely, and refuses what it cannot (see each bit). */
#define BP_BACKEND_CAP_RANGED_GET (1u << 0)    /* read() honours offset/length natively; without
                                                  it the host emulates with get() (slow) */
#define BP_BACKEND_CAP_PUT_IF_ABSENT (1u << 1) /* put() with BP_PUT_IF_ABSENT is atomic against
                                                  concurrent writers; without it the host refuses
                                                  to open volumes for writing unless the user
                                                  opts out of fencing */
#define BP_BACKEND_CAP_DELETE_MANY (1u << 2)   /* delete_many() is implemented */
#define BP_BACKEND_CAP_LIST_PAGES (1u << 3)    /* list() returns pages with a cursor */
#define BP_BACKEND_CAP_DURABLE_PUT (1u << 4)   /* a successful put() is durable (fsync, or the
                                                  store's own acknowledgement) */

/* Flags for put(). */
#define BP_PUT_IF_ABSENT (1u << 0) /* fail with BP_ERR_PRECONDITION if the key exists */

struct bp_backend_plugin {
  /* Filled by BP_REGISTER_BACKEND except name/version/description. */
  struct bp_plugin_header header;

  /* NULL-terminated list of URL schemes this backend serves, e.g. {"file", NULL}. The user's
  ** `url = "scheme://..."` picks the backend. Static. */
  const char *const *url_schemes;

  /* Config keys this backend accepts in the [backend] section besides `url` and `plugin`,
  ** terminated by {NULL}. Static. May be NULL (no keys). */
  const struct bp_config_key *config_keys;

  /* Open an instance for `url` (the user's url, never NULL) with the validated config.
  ** On success store a handle in *handle and return BP_OK. On failure leave *handle NULL, call
  ** set_error with a message naming the location, and return an error code. open() should
  ** check reachability and credentials so that bad config fails at startup. */
  int (*open)(const struct bp_config *config, const char *url, void **handle);

  /* Release the instance. Never fails. Called once, after every other call on the handle. */
  void (*close)(void *handle);

  /* Capability bitmask (BP_BACKEND_CAP_*). May depend on the config and on probes made in
  ** open(). Called once after open. */
  uint64_t (*capabilities)(void *handle);

  /* Read the whole object `key`, appending its bytes to `out`.
  ** Returns BP_OK, BP_ERR_NOT_FOUND, or another error. */
  int (*get)(void *handle, const char *key, struct bp_buf *out);

  /* Read `length` bytes of object `key` starting at `offset` into `buf` (caller-owned, at least
  ** `length` bytes). *nread receives the number of bytes read, which is less than length only
  ** when the object ends first (0 if offset is at or past the end).
  ** Returns BP_OK, BP_ERR_NOT_FOUND, or another error. */
  int (*read)(void *handle, const char *key, uint64_t offset, uint64_t length, void *buf,
              uint64_t *nread);

  /* Create or replace object `key` with `length` bytes from `data`. Atomic: a reader sees the
  ** old object, no object, or the whole new one, never a part. With BP_PUT_IF_ABSENT, fails with
  ** BP_ERR_PRECONDITION when the key exists (atomically, if the capability is declared).
  ** A successful return means the object is durable as the capability bits say. */
  int (*put)(void *handle, const char *key, const void *data, uint64_t length, uint32_t flags);

  /* Delete object `key`. Deleting a missing key returns BP_ERR_NOT_FOUND (the host treats it as
  ** success). */
  int (*del)(void *handle, const char *key);

  /* List keys starting with `prefix` in ascending byte order, one page at a time. `cursor` is
  ** NULL for the first page, else the string set by list_set_next on the previous page. Add
  ** each key (relative, as passed to put) and its size with host->list_add; if more remain,
  ** call host->list_set_next with an opaque cursor. */
  int (*list)(void *handle, const char *prefix, const char *cursor, struct bp_list *out);

  /* Optional (BP_BACKEND_CAP_DELETE_MANY): delete `count` keys. results[i] receives the code for
  ** keys[i]. Returns BP_OK if the request as a whole was carried out (individual results may
  ** still be errors). */
  int (*delete_many)(void *handle, const char *const *keys, size_t count, int *results);

  /* ---- end of ABI 1.0 ---- */
};

#define BP_REGISTER_BACKEND(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_BACKEND, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_BACKEND_H */
