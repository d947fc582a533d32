/*
** blockpipe-backend-testmem: an in-memory object store for the loader tests, written in plain
** C99 against the SDK headers (which also proves they compile as C). It is a real backend:
** sorted keys, put-if-absent, compare-and-swap by version tag (ABI 1.2; can be switched off),
** ranged reads, paginated listing with a small configurable page, and optional injected
** transient put failures so retry handling can be observed.
** url: testmem://anything. Objects live as long as the instance.
*/
#include <blockpipe/bp_backend.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct object {
  char *key;
  unsigned char *data;
  uint64_t length;
  uint64_t version; /* tag "v<version>", new on every write */
};

struct store {
  pthread_mutex_t mu;
  struct object *objects; /* sorted by key */
  size_t count, capacity;
  int64_t page_size;
  int ranged;
  int64_t transient_puts; /* remaining injected failures */
  int conditional;
  uint64_t next_version;
};

static void fail(const char *message) { bp_host->set_error(message); }

/* Index of key, or of where it would go (found reports which). */
static size_t find(const struct store *s, const char *key, int *found) {
  size_t lo = 0, hi = s->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->objects[mid].key, key);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

static int mem_open(const struct bp_config *cfg, const char *url, void **handle) {
  struct store *s;
  *handle = NULL;
  if (strncmp(url, "testmem://", 10) != 0) {
    fail("testmem: url must start with testmem://");
    return BP_ERR_INVALID;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) return BP_ERR_PERMANENT;
  pthread_mutex_init(&s->mu, NULL);
  s->page_size = bp_host->config_int(cfg, "page_size");
  s->ranged = bp_host->config_bool(cfg, "ranged");
  s->transient_puts = bp_host->config_int(cfg, "transient_puts");
  s->conditional = bp_host->config_bool(cfg, "conditional_put");
  s->next_version = 1;
  if (s->page_size < 1) s->page_size = 1;
  *handle = s;
  return BP_OK;
}

static void mem_close(void *handle) {
  struct store *s = handle;
  size_t i;
  for (i = 0; i < s->count; ++i) {
    free(s->objects[i].key);
    free(s->objects[i].data);
  }
  free(s->objects);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static uint64_t mem_capabilities(void *handle) {
  struct store *s = handle;
  uint64_t caps = BP_BACKEND_CAP_PUT_IF_ABSENT | BP_BACKEND_CAP_LIST_PAGES;
  if (s->ranged) caps |= BP_BACKEND_CAP_RANGED_GET;
  if (s->conditional) caps |= BP_BACKEND_CAP_CONDITIONAL_PUT;
  return caps;
}

/* Copy object `key` (and its tag, when tag is not NULL) out under one lock. */
static int get_object(struct store *s, const char *key, struct bp_buf *out, char *tag) {
  int found, rc = BP_OK;
  size_t i;
  pthread_mutex_lock(&s->mu);
  i = find(s, key, &found);
  if (!found) {
    fail("testmem: no such object");
    rc = BP_ERR_NOT_FOUND;
  } else {
    /* Exercise the zero-copy path: reserve, fill, commit. */
    void *dst = bp_host->buf_reserve(out, (size_t)s->objects[i].length);
    if (dst == NULL) {
      rc = BP_ERR_PERMANENT;
    } else {
      if (s->objects[i].length) memcpy(dst, s->objects[i].data, (size_t)s->objects[i].length);
      bp_host->buf_commit(out, (size_t)s->objects[i].length);
      if (tag != NULL)
        snprintf(tag, BP_VERSION_TAG_MAX, "v%llu", (unsigned long long)s->objects[i].version);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static int mem_get(void *handle, const char *key, struct bp_buf *out) {
  return get_object(handle, key, out, NULL);
}

static int mem_read(void *handle, const char *key, uint64_t offset, uint64_t length, void *buf,
                    uint64_t *nread) {
  struct store *s = handle;
  int found, rc = BP_OK;
  size_t i;
  *nread = 0;
  pthread_mutex_lock(&s->mu);
  i = find(s, key, &found);
  if (!found) {
    fail("testmem: no such object");
    rc = BP_ERR_NOT_FOUND;
  } else if (offset < s->objects[i].length) {
    uint64_t n = s->objects[i].length - offset;
    if (n > length) n = length;
    memcpy(buf, s->objects[i].data + offset, (size_t)n);
    *nread = n;
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static int mem_put(void *handle, const char *key, const void *data, uint64_t length,
                   uint32_t flags) {
  struct store *s = handle;
  int found, rc = BP_OK;
  size_t i;
  unsigned char *copy = malloc(length ? (size_t)length : 1);
  if (copy == NULL) return BP_ERR_PERMANENT;
  if (length) memcpy(copy, data, (size_t)length);
  pthread_mutex_lock(&s->mu);
  i = find(s, key, &found);
  if (s->transient_puts > 0) {
    s->transient_puts--;
    fail("testmem: injected transient failure");
    rc = BP_ERR_TRANSIENT;
  } else if (found && (flags & BP_PUT_IF_ABSENT)) {
    fail("testmem: object exists");
    rc = BP_ERR_PRECONDITION;
  } else if (found) {
    free(s->objects[i].data);
    s->objects[i].data = copy;
    s->objects[i].length = length;
    s->objects[i].version = s->next_version++;
    copy = NULL;
  } else {
    if (s->count == s->capacity) {
      size_t cap = s->capacity ? s->capacity * 2 : 16;
      struct object *grown = realloc(s->objects, cap * sizeof *grown);
      if (grown == NULL) {
        rc = BP_ERR_PERMANENT;
        goto out;
      }
      s->objects = grown;
      s->capacity = cap;
    }
    memmove(&s->objects[i + 1], &s->objects[i], (s->count - i) * sizeof *s->objects);
    s->objects[i].key = strdup(key);
    s->objects[i].data = copy;
    s->objects[i].length = length;
    s->objects[i].version = s->next_version++;
    s->count++;
    copy = NULL;
  }
out:
  pthread_mutex_unlock(&s->mu);
  free(copy);
  return rc;
}

static void write_tag(uint64_t version, char *tag) {
  snprintf(tag, BP_VERSION_TAG_MAX, "v%llu", (unsigned long long)version);
}

static int mem_get_tagged(void *handle, const char *key, struct bp_buf *out, char *tag) {
  return get_object(handle, key, out, tag);
}

static int mem_put_if_match(void *handle, const char *key, const void *data, uint64_t length,
                            const char *expected_tag, char *new_tag) {
  struct store *s = handle;
  int found, rc = BP_OK;
  size_t i;
  char current[BP_VERSION_TAG_MAX];
  unsigned char *copy = malloc(length ? (size_t)length : 1);
  if (copy == NULL) return BP_ERR_PERMANENT;
  if (length) memcpy(copy, data, (size_t)length);
  pthread_mutex_lock(&s->mu);
  i = find(s, key, &found);
  if (found) write_tag(s->objects[i].version, current);
  if (!found || strcmp(current, expected_tag) != 0) {
    fail("testmem: version tag does not match");
    rc = BP_ERR_PRECONDITION;
  } else {
    free(s->objects[i].data);
    s->objects[i].data = copy;
    s->objects[i].length = length;
    s->objects[i].version = s->next_version++;
    write_tag(s->objects[i].version, new_tag);
    copy = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  free(copy);
  return rc;
}

static int mem_del(void *handle, const char *key) {
  struct store *s = handle;
  int found;
  size_t i;
  pthread_mutex_lock(&s->mu);
  i = find(s, key, &found);
  if (found) {
    free(s->objects[i].key);
    free(s->objects[i].data);
    memmove(&s->objects[i], &s->objects[i + 1], (s->count - i - 1) * sizeof *s->objects);
    s->count--;
  }
  pthread_mutex_unlock(&s->mu);
  if (!found) fail("testmem: no such object");
  return found ? BP_OK : BP_ERR_NOT_FOUND;
}

/* The cursor is the last key of the previous page. */
static int mem_list(void *handle, const char *prefix, const char *cursor, struct bp_list *out) {
  struct store *s = handle;
  size_t i, plen = strlen(prefix);
  int64_t added = 0;
  int found;
  pthread_mutex_lock(&s->mu);
  i = cursor ? find(s, cursor, &found) : find(s, prefix, &found);
  if (cursor && found) ++i;
  for (; i < s->count && strncmp(s->objects[i].key, prefix, plen) == 0; ++i) {
    if (added == s->page_size) {
      bp_host->list_set_next(out, s->objects[i - 1].key);
      break;
    }
    bp_host->list_add(out, s->objects[i].key, s->objects[i].length);
    ++added;
  }
  pthread_mutex_unlock(&s->mu);
  return BP_OK;
}

static const char *const schemes[] = {"testmem", NULL};
static const struct bp_config_key keys[] = {
    {"page_size", BP_CFG_INT, "2", 0, "Keys per listing page (small, to exercise paging)."},
    {"ranged", BP_CFG_BOOL, "true", 0, "Declare native ranged reads."},
    {"transient_puts", BP_CFG_INT, "0", 0, "Fail this many puts with a transient error first."},
    {"label", BP_CFG_STRING, NULL, 0, "Free text, unused."},
    {"conditional_put", BP_CFG_BOOL, "true", 0,
     "Declare compare-and-swap (get_tagged, put_if_match)."},
    {NULL, 0, NULL, 0, NULL},
};

static struct bp_backend_plugin plugin = {
    .header = {.name = "testmem", .version = "1", .description = "in-memory test backend"},
    .url_schemes = schemes,
    .config_keys = keys,
    .open = mem_open,
    .close = mem_close,
    .capabilities = mem_capabilities,
    .get = mem_get,
    .read = mem_read,
    .put = mem_put,
    .del = mem_del,
    .list = mem_list,
    .get_tagged = mem_get_tagged,
    .put_if_match = mem_put_if_match,
};

BP_REGISTER_BACKEND(plugin, BP_THREAD_PARALLEL)
