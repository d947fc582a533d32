/*
** ABI layout pins: the offset and size of every field of every ABI 1.x struct, the size each
** struct had at the end of each minor, and the value of every constant that crosses the ABI.
** A change to any of them breaks every plugin already built, so it must fail the build.
**
** tests/old-abi/CMakeLists.txt compiles this file as C11 and as C++ against the current
** headers, and as C11 against each frozen header set (v1.N/): the pins of the fields a minor
** has hold for its frozen copy and for today's headers, so a minor's layout is checked against
** what it really shipped, not against a second copy of today's numbers.
**
** Why not in the public headers: they compile as C99, which has no _Static_assert, and a pin
** there would fail every third-party build on a platform whose numbers differ rather than tell
** the author anything. The numbers are those of x86_64 Linux (LP64), the platform blockpipe is
** built and released for; elsewhere only the constants are checked.
*/
#include <blockpipe/blockpipe.h>

#ifdef __cplusplus
#define BP_PIN(condition, what) static_assert(condition, what)
#else
#define BP_PIN(condition, what) _Static_assert(condition, what)
#endif

#define BP_PIN_FIELD(type, field, offset, size)                                                   \
  BP_PIN(offsetof(struct type, field) == (offset) && sizeof(((struct type *)0)->field) == (size), \
         "struct " #type ": field " #field " moved or changed size")
#define BP_PIN_SIZE(type, size) \
  BP_PIN(sizeof(struct type) == (size), "struct " #type " changed size")
#define BP_PIN_VALUE(name, value) BP_PIN((name) == (value), #name " changed value")

/* ---- constants ---- */

BP_PIN_VALUE(BP_ABI_MAJOR, 1);
BP_PIN_VALUE(BP_OK, 0);
BP_PIN_VALUE(BP_ERR_TRANSIENT, -1);
BP_PIN_VALUE(BP_ERR_PERMANENT, -2);
BP_PIN_VALUE(BP_ERR_NOT_FOUND, -3);
BP_PIN_VALUE(BP_ERR_PRECONDITION, -4);
BP_PIN_VALUE(BP_ERR_UNSUPPORTED, -5);
BP_PIN_VALUE(BP_ERR_CORRUPT, -6);
BP_PIN_VALUE(BP_ERR_INVALID, -7);
BP_PIN_VALUE(BP_KIND_BACKEND, 1);
BP_PIN_VALUE(BP_KIND_CODEC, 2);
BP_PIN_VALUE(BP_KIND_FRONTEND, 3);
#if BP_ABI_MINOR >= 6
BP_PIN_VALUE(BP_KIND_FILTER, 4);
#endif
BP_PIN_VALUE(BP_THREAD_SERIALIZE_ALL, 0);
BP_PIN_VALUE(BP_THREAD_SERIALIZE_HANDLE, 1);
BP_PIN_VALUE(BP_THREAD_PARALLEL, 2);
BP_PIN_VALUE(BP_LOG_DEBUG, 0);
BP_PIN_VALUE(BP_LOG_INFO, 1);
BP_PIN_VALUE(BP_LOG_WARN, 2);
BP_PIN_VALUE(BP_LOG_ERROR, 3);
BP_PIN_VALUE(BP_CFG_STRING, 1);
BP_PIN_VALUE(BP_CFG_INT, 2);
BP_PIN_VALUE(BP_CFG_BOOL, 3);
BP_PIN_VALUE(BP_CFG_SIZE, 4);
BP_PIN_VALUE(BP_CFG_PATH, 5);
BP_PIN_VALUE(BP_CFG_LIST, 6);
BP_PIN_VALUE(BP_CFG_SECRET, 7);

BP_PIN_VALUE(BP_BACKEND_CAP_RANGED_GET, 1u << 0);
BP_PIN_VALUE(BP_BACKEND_CAP_PUT_IF_ABSENT, 1u << 1);
BP_PIN_VALUE(BP_BACKEND_CAP_DELETE_MANY, 1u << 2);
BP_PIN_VALUE(BP_BACKEND_CAP_LIST_PAGES, 1u << 3);
BP_PIN_VALUE(BP_BACKEND_CAP_DURABLE_PUT, 1u << 4);
#if BP_ABI_MINOR >= 2
BP_PIN_VALUE(BP_BACKEND_CAP_CONDITIONAL_PUT, 1u << 5);
BP_PIN_VALUE(BP_VERSION_TAG_MAX, 256);
#endif
#if BP_ABI_MINOR >= 4
BP_PIN_VALUE(BP_BACKEND_CAP_LOCAL_READS, 1u << 6);
#endif
#if BP_ABI_MINOR >= 8
BP_PIN_VALUE(BP_BACKEND_CAP_DEFER_SYNC, 1u << 7);
BP_PIN_VALUE(BP_PUT_DEFER_SYNC, 1u << 1);
#endif
BP_PIN_VALUE(BP_PUT_IF_ABSENT, 1u << 0);

BP_PIN_VALUE(BP_CODEC_COMPRESSES, 1u << 0);
BP_PIN_VALUE(BP_CODEC_ENCRYPTS, 1u << 1);
BP_PIN_VALUE(BP_CODEC_AUTHENTICATES, 1u << 2);
BP_PIN_VALUE(BP_UNIT_DATA, 1);
BP_PIN_VALUE(BP_UNIT_SEGMENT_META, 2);
BP_PIN_VALUE(BP_UNIT_CHECKPOINT, 3);

/* The 1.0 names of request types and flags; since 1.5 deprecated aliases of the new ones. */
BP_PIN_VALUE(BP_IO_READ, 1);
BP_PIN_VALUE(BP_IO_WRITE, 2);
BP_PIN_VALUE(BP_IO_FLUSH, 3);
BP_PIN_VALUE(BP_IO_TRIM, 4);
BP_PIN_VALUE(BP_IO_WRITE_ZEROES, 5);
BP_PIN_VALUE(BP_IO_CACHE, 6);
BP_PIN_VALUE(BP_IO_FUA, 1u << 0);
BP_PIN_VALUE(BP_IO_NO_HOLE, 1u << 1);
BP_PIN_VALUE(BP_IO_FAST_ZERO, 1u << 2);
#if BP_ABI_MINOR >= 5
BP_PIN_VALUE(BP_IO_OP_READ, 1);
BP_PIN_VALUE(BP_IO_OP_WRITE, 2);
BP_PIN_VALUE(BP_IO_OP_FLUSH, 3);
BP_PIN_VALUE(BP_IO_OP_TRIM, 4);
BP_PIN_VALUE(BP_IO_OP_WRITE_ZEROES, 5);
BP_PIN_VALUE(BP_IO_OP_CACHE, 6);
BP_PIN_VALUE(BP_IO_FLAG_FUA, 1u << 0);
BP_PIN_VALUE(BP_IO_FLAG_NO_HOLE, 1u << 1);
BP_PIN_VALUE(BP_IO_FLAG_FAST_ZERO, 1u << 2);
#if BP_ABI_MINOR >= 7
BP_PIN_VALUE(BP_EXTENT_HOLE, 1u << 0);
BP_PIN_VALUE(BP_EXTENT_ZERO, 1u << 1);
#endif

/* The limits that were prose until 1.5 keep the values the prose stated. */
BP_PIN_VALUE(BP_PLUGIN_NAME_MAX_LENGTH, 64);
BP_PIN_VALUE(BP_KEY_MAX_LENGTH, 512);
BP_PIN_VALUE(BP_CODEC_HEADER_MAX_SIZE, 65536);
BP_PIN_VALUE(BP_VOLUME_UUID_SIZE, 16);
#endif

BP_PIN_VALUE(BP_VOLUME_READ_ONLY, 1u << 0);
BP_PIN_VALUE(BP_VOLUME_CAN_TRIM, 1u << 1);
BP_PIN_VALUE(BP_VOLUME_CAN_ZERO, 1u << 2);
BP_PIN_VALUE(BP_VOLUME_CAN_FAST_ZERO, 1u << 3);
BP_PIN_VALUE(BP_VOLUME_CAN_FLUSH, 1u << 4);
BP_PIN_VALUE(BP_VOLUME_CAN_FUA, 1u << 5);
BP_PIN_VALUE(BP_VOLUME_CAN_CACHE, 1u << 6);
BP_PIN_VALUE(BP_VOLUME_CAN_MULTI_CONN, 1u << 7);

/* ---- layouts (x86_64 Linux) ---- */

#if defined(__x86_64__) && defined(__LP64__) && defined(__linux__)

/* struct bp_plugin_header */
BP_PIN_FIELD(bp_plugin_header, abi_major, 0, 4);
BP_PIN_FIELD(bp_plugin_header, abi_minor, 4, 4);
BP_PIN_FIELD(bp_plugin_header, kind, 8, 4);
BP_PIN_FIELD(bp_plugin_header, struct_size, 12, 4);
BP_PIN_FIELD(bp_plugin_header, thread_model, 16, 4);
BP_PIN_FIELD(bp_plugin_header, reserved, 20, 4);
BP_PIN_FIELD(bp_plugin_header, name, 24, 8);
BP_PIN_FIELD(bp_plugin_header, version, 32, 8);
BP_PIN_FIELD(bp_plugin_header, description, 40, 8);
BP_PIN_SIZE(bp_plugin_header, 48);

/* struct bp_config_key */
BP_PIN_FIELD(bp_config_key, name, 0, 8);
BP_PIN_FIELD(bp_config_key, type, 8, 4);
BP_PIN_FIELD(bp_config_key, default_value, 16, 8);
BP_PIN_FIELD(bp_config_key, required, 24, 4);
BP_PIN_FIELD(bp_config_key, help, 32, 8);
BP_PIN_SIZE(bp_config_key, 40);

/* struct bp_host_api */
BP_PIN_FIELD(bp_host_api, struct_size, 0, 4);
BP_PIN_FIELD(bp_host_api, abi_minor, 4, 4);
BP_PIN_FIELD(bp_host_api, log, 8, 8);
BP_PIN_FIELD(bp_host_api, set_error, 16, 8);
BP_PIN_FIELD(bp_host_api, config_has, 24, 8);
BP_PIN_FIELD(bp_host_api, config_string, 32, 8);
BP_PIN_FIELD(bp_host_api, config_int, 40, 8);
BP_PIN_FIELD(bp_host_api, config_bool, 48, 8);
BP_PIN_FIELD(bp_host_api, config_list_count, 56, 8);
BP_PIN_FIELD(bp_host_api, config_list_item, 64, 8);
BP_PIN_FIELD(bp_host_api, config_dir, 72, 8);
BP_PIN_FIELD(bp_host_api, buf_reserve, 80, 8);
BP_PIN_FIELD(bp_host_api, buf_commit, 88, 8);
BP_PIN_FIELD(bp_host_api, buf_append, 96, 8);
BP_PIN_FIELD(bp_host_api, buf_size, 104, 8);
BP_PIN_FIELD(bp_host_api, list_add, 112, 8);
BP_PIN_FIELD(bp_host_api, list_set_next, 120, 8);
BP_PIN_FIELD(bp_host_api, metric_add, 128, 8);
#if BP_ABI_MINOR >= 3
BP_PIN_FIELD(bp_host_api, buf_append_input, 136, 8);
#endif
#if BP_ABI_MINOR >= 3
BP_PIN_SIZE(bp_host_api, 144);
#else
BP_PIN_SIZE(bp_host_api, 136);
#endif

/* struct bp_backend_plugin */
BP_PIN_FIELD(bp_backend_plugin, header, 0, 48);
BP_PIN_FIELD(bp_backend_plugin, url_schemes, 48, 8);
BP_PIN_FIELD(bp_backend_plugin, config_keys, 56, 8);
BP_PIN_FIELD(bp_backend_plugin, open, 64, 8);
BP_PIN_FIELD(bp_backend_plugin, close, 72, 8);
BP_PIN_FIELD(bp_backend_plugin, capabilities, 80, 8);
BP_PIN_FIELD(bp_backend_plugin, get, 88, 8);
BP_PIN_FIELD(bp_backend_plugin, read, 96, 8);
BP_PIN_FIELD(bp_backend_plugin, put, 104, 8);
BP_PIN_FIELD(bp_backend_plugin, del, 112, 8);
BP_PIN_FIELD(bp_backend_plugin, list, 120, 8);
BP_PIN_FIELD(bp_backend_plugin, delete_many, 128, 8);
#if BP_ABI_MINOR >= 2
BP_PIN_FIELD(bp_backend_plugin, get_tagged, 136, 8);
#endif
#if BP_ABI_MINOR >= 2
BP_PIN_FIELD(bp_backend_plugin, put_if_match, 144, 8);
#endif
#if BP_ABI_MINOR >= 3
BP_PIN_FIELD(bp_backend_plugin, put_parts, 152, 8);
#endif
#if BP_ABI_MINOR >= 8
BP_PIN_FIELD(bp_backend_plugin, sync, 160, 8);
BP_PIN_SIZE(bp_backend_plugin, 168);
#elif BP_ABI_MINOR >= 3
BP_PIN_SIZE(bp_backend_plugin, 160);
#elif BP_ABI_MINOR >= 2
BP_PIN_SIZE(bp_backend_plugin, 152);
#else
BP_PIN_SIZE(bp_backend_plugin, 136);
#endif

/* struct bp_span */
#if BP_ABI_MINOR >= 3
BP_PIN_FIELD(bp_span, data, 0, 8);
BP_PIN_FIELD(bp_span, length, 8, 8);
BP_PIN_SIZE(bp_span, 16);
#endif

/* struct bp_unit_ctx */
BP_PIN_FIELD(bp_unit_ctx, struct_size, 0, 4);
BP_PIN_FIELD(bp_unit_ctx, kind, 4, 4);
BP_PIN_FIELD(bp_unit_ctx, volume_uuid, 8, 8);
BP_PIN_FIELD(bp_unit_ctx, object_seq, 16, 8);
BP_PIN_FIELD(bp_unit_ctx, unit_index, 24, 8);
BP_PIN_FIELD(bp_unit_ctx, logical_length, 32, 8);
BP_PIN_SIZE(bp_unit_ctx, 40);

/* struct bp_codec_volume */
BP_PIN_FIELD(bp_codec_volume, struct_size, 0, 4);
BP_PIN_FIELD(bp_codec_volume, reserved, 4, 4);
BP_PIN_FIELD(bp_codec_volume, volume_uuid, 8, 8);
BP_PIN_FIELD(bp_codec_volume, volume_name, 16, 8);
BP_PIN_SIZE(bp_codec_volume, 24);

/* struct bp_codec_plugin */
BP_PIN_FIELD(bp_codec_plugin, header, 0, 48);
BP_PIN_FIELD(bp_codec_plugin, flags, 48, 4);
BP_PIN_FIELD(bp_codec_plugin, reserved, 52, 4);
BP_PIN_FIELD(bp_codec_plugin, config_keys, 56, 8);
BP_PIN_FIELD(bp_codec_plugin, open, 64, 8);
BP_PIN_FIELD(bp_codec_plugin, close, 72, 8);
BP_PIN_FIELD(bp_codec_plugin, encode, 80, 8);
BP_PIN_FIELD(bp_codec_plugin, decode, 88, 8);
#if BP_ABI_MINOR >= 1
BP_PIN_FIELD(bp_codec_plugin, rekey, 96, 8);
#endif
#if BP_ABI_MINOR >= 1
BP_PIN_SIZE(bp_codec_plugin, 104);
#else
BP_PIN_SIZE(bp_codec_plugin, 96);
#endif

/* struct bp_volume_info */
BP_PIN_FIELD(bp_volume_info, struct_size, 0, 4);
BP_PIN_FIELD(bp_volume_info, flags, 4, 4);
BP_PIN_FIELD(bp_volume_info, size, 8, 8);
BP_PIN_FIELD(bp_volume_info, min_block, 16, 4);
BP_PIN_FIELD(bp_volume_info, preferred_block, 20, 4);
BP_PIN_FIELD(bp_volume_info, max_request, 24, 4);
BP_PIN_FIELD(bp_volume_info, reserved, 28, 4);
BP_PIN_SIZE(bp_volume_info, 32);

/* struct bp_io */
BP_PIN_FIELD(bp_io, op, 0, 4);
BP_PIN_FIELD(bp_io, flags, 4, 4);
BP_PIN_FIELD(bp_io, offset, 8, 8);
BP_PIN_FIELD(bp_io, length, 16, 8);
BP_PIN_FIELD(bp_io, buf, 24, 8);
BP_PIN_FIELD(bp_io, done, 32, 8);
BP_PIN_FIELD(bp_io, user, 40, 8);
#if BP_ABI_MINOR >= 5
BP_PIN_FIELD(bp_io, struct_size, 48, 4);
#endif
#if BP_ABI_MINOR >= 5
BP_PIN_FIELD(bp_io, reserved, 52, 4);
#endif
#if BP_ABI_MINOR >= 5
BP_PIN_SIZE(bp_io, 56);
#else
BP_PIN_SIZE(bp_io, 48);
#endif

/* struct bp_volume_api */
BP_PIN_FIELD(bp_volume_api, struct_size, 0, 4);
BP_PIN_FIELD(bp_volume_api, reserved, 4, 4);
BP_PIN_FIELD(bp_volume_api, ctx, 8, 8);
BP_PIN_FIELD(bp_volume_api, list, 16, 8);
BP_PIN_FIELD(bp_volume_api, open, 24, 8);
BP_PIN_FIELD(bp_volume_api, close, 32, 8);
BP_PIN_FIELD(bp_volume_api, info, 40, 8);
BP_PIN_FIELD(bp_volume_api, submit, 48, 8);
#if BP_ABI_MINOR >= 7
BP_PIN_FIELD(bp_volume_api, extents, 56, 8);
BP_PIN_SIZE(bp_volume_api, 64);
#else
BP_PIN_SIZE(bp_volume_api, 56);
#endif

#if BP_ABI_MINOR >= 7
/* struct bp_extent: fixed size for all of ABI 1. */
BP_PIN_FIELD(bp_extent, length, 0, 8);
BP_PIN_FIELD(bp_extent, flags, 8, 4);
BP_PIN_FIELD(bp_extent, reserved, 12, 4);
BP_PIN_SIZE(bp_extent, 16);
#endif

/* struct bp_frontend_plugin */
BP_PIN_FIELD(bp_frontend_plugin, header, 0, 48);
BP_PIN_FIELD(bp_frontend_plugin, config_keys, 48, 8);
BP_PIN_FIELD(bp_frontend_plugin, open, 56, 8);
BP_PIN_FIELD(bp_frontend_plugin, start, 64, 8);
BP_PIN_FIELD(bp_frontend_plugin, stop, 72, 8);
BP_PIN_FIELD(bp_frontend_plugin, close, 80, 8);
BP_PIN_SIZE(bp_frontend_plugin, 88);

#if BP_ABI_MINOR >= 6
/* struct bp_filter_next (since 1.6) */
BP_PIN_FIELD(bp_filter_next, struct_size, 0, 4);
BP_PIN_FIELD(bp_filter_next, reserved, 4, 4);
BP_PIN_FIELD(bp_filter_next, ctx, 8, 8);
BP_PIN_FIELD(bp_filter_next, capabilities, 16, 8);
BP_PIN_FIELD(bp_filter_next, get, 24, 8);
BP_PIN_FIELD(bp_filter_next, read, 32, 8);
BP_PIN_FIELD(bp_filter_next, put, 40, 8);
BP_PIN_FIELD(bp_filter_next, put_parts, 48, 8);
BP_PIN_FIELD(bp_filter_next, get_tagged, 56, 8);
BP_PIN_FIELD(bp_filter_next, put_if_match, 64, 8);
BP_PIN_FIELD(bp_filter_next, del, 72, 8);
BP_PIN_FIELD(bp_filter_next, list, 80, 8);
#if BP_ABI_MINOR >= 8
BP_PIN_FIELD(bp_filter_next, sync, 88, 8);
BP_PIN_SIZE(bp_filter_next, 96);
#else
BP_PIN_SIZE(bp_filter_next, 88);
#endif

/* struct bp_filter_plugin (since 1.6) */
BP_PIN_FIELD(bp_filter_plugin, header, 0, 48);
BP_PIN_FIELD(bp_filter_plugin, config_keys, 48, 8);
BP_PIN_FIELD(bp_filter_plugin, open, 56, 8);
BP_PIN_FIELD(bp_filter_plugin, close, 64, 8);
BP_PIN_FIELD(bp_filter_plugin, capabilities, 72, 8);
BP_PIN_FIELD(bp_filter_plugin, get, 80, 8);
BP_PIN_FIELD(bp_filter_plugin, read, 88, 8);
BP_PIN_FIELD(bp_filter_plugin, put, 96, 8);
BP_PIN_FIELD(bp_filter_plugin, put_parts, 104, 8);
BP_PIN_FIELD(bp_filter_plugin, get_tagged, 112, 8);
BP_PIN_FIELD(bp_filter_plugin, put_if_match, 120, 8);
BP_PIN_FIELD(bp_filter_plugin, del, 128, 8);
BP_PIN_FIELD(bp_filter_plugin, list, 136, 8);
#if BP_ABI_MINOR >= 8
BP_PIN_FIELD(bp_filter_plugin, sync, 144, 8);
BP_PIN_SIZE(bp_filter_plugin, 152);
#else
BP_PIN_SIZE(bp_filter_plugin, 144);
#endif
#endif

#endif /* x86_64 Linux */
