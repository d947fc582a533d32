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
**   Each codec instance may keep a small header (at most BP_CODEC_HEADER_MAX_SIZE bytes) in the
**   volume metadata: a salt, a wrapped key, parameters. When a volume is created, open()
**   receives stored_header == NULL and may append its new header to `new_header`; when an
**   existing volume is opened, open() receives the stored bytes and must reject headers it
**   cannot use (BP_ERR_INVALID, or BP_ERR_PERMANENT with a clear message for e.g. a wrong
**   password).
**
** CHANGING THE SECRET (since 1.1)
**   A codec whose header holds a secret (a password-wrapped key) may implement rekey() so the
**   host can replace that header for a new password without rewriting any unit. The host calls
**   it only after checking the plugin's struct_size (BP_CODEC_HAS); plugins built against 1.0
**   keep loading and are simply not rekeyable.
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

/* Largest persistent header one codec instance may keep, in bytes (see PERSISTENT HEADER). The
** host refuses a larger header from open() or rekey(), and a volume whose metadata records one.
** A macro since 1.5; the limit was 64 KiB from 1.0 on. */
#define BP_CODEC_HEADER_MAX_SIZE 65536

/* Size of a volume's uuid in bytes (bp_unit_ctx.volume_uuid, bp_codec_volume.volume_uuid). A
** macro since 1.5; 16 from 1.0 on. */
#define BP_VOLUME_UUID_SIZE 16

/* Kinds of stored units (bp_unit_ctx.kind). */
#define BP_UNIT_DATA 1         /* a data unit inside a segment */
#define BP_UNIT_SEGMENT_META 2 /* a segment's map delta and unit index */
#define BP_UNIT_CHECKPOINT 3   /* a checkpoint (full map) */

/* Identity of one stored unit, for authenticating codecs. Owned by the host; valid during the
** call only. */
struct bp_unit_ctx {
  uint32_t struct_size;       /* sizeof(struct bp_unit_ctx) in the host */
  uint32_t kind;              /* BP_UNIT_* */
  const uint8_t *volume_uuid; /* BP_VOLUME_UUID_SIZE bytes */
  uint64_t object_seq;        /* sequence number of the segment/checkpoint holding the unit */
  uint64_t unit_index;        /* index of the unit in its object (0 for meta/checkpoint) */
  uint64_t logical_length;    /* decoded length of the whole chain output for this unit */
  /* ---- end of ABI 1.0 ---- */
};

/* Facts about the volume a codec instance serves. Owned by the host; valid during open(). */
struct bp_codec_volume {
  uint32_t struct_size;
  uint32_t reserved;
  const uint8_t *volume_uuid; /* BP_VOLUME_UUID_SIZE bytes */
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

  /* Since ABI 1.1; optional (NULL, or absent in a plugin built against 1.0: the codec cannot
  ** change its secret, and `blockpipe change-password` refuses volumes whose chain has an
  ** encrypting codec without it). Test with BP_CODEC_HAS(plugin, rekey) before calling.
  **
  ** Replace the secret that unlocks a volume without touching its data: given the header this
  ** codec stored for the volume (stored_header/stored_len, as open() receives them) and the
  ** instance config, which carries the current secret (for the encrypt codec, its password),
  ** append to new_header a header that
  **   - open() accepts when the config carries new_secret instead, and that decodes every unit
  **     encoded under the old header (the data key does not change), and
  **   - open() refuses with the current secret.
  ** The host then replaces the codec's header in the volume metadata with one atomic put, so a
  ** crash leaves the old or the new header, never a mix.
  **
  ** new_secret/new_secret_len: the new secret as the user typed it (bytes, not NUL-terminated,
  ** never empty). Owned by the host and valid during the call only; the plugin must not keep,
  ** log or echo it.
  **
  ** Returns
  **   BP_OK                new_header holds the replacement header.
  **   BP_ERR_PRECONDITION  the configured secret does not open the stored header but new_secret
  **                        does: the change was already made (an earlier, interrupted run got
  **                        this far). Nothing appended; the host leaves the header as it is.
  **                        This is what makes re-running an interrupted change-password safe.
  **   BP_ERR_PERMANENT     neither secret opens the header (a wrong current secret), with a
  **                        message naming the volume and never either secret.
  **   BP_ERR_INVALID       the stored header is malformed, or new_secret is unusable.
  ** No handle of the volume is open while rekey runs. The host serializes rekey like open()
  ** under the declared thread model. On failure new_header is discarded. */
  int (*rekey)(const struct bp_config *config, const struct bp_codec_volume *volume,
               const void *stored_header, size_t stored_len, const void *new_secret,
               size_t new_secret_len, struct bp_buf *new_header);

  /* ---- end of ABI 1.1 ---- */
};

/* Whether a codec plugin struct, as the host copied it from a plugin of any 1.x minor, has a
** slot added after 1.0 filled in: the declared struct_size covers the slot and it is not NULL. */
#define BP_CODEC_HAS(plugin, slot)                                        \
  ((plugin) != NULL &&                                                    \
   (plugin)->header.struct_size >=                                        \
       offsetof(struct bp_codec_plugin, slot) + sizeof((plugin)->slot) && \
   (plugin)->slot != NULL)

#define BP_REGISTER_CODEC(plugin_struct, thread_model) \
  BP__REGISTER(plugin_struct, BP_KIND_CODEC, thread_model)

#ifdef __cplusplus
}
#endif
#endif /* BLOCKPIPE_BP_CODEC_H */
