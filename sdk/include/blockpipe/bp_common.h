/*
** blockpipe plugin SDK — common definitions (ABI v1).
**
** This header is shared by every plugin kind. It defines:
**   - the ABI version and the plugin header every plugin struct starts with,
**   - error codes and their classes,
**   - the host-services table handed to each plugin at load time,
**   - the config-key table each plugin declares,
**   - host-owned output buffers ("builders") and list sinks.
**
** LIFECYCLE (all kinds)
**   1. load      The host dlopen()s the shared object with RTLD_LOCAL and calls its only exported
**                symbol, blockpipe_plugin_entry(host), which the BP_REGISTER_* macros generate.
**                The returned header is checked: a different abi_major is refused, a smaller
**                struct_size is accepted (missing trailing slots read as NULL / 0).
**   2. configure The host validates the user's TOML section against config_keys (unknown keys,
**                missing required keys and bad types are refused with file and line) and fills
**                defaults. Plugins read values through host->config_* at open time.
**   3. open      Per instance: open(config, ...) returns an opaque handle, or an error with
**                *handle left NULL. A plugin may be opened several times (e.g. the same codec
**                in two volumes).
**   4. use       Data-path callbacks, called according to the declared thread model.
**   5. close     Per instance; the handle is never used again.
**   6. unload    After every handle is closed; the shared object is dlclose()d.
**
** VERSIONING
**   Within ABI major 1, structs only grow at the end. Each struct carries comments marking where
**   each minor version ends. The host copies min(sizeof(struct), header.struct_size) bytes of a
**   plugin struct into a zeroed copy, so an old plugin's missing slots are NULL. Likewise the
**   host tables passed to plugins start with struct_size: check it before using a slot that was
**   added after minor 0 (BP_HOST_HAS(host, slot), BP_VOLUME_API_HAS(api, slot)). Structs a plugin
**   hands the host per call carry their own struct_size (struct bp_io since 1.5: see
**   bp_frontend.h). Size limits are macros (since 1.5; the values are those of 1.0):
**   BP_PLUGIN_NAME_MAX_LENGTH, BP_KEY_MAX_LENGTH, BP_CODEC_HEADER_MAX_SIZE.
**
** This header compiles as C99 and as C++.
*/
#ifndef BLOCKPIPE_BP_COMMON_H
#define BLOCKPIPE_BP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version. A plugin built against a different major is refused at load time. A plugin built
** against a newer minor loads in an older host as long as it checks BP_HOST_HAS before using
** host slots the older host lacks.
**   1.0  the first stable ABI
**   1.1  bp_codec_plugin.rekey (change a codec's secret without rewriting data), BP_CODEC_HAS
**   1.2  bp_backend_plugin.get_tagged / put_if_match (compare-and-swap of an object by version
**        tag), BP_BACKEND_CAP_CONDITIONAL_PUT, BP_VERSION_TAG_MAX, BP_BACKEND_HAS
**   1.3  bp_host_api.buf_append_input (an encoder's unchanged input is referenced, not copied),
**        bp_backend_plugin.put_parts and struct bp_span (an object put from several buffers)
**   1.4  BP_BACKEND_CAP_LOCAL_READS (the host leaves recently written data to the machine's
**        page cache instead of copying it into its own)
**   1.5  bp_io.struct_size (a request says its size, so struct bp_io can grow);
**        BP_VOLUME_API_HAS; request types and flags named apart (BP_IO_OP_*, BP_IO_FLAG_*;
**        the 1.0 names stay as deprecated aliases); the limits the comments stated as macros
**        (BP_PLUGIN_NAME_MAX_LENGTH, BP_KEY_MAX_LENGTH, BP_CODEC_HEADER_MAX_SIZE,
**        BP_VOLUME_UUID_SIZE)
**   1.6  backend filters: BP_KIND_FILTER, struct bp_filter_plugin, struct bp_filter_next,
**        BP_REGISTER_FILTER (bp_filter.h)
**   1.7  bp_volume_api.extents, struct bp_extent, BP_EXTENT_HOLE / BP_EXTENT_ZERO (a frontend
**        learns where a volume's data lies without reading it)
**   1.8  deferred durability of puts: BP_PUT_DEFER_SYNC, BP_BACKEND_CAP_DEFER_SYNC,
**        bp_backend_plugin.sync, bp_filter_plugin.sync, bp_filter_next.sync (a local store
**        makes segments durable when a FLUSH asks for it, not at every put) */
#define BP_ABI_MAJOR 1
#define BP_ABI_MINOR 8

/* Name of the single exported symbol of every plugin shared object. */
#define BP_ENTRY_SYMBOL "blockpipe_plugin_entry"

#if defined(__GNUC__)
#define BP_EXPORT __attribute__((visibility("default")))
#define BP_HIDDEN __attribute__((visibility("hidden")))
#else
#define BP_EXPORT
#define BP_HIDDEN
#endif

#ifdef __cplusplus
#define BP_EXTERN_C extern "C"
#else
#define BP_EXTERN_C
#endif

/* ---------------------------------------------------------------------------------------------
** Error codes. Every callback returns int: BP_OK (0) on success or one of these negative codes.
** The class tells the host what to do next:
**   TRANSIENT     retry with backoff (timeouts, throttling, 5xx, connection reset)
**   PERMANENT     do not retry; surface to the client as EIO (bad credentials, disk full)
**   NOT_FOUND     the object/key does not exist (not an error for delete)
**   PRECONDITION  a conditional operation lost: put-if-absent on an existing key
**   UNSUPPORTED   the operation or option is not implemented by this plugin
**   CORRUPT       data failed an integrity or authentication check (never retried)
**   INVALID       the caller passed something invalid (bad config value, bad argument)
** Along with a non-zero return a plugin should call host->set_error() with a human message; the
** host includes it in logs and user-facing errors.
** ------------------------------------------------------------------------------------------- */
#define BP_OK 0
#define BP_ERR_TRANSIENT (-1)
#define BP_ERR_PERMANENT (-2)
#define BP_ERR_NOT_FOUND (-3)
#define BP_ERR_PRECONDITION (-4)
#define BP_ERR_UNSUPPORTED (-5)
#define BP_ERR_CORRUPT (-6)
#define BP_ERR_INVALID (-7)

/* Plugin kinds. */
#define BP_KIND_BACKEND 1
#define BP_KIND_CODEC 2
#define BP_KIND_FRONTEND 3
#define BP_KIND_FILTER 4 /* since 1.6: sits between the host and the backend (bp_filter.h) */

/* Thread models, strictest first. The host honours the declared model for every callback that
** takes a handle:
**   SERIALIZE_ALL     at most one callback at a time across all handles of the plugin
**   SERIALIZE_HANDLE  at most one callback at a time per handle; different handles in parallel
**   PARALLEL          any callback may run concurrently with any other                        */
#define BP_THREAD_SERIALIZE_ALL 0
#define BP_THREAD_SERIALIZE_HANDLE 1
#define BP_THREAD_PARALLEL 2

/* Log levels for host->log. */
#define BP_LOG_DEBUG 0
#define BP_LOG_INFO 1
#define BP_LOG_WARN 2
#define BP_LOG_ERROR 3

/* ---------------------------------------------------------------------------------------------
** The plugin header. First member of every plugin struct (bp_backend_plugin, bp_codec_plugin,
** bp_frontend_plugin, bp_filter_plugin). Filled by the BP_REGISTER_* macros; plugin authors set only name,
** description and version through the plugin struct's initializer.
** This layout is frozen for all ABI majors so that any host can read a foreign plugin's version.
** ------------------------------------------------------------------------------------------- */
struct bp_plugin_header {
  uint32_t abi_major;      /* set by the macro: BP_ABI_MAJOR the plugin was compiled against */
  uint32_t abi_minor;      /* set by the macro: BP_ABI_MINOR the plugin was compiled against */
  uint32_t kind;           /* set by the macro: BP_KIND_* */
  uint32_t struct_size;    /* set by the macro: sizeof the full plugin struct */
  uint32_t thread_model;   /* set by the macro: BP_THREAD_* */
  uint32_t reserved;       /* zero */
  const char *name;        /* plugin author: short name used in config ("file", "lz4"); static;
                              see BP_PLUGIN_NAME_MAX_LENGTH */
  const char *version;     /* plugin author: free-form version string; static, may be NULL */
  const char *description; /* plugin author: one line for `blockpipe plugins`; static or NULL */
};

/* Longest plugin name, in bytes (since 1.5 as a macro; the host always refused longer names).
** A name is letters, digits, '.', '_' and '-': it is also part of the plugin's file name,
** blockpipe-<kind>-<name>.so, and codecs are recorded by it in volume metadata. */
#define BP_PLUGIN_NAME_MAX_LENGTH 64

/* ---------------------------------------------------------------------------------------------
** Config keys. Each plugin declares its keys as a static array terminated by an entry whose
** name is NULL. The host validates the user's TOML against it and generates help text.
** Only typed scalars and strings cross the ABI; the host converts:
**   STRING  any string                          read with config_string
**   INT     integer                             read with config_int
**   BOOL    true/false                          read with config_bool
**   SIZE    integer bytes or "64MiB", "1GiB"…   read with config_int (bytes)
**   PATH    string, relative to the config file read with config_string (made absolute)
**   LIST    array of strings                    read with config_list_count / config_list_item
**   SECRET  string never logged or printed      read with config_string
** default_value is the string form of the default (NULL: no default). A required key has no
** default. All strings are static and owned by the plugin.
** ------------------------------------------------------------------------------------------- */
#define BP_CFG_STRING 1
#define BP_CFG_INT 2
#define BP_CFG_BOOL 3
#define BP_CFG_SIZE 4
#define BP_CFG_PATH 5
#define BP_CFG_LIST 6
#define BP_CFG_SECRET 7

struct bp_config_key {
  const char *name;          /* TOML key */
  int type;                  /* BP_CFG_* */
  const char *default_value; /* string form of the default, or NULL */
  int required;              /* non-zero: the key must be present */
  const char *help;          /* one or two sentences for --help and `blockpipe plugins` */
};

/* Opaque handles owned by the host. */
struct bp_config; /* one plugin instance's validated config section; valid until close() */
struct bp_buf;    /* growable output buffer the host owns; see buf_* services */
struct bp_list;   /* sink for list results; see list_* services */

/* ---------------------------------------------------------------------------------------------
** Host services. Passed to blockpipe_plugin_entry() and valid until unload. Every function is
** thread-safe. The table only grows: check BP_HOST_HAS before using slots newer than minor 0.
** ------------------------------------------------------------------------------------------- */
struct bp_host_api {
  uint32_t struct_size; /* sizeof(struct bp_host_api) in the host */
  uint32_t abi_minor;   /* BP_ABI_MINOR of the host */

  /* Log a message (printf-free: already formatted, UTF-8, no trailing newline needed).
  ** Never pass secrets. */
  void (*log)(int level, const char *plugin_name, const char *message);

  /* Record the message for the error the current callback is about to return. The host copies
  ** it; it is per-thread, so set it on the thread that returns the error. */
  void (*set_error)(const char *message);

  /* Config lookup on the instance's validated section. Keys must be declared in config_keys.
  ** Returned strings live until the instance is closed. A key that is absent and has no
  ** default returns NULL / 0 / count 0; config_has tells presence (defaults count as present). */
  int (*config_has)(const struct bp_config *cfg, const char *key);
  const char *(*config_string)(const struct bp_config *cfg, const char *key);
  int64_t (*config_int)(const struct bp_config *cfg, const char *key);
  int (*config_bool)(const struct bp_config *cfg, const char *key);
  size_t (*config_list_count)(const struct bp_config *cfg, const char *key);
  const char *(*config_list_item)(const struct bp_config *cfg, const char *key, size_t index);
  /* Directory of the config file (absolute), for plugins that resolve extra relative paths. */
  const char *(*config_dir)(const struct bp_config *cfg);

  /* Host-owned growable buffers. buf_reserve returns a pointer to at least n writable bytes
  ** after the current end (valid until the next call on the same buffer) or NULL when out of
  ** memory; buf_commit then appends n of them. buf_append copies. buf_size is the current
  ** length. The reserved bytes are not cleared and may hold earlier data (the host reuses
  ** buffers): commit only bytes the callback wrote. A callback that fails may leave partial
  ** contents; the host discards them. */
  void *(*buf_reserve)(struct bp_buf *buf, size_t n);
  void (*buf_commit)(struct bp_buf *buf, size_t n);
  int (*buf_append)(struct bp_buf *buf, const void *data, size_t n);
  size_t (*buf_size)(const struct bp_buf *buf);

  /* List sinks (backend list callback). list_add copies key. list_set_next records the opaque
  ** cursor for the next page (copied); not calling it means the listing is complete. */
  int (*list_add)(struct bp_list *list, const char *key, uint64_t size);
  void (*list_set_next)(struct bp_list *list, const char *cursor);

  /* Metrics: add delta to a counter named "<plugin>_<name>" exported in Prometheus format.
  ** name is [a-z0-9_]+. Cheap enough for the data path. */
  void (*metric_add)(const char *plugin_name, const char *name, int64_t delta);

  /* ---- end of ABI 1.0 (1.1 and 1.2 added no host services) ---- */

  /* Since 1.3. Append the n bytes at `data` to an encode's output, where `data` lies within the
  ** `in` buffer of the encode call that received `buf`: the result is exactly that of
  ** buf_append(buf, data, n), but the host may keep a reference to its own input instead of
  ** copying it, so a codec that stores (part of) a unit unchanged costs no copy. Like
  ** buf_append, it ends any outstanding reservation. Bytes outside that input, a call outside
  ** encode, and a host that cannot keep a reference there all get a copy, so a codec must not
  ** depend on either outcome. Check BP_HOST_HAS(bp_host, buf_append_input) first and use
  ** buf_append on an older host. */
  int (*buf_append_input)(struct bp_buf *buf, const void *data, size_t n);

  /* ---- end of ABI 1.3 ---- */
};

#define BP_HOST_HAS(host, slot)                                                        \
  ((host) != NULL &&                                                                   \
   (host)->struct_size >= offsetof(struct bp_host_api, slot) + sizeof((host)->slot) && \
   (host)->slot != NULL)

/* Signature of the exported entry point. Returns the plugin header (first member of the plugin
** struct), which must stay valid until unload. Called once per load. */
typedef const struct bp_plugin_header *(*bp_plugin_entry_fn)(const struct bp_host_api *host);

/* Internal helper of the BP_REGISTER_* macros. Defines the entry point and a hidden global
** `bp_host` through which the plugin calls host services. */
#define BP__REGISTER(plugin_struct, kind_value, thread_model_value)            \
  BP_HIDDEN const struct bp_host_api *bp_host = NULL;                          \
  BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry( \
      const struct bp_host_api *host) {                                        \
    bp_host = host;                                                            \
    (plugin_struct).header.abi_major = BP_ABI_MAJOR;                           \
    (plugin_struct).header.abi_minor = BP_ABI_MINOR;                           \
    (plugin_struct).header.kind = (kind_value);                                \
    (plugin_struct).header.struct_size = (uint32_t)sizeof(plugin_struct);      \
    (plugin_struct).header.thread_model = (thread_model_value);                \
    return &(plugin_struct).header;                                            \
  }

/* Declared for plugin code that calls services: `bp_host->log(...)`. */
extern BP_HIDDEN const struct bp_host_api *bp_host;

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_COMMON_H */
