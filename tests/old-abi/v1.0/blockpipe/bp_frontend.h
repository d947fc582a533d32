/*
** blockpipe plugin SDK — frontend plugins (ABI v1).
**
** A frontend speaks a block protocol (NBD) to clients and turns requests into asynchronous calls
** on the host's volume API. It owns its sockets and threads; the host owns the volumes.
**
** LIFECYCLE
**   open(config, volumes)  parse config, bind listeners (so a bad address fails at startup)
**   start(handle)          begin accepting; returns at once (the frontend runs its own threads)
**   stop(handle)           stop accepting, let in-flight requests complete, close connections;
**                          returns when no more volume calls will be made
**   close(handle)          free everything
**
** THE VOLUME API
**   struct bp_volume_api is a table of host functions handed to open(); it stays valid until
**   close() returns. Requests are submitted as struct bp_io, owned by the frontend, which must
**   stay valid until io->done is called. done is called exactly once, possibly before submit()
**   returns and possibly on a host thread: it must not block, and should hand the reply to the
**   frontend's own event loop.
*/
#ifndef BLOCKPIPE_BP_FRONTEND_H
#define BLOCKPIPE_BP_FRONTEND_H

#include "bp_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Request types (bp_io.op). */
#define BP_IO_READ 1
#define BP_IO_WRITE 2
#define BP_IO_FLUSH 3        /* every write completed before it is durable when done is called */
#define BP_IO_TRIM 4         /* range becomes a hole: reads return zeros */
#define BP_IO_WRITE_ZEROES 5 /* range reads as zeros */
#define BP_IO_CACHE 6        /* advisory: prefetch the range */

/* Request flags (bp_io.flags). */
#define BP_IO_FUA (1u << 0)     /* the request is durable when done is called */
#define BP_IO_NO_HOLE (1u << 1) /* WRITE_ZEROES: keep the range allocated (reads still zero) */
#define BP_IO_FAST_ZERO (1u << 2) /* WRITE_ZEROES: fail with ENOTSUP unless it is fast */

/* Volume flags (bp_volume_info.flags). */
#define BP_VOLUME_READ_ONLY (1u << 0)
#define BP_VOLUME_CAN_TRIM (1u << 1)
#define BP_VOLUME_CAN_ZERO (1u << 2)
#define BP_VOLUME_CAN_FAST_ZERO (1u << 3)
#define BP_VOLUME_CAN_FLUSH (1u << 4)
#define BP_VOLUME_CAN_FUA (1u << 5)
#define BP_VOLUME_CAN_CACHE (1u << 6)
#define BP_VOLUME_CAN_MULTI_CONN (1u << 7) /* FLUSH on one connection covers writes from all */

struct bp_volume; /* opaque: one frontend reference to an open volume */

struct bp_volume_info {
  uint32_t struct_size;
  uint32_t flags;            /* BP_VOLUME_* */
  uint64_t size;             /* bytes */
  uint32_t min_block;        /* smallest request granularity the volume handles (1) */
  uint32_t preferred_block;  /* requests of this size and alignment avoid read-modify-write */
  uint32_t max_request;      /* largest READ/WRITE payload accepted, bytes */
  uint32_t reserved;
  /* ---- end of ABI 1.0 ---- */
};

struct bp_io {
  /* Set by the frontend before submit. */
  uint32_t op;     /* BP_IO_* */
  uint32_t flags;  /* BP_IO_* flags */
  uint64_t offset; /* bytes */
  uint64_t length; /* bytes; 0 for FLUSH */
  void *buf;       /* READ: filled by the host; WRITE: read by the host. Frontend-owned,
                      at least `length` bytes, untouched by the host after done. */
  /* Called exactly once by the host when the request is complete. error is 0 or a positive
  ** errno value: EIO, EINVAL, ENOSPC, EROFS, ENOTSUP (FAST_ZERO), ESHUTDOWN. */
  void (*done)(struct bp_io *io, int error);
  void *user; /* frontend's own pointer, untouched by the host */
  /* ---- end of ABI 1.0 ---- */
};

/* Callback for list(): called once per volume. */
typedef void (*bp_volume_list_fn)(void *arg, const char *name, const char *description,
                                  uint64_t size);

struct bp_volume_api {
  uint32_t struct_size;
  uint32_t reserved;
  void *ctx; /* pass as the first argument of list() and open() */

  /* List the volumes this frontend may export (names are valid during the callback). */
  int (*list)(void *ctx, bp_volume_list_fn fn, void *arg);

  /* Open a reference to the named volume. Fails with BP_ERR_NOT_FOUND for an unknown name
  ** (set_error carries the message). Each connection should hold its own reference; the host
  ** refuses to delete a volume while references exist. readonly: the frontend will not write. */
  int (*open)(void *ctx, const char *name, int readonly, struct bp_volume **volume);
  void (*close)(struct bp_volume *volume);

  /* Fill `info` (set info->struct_size first). Stable for the life of the reference. */
  int (*info)(struct bp_volume *volume, struct bp_volume_info *info);

  /* Submit one request. Never blocks on I/O. Requests on one reference may complete out of
  ** order. The host validates bounds and returns EINVAL (for reads and writes, ENOSPC for
  ** writes past the end) via done. */
  void (*submit)(struct bp_volume *volume, struct bp_io *io);

  /* ---- end of ABI 1.0 ---- */
};

struct bp_frontend_plugin {
  struct bp_plugin_header header;

  /* Config keys of the [[frontend]] section besides `plugin`. Static, may be NULL. */
  const struct bp_config_key *config_keys;

  /* Create an instance: validate config, bind listeners. volumes is valid until close(). */
  int (*open)(const struct bp_config *config, const struct bp_volume_api *volumes,
              void **handle);
  int (*start)(void *handle);
  void (*stop)(void *handle);
  void (*close)(void *handle);

  /* ---- end of ABI 1.0 ---- */
};

#define BP_REGISTER_FRONTEND(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_FRONTEND, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_FRONTEND_H */
