/*
** blockpipe-filter-guard — an example backend filter, in plain C99, to copy when you write your
** own. It sits between the daemon and its backend (see bp_filter.h) and does two things:
**
**   1. It refuses deletes of keys under configured prefixes, with a permanent error. A store
**      behind it cannot lose those objects through this daemon, whatever the daemon decides
**      (useful while you audit what a reclaimer would remove, or to protect a golden volume).
**   2. It counts the calls it sees per operation kind, as metrics guard_reads, guard_writes,
**      guard_deletes, guard_lists and guard_refused (`blockpipe stats` prints them with the
**      blockpipe_ prefix), and logs the totals when the instance closes.
**
** Config ([[filter]] table):
**
**     [[filter]]
**     plugin = "guard"
**     protect = ["volumes/golden/"]   # deletes of keys starting with these fail
**     log_refusals = true             # one warning per refused delete
**
** Everything else passes straight through to the next layer.
**
** What to copy from here:
**   - the open/close pattern: allocate a handle, keep the `next` pointer, validate config with
**     messages that name the key, leave *handle NULL on failure;
**   - calling the next layer: next->fn(next->ctx, ...) and returning its code unchanged, so the
**     lower layer's error message reaches the user too;
**   - slots left NULL pass through (this filter leaves get_tagged, put_if_match and put_parts
**     NULL but still counts them: see why below);
**   - thread safety: the handle is read-only after open and the counters are host metrics
**     (thread-safe), so the filter can declare BP_THREAD_PARALLEL.
*/
#include <blockpipe/bp_filter.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MAX_PREFIXES 32

/* One instance. Read-only after open, so any number of threads may use it at once. */
struct guard {
  const struct bp_filter_next *next; /* the layer below; the host keeps it valid until close */
  size_t prefix_count;
  char *prefixes[GUARD_MAX_PREFIXES]; /* copies: config strings live only until close anyway */
  int log_refusals;
};

/* The keys of the [[filter]] table besides `plugin`. The host validates the user's TOML against
** this table (unknown keys and wrong types are refused with file and line) before open runs. */
static const struct bp_config_key guard_keys[] = {
    {"protect", BP_CFG_LIST, NULL, 0,
     "Key prefixes whose objects this daemon may not delete (e.g. [\"volumes/golden/\"])."},
    {"log_refusals", BP_CFG_BOOL, "true", 0, "Log a warning for every refused delete."},
    {NULL, 0, NULL, 0, NULL},
};

static void guard_free(struct guard *g) {
  size_t i;
  for (i = 0; i < g->prefix_count; ++i) free(g->prefixes[i]);
  free(g);
}

static int guard_open(const struct bp_config *config, const struct bp_filter_next *next,
                      void **handle) {
  struct guard *g;
  size_t i, count;
  *handle = NULL; /* on every failure path the handle stays NULL */
  count = bp_host->config_list_count(config, "protect");
  if (count > GUARD_MAX_PREFIXES) {
    bp_host->set_error("guard: protect lists more than 32 prefixes");
    return BP_ERR_INVALID;
  }
  g = calloc(1, sizeof *g);
  if (g == NULL) {
    bp_host->set_error("guard: out of memory");
    return BP_ERR_PERMANENT;
  }
  g->next = next; /* keep the pointer, not a copy: a newer host may have a longer table */
  g->log_refusals = bp_host->config_bool(config, "log_refusals");
  for (i = 0; i < count; ++i) {
    const char *prefix = bp_host->config_list_item(config, "protect", i);
    if (prefix == NULL || prefix[0] == '\0') {
      guard_free(g);
      bp_host->set_error(
          "guard: protect must not contain an empty prefix (it would protect "
          "every key)");
      return BP_ERR_INVALID;
    }
    g->prefixes[i] = malloc(strlen(prefix) + 1);
    if (g->prefixes[i] == NULL) {
      guard_free(g);
      bp_host->set_error("guard: out of memory");
      return BP_ERR_PERMANENT;
    }
    strcpy(g->prefixes[i], prefix);
    g->prefix_count = i + 1;
  }
  *handle = g;
  return BP_OK;
}

static void guard_close(void *handle) {
  /* Called once, after every other call on the handle has returned. Must not call next. */
  guard_free(handle);
}

static int guard_protects(const struct guard *g, const char *key) {
  size_t i;
  for (i = 0; i < g->prefix_count; ++i) {
    if (strncmp(key, g->prefixes[i], strlen(g->prefixes[i])) == 0) return 1;
  }
  return 0;
}

/* ---- the filtered operations ---------------------------------------------------------------
** Each one counts, then passes the call on unchanged and returns what the next layer returned:
** on an error, the next layer has already set the message, which thereby reaches the user. */

static int guard_get(void *handle, const char *key, struct bp_buf *out) {
  const struct guard *g = handle;
  bp_host->metric_add("guard", "reads", 1);
  return g->next->get(g->next->ctx, key, out); /* out is the host's buffer: pass it on */
}

static int guard_read(void *handle, const char *key, uint64_t offset, uint64_t length, void *buf,
                      uint64_t *nread) {
  const struct guard *g = handle;
  bp_host->metric_add("guard", "reads", 1);
  return g->next->read(g->next->ctx, key, offset, length, buf, nread);
}

static int guard_put(void *handle, const char *key, const void *data, uint64_t length,
                     uint32_t flags) {
  const struct guard *g = handle;
  bp_host->metric_add("guard", "writes", 1);
  return g->next->put(g->next->ctx, key, data, length, flags);
}

/* put_parts is left NULL, yet multi-part writes are still counted: when a filter has put but not
** put_parts, the host joins the parts and calls put, so a filter that sees puts sees every
** whole-object write. (Implement put_parts to avoid that copy.) get_tagged and put_if_match,
** which replace a few small records by compare-and-swap, are left NULL too: they pass through
** uncounted. A filter that must see every write implements them as well. */

static int guard_del(void *handle, const char *key) {
  const struct guard *g = handle;
  if (guard_protects(g, key)) {
    char message[BP_KEY_MAX_LENGTH + 64];
    bp_host->metric_add("guard", "refused", 1);
    snprintf(message, sizeof message, "guard: refusing to delete protected %s", key);
    if (g->log_refusals) bp_host->log(BP_LOG_WARN, "guard", message);
    bp_host->set_error(message);
    /* PERMANENT: the host does not retry and reports the failure. NOT_FOUND would be wrong:
    ** the host treats it as a successful delete and would forget the object. */
    return BP_ERR_PERMANENT;
  }
  bp_host->metric_add("guard", "deletes", 1);
  return g->next->del(g->next->ctx, key);
}

static int guard_list(void *handle, const char *prefix, const char *cursor, struct bp_list *out) {
  const struct guard *g = handle;
  bp_host->metric_add("guard", "lists", 1);
  /* next->list returns the whole listing at once and never sets a cursor, so the host never
  ** calls us with one: passing `cursor` on is always NULL. */
  return g->next->list(g->next->ctx, prefix, cursor, out);
}

/* ---- registration ---------------------------------------------------------------------------
** Set the name (what users write in `plugin = "..."`; never rename it later), the description
** and the slots; BP_REGISTER_FILTER fills in the ABI version, kind, struct size and thread
** model. capabilities is left NULL: the filter reports what the layers below report. */
static struct bp_filter_plugin guard_plugin = {
    .header = {.name = "guard",
               .version = "1.0",
               .description = "refuses deletes under protected prefixes, counts calls"},
    .config_keys = guard_keys,
    .open = guard_open,
    .close = guard_close,
    .get = guard_get,
    .read = guard_read,
    .put = guard_put,
    .del = guard_del,
    .list = guard_list,
};

BP_REGISTER_FILTER(guard_plugin, BP_THREAD_PARALLEL)
