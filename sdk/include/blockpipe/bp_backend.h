/*
** blockpipe plugin SDK — backend plugins (ABI v1).
**
** A backend stores objects under string keys: a directory, an S3 bucket, an Azure container.
** The host never modifies an object in place; it creates, reads (whole or ranged), lists and
** deletes, and replaces a few small records whole (see REPLACING AN OBJECT SAFELY). Keys are
** '/'-separated ASCII paths ([A-Za-z0-9._/-]) of at most BP_KEY_MAX_LENGTH bytes, relative to
** the location the user configured (the plugin adds its own prefix).
**
** THREADING
**   Backends are called synchronously from the host's I/O thread pool. Latency is hidden by
**   parallelism, so a backend should declare BP_THREAD_PARALLEL if it can; the host honours a
**   stricter model by serializing calls.
**
** BUFFERS
**   The caller owns every buffer passed in. Whole-object reads append into a host-owned bp_buf.
**
** DEFERRED DURABILITY (since 1.8)
**   By default a successful put() is durable when it returns (BP_BACKEND_CAP_DURABLE_PUT). A store
**   whose durable writes cost much more than plain ones (a local file system: fsync) may offer
**   to defer that cost: it declares BP_BACKEND_CAP_DEFER_SYNC and implements sync(). The host
**   then puts the objects no FLUSH waits for yet with BP_PUT_DEFER_SYNC, and calls sync() with
**   their keys before it acknowledges a FLUSH that covers them, and before it writes anything
**   (a checkpoint, a snapshot record) that refers to them. Such a put must still be atomic to
**   every reader and survive a crash of the calling process (a restarted host reads it back);
**   only a crash of the machine (power loss, kernel panic) before sync() may lose it or leave it
**   damaged, which the host detects (every object carries checksums) and treats like a write
**   that never happened. Stores whose every put is durable anyway (S3, Azure) do not declare the
**   bit and never see the flag.
**
** REPLACING AN OBJECT SAFELY (since 1.2)
**   A few small objects are replaced rather than created once (a volume's metadata, its ownership
**   record). A backend that can do compare-and-swap declares BP_BACKEND_CAP_CONDITIONAL_PUT and
**   implements get_tagged() and put_if_match(): get_tagged() returns the object together with a
**   version tag, an opaque string that changes whenever the object is replaced (the ETag on S3
**   and Azure, a content hash on the file backend), and put_if_match() replaces the object only
**   while its current tag still equals the one the host read. Two writers that read the same
**   version and both try to replace it: exactly one succeeds, the other gets
**   BP_ERR_PRECONDITION. The host checks struct_size (BP_BACKEND_HAS) before it touches these
**   slots, so backends built against 1.0/1.1 keep loading and are treated as not capable.
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
/* read() honours offset/length natively; without it the host emulates with get() (slow) */
#define BP_BACKEND_CAP_RANGED_GET (1u << 0)
/* put() with BP_PUT_IF_ABSENT is atomic against concurrent writers; without it the host refuses
** to open volumes for writing unless the user opts out of fencing */
#define BP_BACKEND_CAP_PUT_IF_ABSENT (1u << 1)
/* delete_many() is implemented */
#define BP_BACKEND_CAP_DELETE_MANY (1u << 2)
/* list() returns pages with a cursor */
#define BP_BACKEND_CAP_LIST_PAGES (1u << 3)
/* a successful put() is durable (fsync, or the store's own acknowledgement) */
#define BP_BACKEND_CAP_DURABLE_PUT (1u << 4)
/* since 1.2: get_tagged() and put_if_match() are implemented and put_if_match() is atomic
** against concurrent writers of the key (declare it only when proven, e.g. by a probe at open);
** without it the host replaces shared records with plain puts only when the user opts out of
** fencing */
#define BP_BACKEND_CAP_CONDITIONAL_PUT (1u << 5)
/* since 1.4: reads are served on this machine (its disks, and the kernel's page cache, which
** still holds what was just written), so a miss in the host's unit cache costs microseconds,
** not a network round trip. The host then does not copy every newly written unit into its
** memory cache: that would cache the same bytes twice. Purely a hint; an older host ignores it */
#define BP_BACKEND_CAP_LOCAL_READS (1u << 6)
/* since 1.8: put() and put_parts() accept BP_PUT_DEFER_SYNC and sync() is implemented (see
** DEFERRED DURABILITY). The host uses the flag only when this bit is set and the plugin (and
** every filter above it) has the sync slot. */
#define BP_BACKEND_CAP_DEFER_SYNC (1u << 7)

/* Longest key the host passes to a backend (keys, and list() prefixes), in bytes, not counting
** the terminating NUL: a buffer holding any key needs BP_KEY_MAX_LENGTH + 1 bytes. A macro since
** 1.5; the limit was 512 from 1.0 on, and the host refuses to pass a longer key. */
#define BP_KEY_MAX_LENGTH 512

/* Size of the caller-owned buffers that receive a version tag (since 1.2): a tag is 1 to
** BP_VERSION_TAG_MAX - 1 bytes of printable ASCII, NUL-terminated. */
#define BP_VERSION_TAG_MAX 256

/* Since 1.3: one piece of an object given to put_parts(), `length` bytes at `data`. */
struct bp_span {
  const void *data;
  uint64_t length;
};

/* Flags for put(). */
#define BP_PUT_IF_ABSENT (1u << 0) /* fail with BP_ERR_PRECONDITION if the key exists */
/* Since 1.8, only with BP_BACKEND_CAP_DEFER_SYNC: the object need not be durable against a crash
** of the machine until sync() names its key (see DEFERRED DURABILITY). */
#define BP_PUT_DEFER_SYNC (1u << 1)

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

  /* ---- end of ABI 1.0 (ABI 1.1 did not change this struct) ---- */

  /* Since ABI 1.2; optional (NULL, or absent in a plugin built against 1.0/1.1). The host calls
  ** these two only when both are present (BP_BACKEND_HAS) and capabilities() declares
  ** BP_BACKEND_CAP_CONDITIONAL_PUT. Called under the declared thread model like every slot.
  **
  ** get_tagged: like get(), and also writes the object's current version tag to `tag`, a
  ** caller-owned buffer of BP_VERSION_TAG_MAX bytes (NUL-terminated, never empty on BP_OK). The
  ** tag must describe exactly the bytes appended to `out` (one consistent read, not a get
  ** followed by a separate metadata request). Returns BP_OK, BP_ERR_NOT_FOUND or another error;
  ** on error `tag` is unspecified. */
  int (*get_tagged)(void *handle, const char *key, struct bp_buf *out, char *tag);

  /* put_if_match: replace object `key` with `length` bytes from `data` only if it exists and its
  ** current version tag equals `expected_tag` (a tag get_tagged() or put_if_match() returned,
  ** NUL-terminated). Atomic like put(), and atomic against any concurrent put_if_match of the
  ** same key: of two calls made with the same expected tag at most one succeeds.
  ** Returns
  **   BP_OK                the object was replaced; `new_tag` (caller-owned, BP_VERSION_TAG_MAX
  **                        bytes) receives its new tag, or "" when the store did not report one
  **                        (the host then reads it back when it needs it).
  **   BP_ERR_PRECONDITION  the object's tag differs, or the object does not exist.
  **   another error        as for put(); a transient error leaves it unknown whether the
  **                        replace happened (the host resolves that by reading back).
  ** The durability of a successful return is that of put(). */
  int (*put_if_match)(void *handle, const char *key, const void *data, uint64_t length,
                      const char *expected_tag, char *new_tag);

  /* ---- end of ABI 1.2 ---- */

  /* Since ABI 1.3; optional (NULL, or absent in a plugin built against an older minor).
  ** put_parts: put() of the object that is the concatenation of parts[0..count), in order, with
  ** the same flags, atomicity, durability and return codes. The parts and their bytes are the
  ** caller's and valid only during the call. The host uses it for objects it assembles from
  ** several buffers (a segment whose units were stored unchanged is written from the host's
  ** write buffer where they lie); without it the host joins the parts and calls put(). */
  int (*put_parts)(void *handle, const char *key, const struct bp_span *parts, size_t count,
                   uint32_t flags);

  /* ---- end of ABI 1.3 ---- */

  /* Since ABI 1.8; optional (BP_BACKEND_CAP_DEFER_SYNC). Make the objects `keys[0..count)` durable
  ** against a crash of the machine: after BP_OK, each of them that exists survives a power loss
  ** exactly as a put without BP_PUT_DEFER_SYNC would have. Keys may name objects put without the
  ** flag (nothing to do), put by an earlier process (a crashed host's puts are synced by the
  ** next one), or deleted since (not an error). The keys and the array are the caller's, valid
  ** during the call. Returns BP_OK or an error; after an error the host assumes none of them is
  ** durable, and a store that lost data it was asked to sync (an I/O error while writing it
  ** back) must keep failing sync() for those keys rather than report BP_OK later. */
  int (*sync)(void *handle, const char *const *keys, size_t count);

  /* ---- end of ABI 1.8 ---- */
};

/* True when `plugin` (a bp_backend_plugin as the host copied it) has the slot, i.e. was built
** against an ABI minor that includes it and filled it. */
#define BP_BACKEND_HAS(plugin, slot)                                        \
  ((plugin) != NULL &&                                                      \
   (plugin)->header.struct_size >=                                          \
       offsetof(struct bp_backend_plugin, slot) + sizeof((plugin)->slot) && \
   (plugin)->slot != NULL)

#define BP_REGISTER_BACKEND(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_BACKEND, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_BACKEND_H */
