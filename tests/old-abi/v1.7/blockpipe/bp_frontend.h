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
**   frontend's own event loop. Since 1.5 a frontend sets io->struct_size = sizeof(struct bp_io)
**   (see HOW BIG IS A bp_io). Since 1.7 a frontend may ask where a volume's data lies
**   (extents(), for NBD's BLOCK_STATUS and sparse READ replies).
*/
#ifndef BLOCKPIPE_BP_FRONTEND_H
#define BLOCKPIPE_BP_FRONTEND_H

#include "bp_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Request types (bp_io.op). Named BP_IO_OP_* since 1.5, so that no type shares its prefix with
** a flag: under the 1.0 names (deprecated, below) BP_IO_READ and BP_IO_FUA were both 1. */
#define BP_IO_OP_READ 1
#define BP_IO_OP_WRITE 2
#define BP_IO_OP_FLUSH 3        /* every write completed before it is durable when done is called */
#define BP_IO_OP_TRIM 4         /* range becomes a hole: reads return zeros */
#define BP_IO_OP_WRITE_ZEROES 5 /* range reads as zeros */
#define BP_IO_OP_CACHE 6        /* advisory: prefetch the range */

/* Request flags (bp_io.flags), a bitmask; named BP_IO_FLAG_* since 1.5. The host completes a
** request carrying a bit it does not know with EINVAL rather than ignore it: a flag changes
** what the request promises, and one dropped silently could lose data. A frontend that sets a
** flag added after 1.0 checks bp_host->abi_minor first. */
#define BP_IO_FLAG_FUA (1u << 0) /* the request is durable when done is called */
#define BP_IO_FLAG_NO_HOLE \
  (1u << 1)                            /* WRITE_ZEROES: keep the range allocated (reads still
                                          zero) */
#define BP_IO_FLAG_FAST_ZERO (1u << 2) /* WRITE_ZEROES: fail with ENOTSUP unless it is fast */

/* Deprecated: the ABI 1.0 names, which share one prefix between types and flags
** (BP_IO_READ == BP_IO_FUA == 1). They stay, with the same values, for every 1.x minor so that
** existing frontends keep compiling; new code uses BP_IO_OP_* and BP_IO_FLAG_*. Define
** BP_NO_DEPRECATED before including this header to check that a frontend no longer uses them. */
#ifndef BP_NO_DEPRECATED
#define BP_IO_READ BP_IO_OP_READ
#define BP_IO_WRITE BP_IO_OP_WRITE
#define BP_IO_FLUSH BP_IO_OP_FLUSH
#define BP_IO_TRIM BP_IO_OP_TRIM
#define BP_IO_WRITE_ZEROES BP_IO_OP_WRITE_ZEROES
#define BP_IO_CACHE BP_IO_OP_CACHE
#define BP_IO_FUA BP_IO_FLAG_FUA
#define BP_IO_NO_HOLE BP_IO_FLAG_NO_HOLE
#define BP_IO_FAST_ZERO BP_IO_FLAG_FAST_ZERO
#endif

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
  uint32_t flags;           /* BP_VOLUME_* */
  uint64_t size;            /* bytes */
  uint32_t min_block;       /* smallest request granularity the volume handles (1) */
  uint32_t preferred_block; /* requests of this size and alignment avoid read-modify-write */
  uint32_t max_request;     /* largest READ/WRITE payload accepted, bytes */
  uint32_t reserved;
  /* ---- end of ABI 1.0 (1.1 to 1.5 did not change this struct) ---- */
};

/* One request. Owned by the frontend, from submit() until the host calls done; the host keeps
** the pointer until then and reads the fields from any of its threads.
**
** HOW BIG IS A bp_io (since 1.5)
**   The struct grows at the end like the plugin structs, but a request carries no plugin header,
**   so the host learns its layout in two steps:
**     1. the frontend's plugin header: a frontend whose header.abi_minor is below 5 has the
**        1.0 layout (offsetof(struct bp_io, struct_size) bytes) and the host reads nothing past
**        `user`;
**     2. from minor 5 on, io->struct_size: the frontend sets it to sizeof(struct bp_io). Zero
**        also reads as the 1.0 layout, so a frontend written for an older minor that
**        zero-initializes its requests works unchanged when rebuilt. Any other value smaller
**        than the 1.5 layout is a frontend bug and the request completes with EINVAL.
**   A field added after 1.5 is read only when struct_size covers it; a frontend built against
**   a newer minor than the host's (bp_host->abi_minor) must not rely on its newer fields. */
struct bp_io {
  /* Set by the frontend before submit; the host only reads them. */
  uint32_t op;     /* BP_IO_OP_* */
  uint32_t flags;  /* BP_IO_FLAG_* bits */
  uint64_t offset; /* bytes */
  uint64_t length; /* bytes; 0 for FLUSH */
  void *buf;       /* READ: filled by the host; WRITE: read by the host. Frontend-owned,
                      at least `length` bytes, untouched by the host after done. */
  /* Called exactly once by the host when the request is complete. error is 0 or a positive
  ** errno value: EIO, EINVAL, ENOSPC, EROFS, ENOTSUP (FAST_ZERO), ESHUTDOWN. */
  void (*done)(struct bp_io *io, int error);
  void *user; /* frontend's own pointer, untouched by the host */

  /* ---- end of ABI 1.0 (1.1 to 1.4 did not change this struct) ---- */

  uint32_t struct_size; /* since 1.5; set by the frontend: sizeof(struct bp_io), or 0 for the
                           1.0 layout (see HOW BIG IS A bp_io) */
  uint32_t reserved;    /* since 1.5; zero */

  /* ---- end of ABI 1.5 ---- */
};

/* One piece of a volume's allocation map, as extents() reports it (since 1.7). The struct has a
** fixed size for all of ABI 1: a later minor that needs more adds a new slot and a new struct. */
struct bp_extent {
  uint64_t length;   /* bytes; never 0 */
  uint32_t flags;    /* BP_EXTENT_* bits; 0 means allocated data */
  uint32_t reserved; /* zero */
};

/* Extent flags (since 1.7). They only ever promise less than data: ZERO means every byte reads
** as zero; HOLE means no storage is allocated (a HOLE that is not also ZERO would read as
** something other than zeros, which blockpipe volumes never have). A range the host cannot
** cheaply classify is reported as data (flags 0), which is always true. */
#define BP_EXTENT_HOLE (1u << 0)
#define BP_EXTENT_ZERO (1u << 1)

/* Callback for list(): called once per volume. */
typedef void (*bp_volume_list_fn)(void *arg, const char *name, const char *description,
                                  uint64_t size);

/* The host's volume functions for one frontend instance. Built by the host, read-only for the
** frontend, valid from open() until close() returns; every function is thread-safe. The table
** only grows: check BP_VOLUME_API_HAS before using a slot added after 1.0. */
struct bp_volume_api {
  uint32_t struct_size; /* set by the host: sizeof(struct bp_volume_api) in the host */
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
  ** writes past the end) via done; an unknown op, a flag bit the host does not know and an
  ** invalid struct_size also complete with EINVAL. */
  void (*submit)(struct bp_volume *volume, struct bp_io *io);

  /* ---- end of ABI 1.0 (1.1 to 1.5 did not change this struct) ---- */

  /* Since 1.7 (check BP_VOLUME_API_HAS(api, extents)). Describe the allocation of
  ** [offset, offset+length) as consecutive extents starting exactly at offset: up to
  ** max_extents of them are written to out (frontend-owned) and their number to *count. They may
  ** cover less than length (the host stops at max_extents, or early when the range is expensive
  ** to classify) but always at least one byte; adjacent extents have different flags. The answer
  ** is a snapshot: it includes every write completed before the call (buffered or durable) and
  ** may or may not include writes in flight. It never blocks on I/O — it reads the host's map in
  ** memory — so an event-loop thread may call it; any thread may. Returns BP_OK;
  ** BP_ERR_INVALID when length is 0, max_extents is 0 or the range ends past the volume;
  ** BP_ERR_PERMANENT when the volume is closed. */
  int (*extents)(struct bp_volume *volume, uint64_t offset, uint64_t length, struct bp_extent *out,
                 uint32_t max_extents, uint32_t *count);

  /* ---- end of ABI 1.7 ---- */
};

/* True when the host's volume API table `api` has `slot` (a slot added after 1.0), i.e. the host
** was built against a minor that includes it and filled it. Like BP_HOST_HAS. */
#define BP_VOLUME_API_HAS(api, slot)                                                   \
  ((api) != NULL &&                                                                    \
   (api)->struct_size >= offsetof(struct bp_volume_api, slot) + sizeof((api)->slot) && \
   (api)->slot != NULL)

struct bp_frontend_plugin {
  struct bp_plugin_header header;

  /* Config keys of the [[frontend]] section besides `plugin`. Static, may be NULL. */
  const struct bp_config_key *config_keys;

  /* Create an instance: validate config, bind listeners. volumes is valid until close(). */
  int (*open)(const struct bp_config *config, const struct bp_volume_api *volumes, void **handle);
  int (*start)(void *handle);
  void (*stop)(void *handle);
  void (*close)(void *handle);

  /* ---- end of ABI 1.0 (1.1 to 1.5 did not change this struct) ---- */
};

#define BP_REGISTER_FRONTEND(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_FRONTEND, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_FRONTEND_H */
