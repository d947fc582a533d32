/*
** blockpipe plugin SDK — backend filters (since ABI 1.6).
**
** A filter sits between the host and the backend. It receives the same calls as a backend
** (get, ranged read, put and put-if-absent, put_parts, get_tagged and put_if_match, delete,
** list, capabilities) and passes each on to the next layer, before or after doing its own work:
** delaying it, counting it, refusing it, failing it on purpose. The next layer is the next filter
** or the backend itself; a filter never knows which, and reaches it only through a table of host
** functions (struct bp_filter_next) handed to open(). Filters are configured as a [[filter]]
** array; the first one listed is the outermost (it sees the host's calls first), the last one is
** nearest the backend:
**
**     host engine → retries → filter[0] → filter[1] → … → backend
**
** The host's retry layer sits above every filter, so a transient error a filter returns is
** retried exactly like one from the backend.
**
** LIFECYCLE
**   open(config, next, handle)  validate config, allocate state, keep `next` (valid until close)
**   calls                       under the declared thread model, like a backend's
**   close(handle)               after every other call on the handle has returned; the layers
**                               below are closed after this filter
**   A filter may call next functions from open() (to probe the store) and from any callback; not
**   from close().
**
** THREADING
**   The host calls a filter from its I/O thread pool, synchronously, like a backend. Declare
**   BP_THREAD_PARALLEL whenever possible: the host holds the declared lock for the whole
**   callback, including the time the filter spends in next, so a serialized filter serializes
**   every layer below it. A filter declared BP_THREAD_SERIALIZE_ALL cannot appear twice in one
**   stack (its outer instance would wait for itself); the host refuses such a config. Every next
**   function is thread-safe and may be called from any thread, including threads the filter
**   starts, as long as the handle is open.
**
** OWNERSHIP
**   Exactly as for backends (bp_backend.h): buffers passed in belong to the caller and are valid
**   during the call; output goes to host-owned bp_buf / bp_list handles, which a filter may pass
**   to the next layer unchanged (the usual case) or fill itself with host->buf_append; strings
**   returned are static. The next table and its ctx belong to the host.
**
** ERRORS
**   A next function returns a BP_* code and leaves the lower layer's message on this thread (as
**   set_error would). A filter that returns that code unchanged passes the message up; one that
**   turns it into another error calls set_error with its own message. Return codes are those of
**   the backend callbacks.
**
** SLOTS A FILTER LEAVES NULL, AND SLOTS IT DOES NOT KNOW
**   A NULL slot within the filter's struct passes the call straight on to the next layer: the
**   author saw the operation and chose not to filter it (a filter that only counts deletes sets
**   only del). A slot added to this struct after the minor the filter was built against is
**   different: the filter cannot know what that operation does, and passing it through unchanged
**   could defeat what the filter is for (one that refuses deletes under a prefix would let a
**   newer "delete many" through). The host therefore never passes an operation a filter does not
**   know: it is unsupported through that filter, and the capability bits that depend on it are
**   cleared, so the host falls back to the older operations the filter does see.
**
** CAPABILITIES
**   capabilities() returns the BP_BACKEND_CAP_* bits of the stack as seen through the filter.
**   Without it the filter reports the next layer's bits. A filter clears a bit to stop the host
**   from using a feature (a filter that cannot keep put-if-absent atomic clears
**   BP_BACKEND_CAP_PUT_IF_ABSENT) and may set one only for a feature it implements itself. The
**   host clears BP_BACKEND_CAP_CONDITIONAL_PUT when neither the filter nor (through NULL slots)
**   the next layer can serve get_tagged and put_if_match.
**
** A minimal filter (the example in sdk/examples/filter-guard is complete and commented):
**
**     static int my_open(const struct bp_config *cfg, const struct bp_filter_next *next,
**                        void **handle) { ... keep next ... }
**     static int my_del(void *handle, const char *key) {
**       const struct bp_filter_next *next = ((struct mine *)handle)->next;
**       if (strncmp(key, "keep/", 5) == 0) return BP_ERR_PERMANENT;
**       return next->del(next->ctx, key);
**     }
**     static struct bp_filter_plugin plugin = {
**       .header = { .name = "guard", .description = "refuses deletes under keep/" },
**       .config_keys = keys, .open = my_open, .close = my_close, .del = my_del,
**     };
**     BP_REGISTER_FILTER(plugin, BP_THREAD_PARALLEL)
**
** This header compiles as C99 and as C++.
*/
#ifndef BLOCKPIPE_BP_FILTER_H
#define BLOCKPIPE_BP_FILTER_H

#include "bp_backend.h"
#include "bp_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
** The next layer, as functions of the host. Built by the host, read-only for the filter, valid
** from open() until close() returns. Pass `ctx` as the first argument of every function. Each
** function behaves as the backend callback of the same name, with these differences, which hold
** whatever the layers below are:
**   read          always available: the host emulates ranged reads below when needed.
**   put_parts     always available: the host joins the parts below when needed.
**   get_tagged,   BP_ERR_UNSUPPORTED unless capabilities() has BP_BACKEND_CAP_CONDITIONAL_PUT.
**   put_if_match
**   del           deleting a missing key returns BP_OK.
**   list          returns the complete listing (every page below, ascending, filtered by the
**                 prefix) in one call: it never calls list_set_next, and `cursor` must be NULL.
** The table only grows: check BP_FILTER_NEXT_HAS before using a slot added after 1.6.
** ------------------------------------------------------------------------------------------- */
struct bp_filter_next {
  uint32_t struct_size; /* set by the host: sizeof(struct bp_filter_next) in the host */
  uint32_t reserved;    /* zero */
  void *ctx;            /* the host's; first argument of every function below */

  uint64_t (*capabilities)(void *ctx);
  int (*get)(void *ctx, const char *key, struct bp_buf *out);
  int (*read)(void *ctx, const char *key, uint64_t offset, uint64_t length, void *buf,
              uint64_t *nread);
  int (*put)(void *ctx, const char *key, const void *data, uint64_t length, uint32_t flags);
  int (*put_parts)(void *ctx, const char *key, const struct bp_span *parts, size_t count,
                   uint32_t flags);
  int (*get_tagged)(void *ctx, const char *key, struct bp_buf *out, char *tag);
  int (*put_if_match)(void *ctx, const char *key, const void *data, uint64_t length,
                      const char *expected_tag, char *new_tag);
  int (*del)(void *ctx, const char *key);
  int (*list)(void *ctx, const char *prefix, const char *cursor, struct bp_list *out);

  /* ---- end of ABI 1.6 ---- */

  /* Since 1.8 (BP_FILTER_NEXT_HAS(next, sync)): the backend's sync(). BP_OK without doing
  ** anything unless capabilities() has BP_BACKEND_CAP_DEFER_SYNC. */
  int (*sync)(void *ctx, const char *const *keys, size_t count);

  /* ---- end of ABI 1.8 ---- */
};

#define BP_FILTER_NEXT_HAS(next, slot)                                                    \
  ((next) != NULL &&                                                                      \
   (next)->struct_size >= offsetof(struct bp_filter_next, slot) + sizeof((next)->slot) && \
   (next)->slot != NULL)

/* ---------------------------------------------------------------------------------------------
** The filter plugin. Every data slot has the signature of the backend callback of the same
** name (bp_backend.h), and the same contract: what the host may pass, what must be returned.
** ------------------------------------------------------------------------------------------- */
struct bp_filter_plugin {
  /* Filled by BP_REGISTER_FILTER except name/version/description. */
  struct bp_plugin_header header;

  /* Config keys of the [[filter]] section besides `plugin`, terminated by {NULL}. Static. May
  ** be NULL (no keys). */
  const struct bp_config_key *config_keys;

  /* Required. Open an instance over `next` (valid until close; keep the pointer, not a copy, so
  ** slots the host adds later stay reachable). On failure leave *handle NULL, call set_error
  ** with a message naming the offending key, and return an error code. */
  int (*open)(const struct bp_config *config, const struct bp_filter_next *next, void **handle);

  /* Required. Release the instance. Never fails; must not call next. */
  void (*close)(void *handle);

  /* Optional: the capability bits seen through this filter (see CAPABILITIES above); NULL
  ** reports the next layer's. Called once, after open. */
  uint64_t (*capabilities)(void *handle);

  /* Optional data slots; NULL passes the call through to next unchanged. */
  int (*get)(void *handle, const char *key, struct bp_buf *out);
  int (*read)(void *handle, const char *key, uint64_t offset, uint64_t length, void *buf,
              uint64_t *nread);
  int (*put)(void *handle, const char *key, const void *data, uint64_t length, uint32_t flags);
  int (*put_parts)(void *handle, const char *key, const struct bp_span *parts, size_t count,
                   uint32_t flags);
  int (*get_tagged)(void *handle, const char *key, struct bp_buf *out, char *tag);
  int (*put_if_match)(void *handle, const char *key, const void *data, uint64_t length,
                      const char *expected_tag, char *new_tag);
  int (*del)(void *handle, const char *key);
  /* A filter's own list may page (list_set_next) like a backend's; one that passes the call on
  ** gets the complete listing from next in one call (see struct bp_filter_next). */
  int (*list)(void *handle, const char *prefix, const char *cursor, struct bp_list *out);

  /* ---- end of ABI 1.6 ---- */

  /* Since 1.8: the backend's sync() (bp_backend.h, DEFERRED DURABILITY); NULL passes it on. A
  ** filter built against an older minor never sees BP_PUT_DEFER_SYNC: the host clears
  ** BP_BACKEND_CAP_DEFER_SYNC through it, since it could not pass the sync on. A filter that
  ** delays or fails puts should treat sync the same way. */
  int (*sync)(void *handle, const char *const *keys, size_t count);

  /* ---- end of ABI 1.8 ---- */
};

/* True when the filter, as the host copied it, was built against a minor that has `slot`: the
** declared struct_size covers it. Whether the slot is NULL (pass-through) is a separate question;
** see SLOTS A FILTER LEAVES NULL, AND SLOTS IT DOES NOT KNOW. */
#define BP_FILTER_KNOWS(plugin, slot)                  \
  ((plugin) != NULL && (plugin)->header.struct_size >= \
                           offsetof(struct bp_filter_plugin, slot) + sizeof((plugin)->slot))

#define BP_REGISTER_FILTER(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_FILTER, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_FILTER_H */
