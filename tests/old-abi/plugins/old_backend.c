/*
** blockpipe-backend-abi1N: an in-memory backend as a third party would have written it against
** the SDK of ABI 1.N. tests/old-abi/CMakeLists.txt compiles this file once per frozen header set
** (tests/old-abi/v1.N), with OLD_NAME set to "abi1N"; it fills the slots that minor has:
**   1.0  no capabilities() and no read(): the host must claim nothing and emulate ranged reads
**   1.1  capabilities() claims CONDITIONAL_PUT although 1.1 has no get_tagged/put_if_match:
**        the host must drop the bit (a real plugin could set any bit; the host trusts slots)
**   1.2  get_tagged / put_if_match (version tags are a generation counter)
**   1.3  put_parts
**   1.4  BP_BACKEND_CAP_LOCAL_READS
** The plugin struct is followed in memory by pointers to a function that aborts: a host that
** read past the declared struct_size would take them for the newer slots and call them.
** Thread model SERIALIZE_ALL, so the object table needs no lock.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockpipe/bp_backend.h>

#define MAX_OBJECTS 256
#define MAX_KEY 600 /* longer than any key the host may pass */

struct object {
  char key[MAX_KEY];
  unsigned char *data;
  uint64_t length;
  uint64_t generation; /* the version tag, since 1.2 */
};

static struct object objects[MAX_OBJECTS];
static uint64_t next_generation = 1;

static struct object *find(const char *key) {
  for (int i = 0; i < MAX_OBJECTS; ++i) {
    if (objects[i].data != NULL && strcmp(objects[i].key, key) == 0) return &objects[i];
  }
  return NULL;
}

static int fail(int code, const char *what, const char *key) {
  char msg[700];
  snprintf(msg, sizeof msg, "%s: %s %s", OLD_NAME, what, key);
  bp_host->set_error(msg);
  return code;
}

/* Replaces (or creates) `key` with the bytes of `count` pieces. */
static int store(const char *key, const void *const *data, const uint64_t *lengths, size_t count,
                 uint32_t flags) {
  struct object *o = find(key);
  if (o != NULL && (flags & BP_PUT_IF_ABSENT)) return BP_ERR_PRECONDITION;
  if (strlen(key) >= MAX_KEY) return fail(BP_ERR_INVALID, "key too long:", key);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += lengths[i];
  unsigned char *bytes = malloc(total > 0 ? (size_t)total : 1);
  if (bytes == NULL) return fail(BP_ERR_PERMANENT, "out of memory storing", key);
  uint64_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    if (lengths[i] > 0) memcpy(bytes + at, data[i], (size_t)lengths[i]);
    at += lengths[i];
  }
  if (o == NULL) {
    for (int i = 0; i < MAX_OBJECTS && o == NULL; ++i) {
      if (objects[i].data == NULL) o = &objects[i];
    }
    if (o == NULL) {
      free(bytes);
      return fail(BP_ERR_PERMANENT, "store full at", key);
    }
    strcpy(o->key, key);
  } else {
    free(o->data);
  }
  o->data = bytes;
  o->length = total;
  o->generation = next_generation++;
  return BP_OK;
}

static int old_open(const struct bp_config *cfg, const char *url, void **handle) {
  static int instance;
  (void)cfg;
  if (strncmp(url, OLD_NAME "://", strlen(OLD_NAME) + 3) != 0) {
    *handle = NULL;
    return fail(BP_ERR_INVALID, "not my url:", url);
  }
  *handle = &instance;
  return BP_OK;
}

static void old_close(void *handle) {
  (void)handle;
  for (int i = 0; i < MAX_OBJECTS; ++i) {
    free(objects[i].data);
    objects[i].data = NULL;
  }
}

static int old_get(void *h, const char *key, struct bp_buf *out) {
  const struct object *o = find(key);
  (void)h;
  if (o == NULL) return BP_ERR_NOT_FOUND;
  return bp_host->buf_append(out, o->data, (size_t)o->length) == 0 ? BP_OK : BP_ERR_PERMANENT;
}

static int old_put(void *h, const char *key, const void *data, uint64_t length, uint32_t flags) {
  (void)h;
  return store(key, &data, &length, 1, flags);
}

static int old_del(void *h, const char *key) {
  struct object *o = find(key);
  (void)h;
  if (o == NULL) return BP_ERR_NOT_FOUND;
  free(o->data);
  o->data = NULL;
  return BP_OK;
}

static int by_key(const void *a, const void *b) {
  return strcmp((*(const struct object *const *)a)->key, (*(const struct object *const *)b)->key);
}

/* One page holds everything; the cursor is never used. */
static int old_list(void *h, const char *prefix, const char *cursor, struct bp_list *out) {
  const struct object *match[MAX_OBJECTS];
  size_t n = 0;
  (void)h;
  (void)cursor;
  for (int i = 0; i < MAX_OBJECTS; ++i) {
    if (objects[i].data != NULL && strncmp(objects[i].key, prefix, strlen(prefix)) == 0) {
      match[n++] = &objects[i];
    }
  }
  qsort(match, n, sizeof match[0], by_key);
  for (size_t i = 0; i < n; ++i) {
    if (bp_host->list_add(out, match[i]->key, match[i]->length) != 0) return BP_ERR_PERMANENT;
  }
  return BP_OK;
}

static int old_delete_many(void *h, const char *const *keys, size_t count, int *results) {
  for (size_t i = 0; i < count; ++i) results[i] = old_del(h, keys[i]);
  return BP_OK;
}

#if BP_ABI_MINOR >= 1
static uint64_t old_capabilities(void *handle) {
  uint64_t caps = BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_PUT_IF_ABSENT |
                  BP_BACKEND_CAP_DELETE_MANY | BP_BACKEND_CAP_DURABLE_PUT;
  (void)handle;
  /* 1.1 has no CONDITIONAL_PUT macro: the bit a 1.2 plugin would set, claimed without slots. */
  caps |= (uint64_t)1 << 5;
#if BP_ABI_MINOR >= 4
  caps |= BP_BACKEND_CAP_LOCAL_READS;
#endif
  return caps;
}

static int old_read(void *h, const char *key, uint64_t offset, uint64_t length, void *buf,
                    uint64_t *nread) {
  const struct object *o = find(key);
  (void)h;
  *nread = 0;
  if (o == NULL) return BP_ERR_NOT_FOUND;
  if (offset >= o->length) return BP_OK;
  *nread = o->length - offset < length ? o->length - offset : length;
  memcpy(buf, o->data + offset, (size_t)*nread);
  return BP_OK;
}
#endif

#if BP_ABI_MINOR >= 2
static int old_get_tagged(void *h, const char *key, struct bp_buf *out, char *tag) {
  const struct object *o = find(key);
  int rc = old_get(h, key, out);
  if (rc == BP_OK) snprintf(tag, BP_VERSION_TAG_MAX, "g%llu", (unsigned long long)o->generation);
  return rc;
}

static int old_put_if_match(void *h, const char *key, const void *data, uint64_t length,
                            const char *expected_tag, char *new_tag) {
  const struct object *o = find(key);
  char current[BP_VERSION_TAG_MAX];
  (void)h;
  if (o == NULL) return BP_ERR_PRECONDITION;
  snprintf(current, sizeof current, "g%llu", (unsigned long long)o->generation);
  if (strcmp(current, expected_tag) != 0) return BP_ERR_PRECONDITION;
  int rc = store(key, &data, &length, 1, 0);
  if (rc == BP_OK) {
    snprintf(new_tag, BP_VERSION_TAG_MAX, "g%llu", (unsigned long long)find(key)->generation);
  }
  return rc;
}
#endif

#if BP_ABI_MINOR >= 3
static int old_put_parts(void *h, const char *key, const struct bp_span *parts, size_t count,
                         uint32_t flags) {
  const void *data[64];
  uint64_t lengths[64];
  (void)h;
  if (count > 64) return fail(BP_ERR_UNSUPPORTED, "too many parts for", key);
  for (size_t i = 0; i < count; ++i) {
    data[i] = parts[i].data;
    lengths[i] = parts[i].length;
  }
  return store(key, data, lengths, count, flags);
}
#endif

static void past_the_struct(void) { abort(); }

static const char *const schemes[] = {OLD_NAME, NULL};

static struct {
  struct bp_backend_plugin plugin;
  void (*after[8])(void);
} self = {
    .plugin =
        {
            .header = {.name = OLD_NAME, .version = "1", .description = "in-memory backend"},
            .url_schemes = schemes,
            .open = old_open,
            .close = old_close,
            .get = old_get,
            .put = old_put,
            .del = old_del,
            .list = old_list,
            .delete_many = old_delete_many,
#if BP_ABI_MINOR >= 1
            .capabilities = old_capabilities,
            .read = old_read,
#endif
#if BP_ABI_MINOR >= 2
            .get_tagged = old_get_tagged,
            .put_if_match = old_put_if_match,
#endif
#if BP_ABI_MINOR >= 3
            .put_parts = old_put_parts,
#endif
        },
    .after = {past_the_struct, past_the_struct, past_the_struct, past_the_struct, past_the_struct,
              past_the_struct, past_the_struct, past_the_struct},
};

BP_REGISTER_BACKEND(self.plugin, BP_THREAD_SERIALIZE_ALL)
