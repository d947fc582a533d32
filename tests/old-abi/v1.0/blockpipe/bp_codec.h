/*
** blockpipe plugin SDK — codec plugins (ABI v1).
**
** A codec transforms each stored unit on its way to and from the backend: compression,
** encryption, or anything a third party needs. A volume's codec chain is fixed when the volume
** is created and recorded in its metadata (codec name plus the codec's own header bytes, in
** chain order). Encoding runs the chain first to last; decoding runs it last to first.
**
** FAIL CLOSED
**   decode() must return BP_ERR_CORRUPT for any input it did not produce (bad magic, bad
**   checksum, failed authentication), never pass bytes through. A volume naming a codec the
**   host has not loaded is refused.
**
** PERSISTENT HEADER
**   Each codec instance may keep a small header (<= 64 KiB) in the volume metadata: a salt, a
**   wrapped key, parameters. When a volume is created, open() receives stored_header == NULL
**   and may append its new header to `new_header`; when an existing volume is opened, open()
**   receives the stored bytes and must reject headers it cannot use (BP_ERR_INVALID, or
**   BP_ERR_PERMANENT with a clear message for e.g. a wrong password).
**
** UNIT CONTEXT
**   encode/decode receive a bp_unit_ctx describing where the unit lives. Authenticating codecs
**   bind it as associated data so a unit moved elsewhere fails to decode.
**
** THREADING
**   encode/decode on one handle may be called concurrently from many threads if the codec
**   declares BP_THREAD_PARALLEL; keep per-call state on the stack.
*/
#ifndef BLOCKPIPE_BP_CODEC_H
#define BLOCKPIPE_BP_CODEC_H

#include "bp_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a codec does (bp_codec_plugin.flags). The host enforces order: codecs that compress must
** come before codecs that encrypt in a chain (encrypted bytes do not compress). */
#define BP_CODEC_COMPRESSES (1u << 0)
#define BP_CODEC_ENCRYPTS (1u << 1)
#define BP_CODEC_AUTHENTICATES (1u << 2) /* decode detects tampering */

/* Kinds of stored units (bp_unit_ctx.kind). */
#define BP_UNIT_DATA 1       /* a data unit inside a segment */
#define BP_UNIT_SEGMENT_META 2 /* a segment's map delta and unit index */
#define BP_UNIT_CHECKPOINT 3 /* a checkpoint (full map) */

/* Identity of one stored unit, for authenticating codecs. Owned by the host; valid during the
** call only. */
struct bp_unit_ctx {
  uint32_t struct_size;      /* sizeof(struct bp_unit_ctx) in the host */
  uint32_t kind;             /* BP_UNIT_* */
  const uint8_t *volume_uuid; /* 16 bytes */
  uint64_t object_seq;       /* sequence number of the segment/checkpoint holding the unit */
  uint64_t unit_index;       /* index of the unit in its object (0 for meta/checkpoint) */
  uint64_t logical_length;   /* decoded length of the whole chain output for this unit */
  /* ---- end of ABI 1.0 ---- */
};

/* Facts about the volume a codec instance serves. Owned by the host; valid during open(). */
struct bp_codec_volume {
  uint32_t struct_size;
  uint32_t reserved;
  const uint8_t *volume_uuid; /* 16 bytes */
  const char *volume_name;    /* for messages */
  /* ---- end of ABI 1.0 ---- */
};

struct bp_codec_plugin {
  /* Filled by BP_REGISTER_CODEC except name/version/description. The name is what users write
  ** in `[[codec]] plugin = "..."` and what volume metadata records. */
  struct bp_plugin_header header;

  /* BP_CODEC_* bits. */
  uint32_t flags;
  uint32_t reserved;

  /* Config keys accepted in the codec's [[codec]] section besides `plugin`. Static, may be NULL. */
  const struct bp_config_key *config_keys;

  /* Open an instance for one volume. stored_header/stored_len: the bytes this codec appended to
  ** new_header when the volume was created, or NULL/0 when creating. new_header: append the
  ** header to persist (only when creating; ignored otherwise). On failure leave *handle NULL,
  ** set_error, return an error. */
  int (*open)(const struct bp_config *config, const struct bp_codec_volume *volume,
              const void *stored_header, size_t stored_len, struct bp_buf *new_header,
              void **handle);

  void (*close)(void *handle);

  /* Encode `in_len` bytes, appending the result to `out`. Must not fail except for out of
  ** memory or internal errors (BP_ERR_PERMANENT). */
  int (*encode)(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                struct bp_buf *out);

  /* Decode `in_len` bytes produced by encode() for the same unit context, appending the result
  ** to `out`. Returns BP_ERR_CORRUPT when the input is not valid. */
  int (*decode)(void *handle, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                struct bp_buf *out);

  /* ---- end of ABI 1.0 ---- */
};

#define BP_REGISTER_CODEC(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_CODEC, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_CODEC_H */
