/*
** blockpipe-filter-testtrace: a filter for the loader tests, in plain C99 (which also proves
** bp_filter.h compiles as C). It makes its position in a stack visible in the stored bytes: a put
** appends "[label]" to the object before passing it on, and a get checks and strips that suffix
** again (BP_ERR_CORRUPT when it is missing), so a stack A → B stores "data[A][B]". A get reads
** the stored bytes with next->read into its own memory, the way a filter that transforms data
** must (a host buffer only grows). Because stored objects are longer than what the host wrote,
** it cannot serve ranged reads: capabilities() clears BP_BACKEND_CAP_RANGED_GET (and the bits of
** `mask`), and the host emulates reads with this get. Deletes can be failed with a configured
** code; list, put_parts and compare-and-swap are left NULL (pass-through), and `conditional =
** false` clears the compare-and-swap capability instead.
*/
#include <blockpipe/bp_filter.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trace {
  const struct bp_filter_next *next;
  char label[64]; /* "[label]" */
  size_t label_len;
  uint64_t mask;
  int64_t delete_code;
  int conditional;
};

static const struct bp_config_key keys[] = {
    {"label", BP_CFG_STRING, "t", 0, "Suffix appended to every stored object, in brackets."},
    {"mask", BP_CFG_INT, "0", 0, "Capability bits to clear."},
    {"delete_code", BP_CFG_INT, "0", 0, "Return this code from every delete (0: pass it on)."},
    {"conditional", BP_CFG_BOOL, "true", 0, "Pass compare-and-swap through."},
    {NULL, 0, NULL, 0, NULL},
};

static int trace_open(const struct bp_config *cfg, const struct bp_filter_next *next,
                      void **handle) {
  struct trace *t;
  const char *label = bp_host->config_string(cfg, "label");
  *handle = NULL;
  if (strlen(label) > 40) {
    bp_host->set_error("testtrace: label longer than 40 bytes");
    return BP_ERR_INVALID;
  }
  if (!BP_FILTER_NEXT_HAS(next, list)) {
    bp_host->set_error("testtrace: the host's next table lacks list");
    return BP_ERR_INVALID;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL) return BP_ERR_PERMANENT;
  t->next = next;
  snprintf(t->label, sizeof t->label, "[%s]", label);
  t->label_len = strlen(t->label);
  t->mask = (uint64_t)bp_host->config_int(cfg, "mask");
  t->delete_code = bp_host->config_int(cfg, "delete_code");
  t->conditional = bp_host->config_bool(cfg, "conditional");
  *handle = t;
  return BP_OK;
}

static void trace_close(void *handle) { free(handle); }

static uint64_t trace_capabilities(void *handle) {
  struct trace *t = handle;
  uint64_t caps = t->next->capabilities(t->next->ctx);
  caps &= ~(uint64_t)BP_BACKEND_CAP_RANGED_GET;
  if (!t->conditional) caps &= ~(uint64_t)BP_BACKEND_CAP_CONDITIONAL_PUT;
  return caps & ~t->mask;
}

static int trace_get(void *handle, const char *key, struct bp_buf *out) {
  struct trace *t = handle;
  const uint64_t chunk = 4096;
  unsigned char *data = NULL;
  uint64_t size = 0, got = 0;
  int rc;
  /* The whole object, chunk by chunk, until a short read says it ended. */
  do {
    unsigned char *grown = realloc(data, size + chunk);
    if (grown == NULL) {
      free(data);
      return BP_ERR_PERMANENT;
    }
    data = grown;
    rc = t->next->read(t->next->ctx, key, size, chunk, data + size, &got);
    if (rc != BP_OK) {
      free(data);
      return rc; /* the message of the layer below stays set */
    }
    size += got;
  } while (got == chunk);
  if (size < t->label_len || memcmp(data + size - t->label_len, t->label, t->label_len) != 0) {
    free(data);
    bp_host->set_error("testtrace: stored object lacks the label suffix");
    return BP_ERR_CORRUPT;
  }
  rc = bp_host->buf_append(out, data, size - t->label_len);
  free(data);
  return rc;
}

static int trace_put(void *handle, const char *key, const void *data, uint64_t length,
                     uint32_t flags) {
  struct trace *t = handle;
  unsigned char *copy = malloc(length + t->label_len);
  int rc;
  if (copy == NULL) return BP_ERR_PERMANENT;
  if (length != 0) memcpy(copy, data, length);
  memcpy(copy + length, t->label, t->label_len);
  rc = t->next->put(t->next->ctx, key, copy, length + t->label_len, flags);
  free(copy);
  return rc;
}

static int trace_del(void *handle, const char *key) {
  struct trace *t = handle;
  if (t->delete_code != 0) {
    bp_host->set_error("testtrace: deletes are refused here");
    return (int)t->delete_code;
  }
  return t->next->del(t->next->ctx, key);
}

static struct bp_filter_plugin plugin = {
    .header = {.name = "testtrace", .version = "1", .description = "labels stored objects"},
    .config_keys = keys,
    .open = trace_open,
    .close = trace_close,
    .capabilities = trace_capabilities,
    .get = trace_get,
    .put = trace_put,
    .del = trace_del,
};

BP_REGISTER_FILTER(plugin, BP_THREAD_PARALLEL)
