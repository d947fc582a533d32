/*
** blockpipe-frontend-abi1N: a frontend as a third party would have written it against the SDK
** of ABI 1.N (see old_backend.c for how it is built). Instead of a network protocol, start()
** lists the volumes and, for each, opens a reference, reads its info, writes a 4 KiB pattern
** with FUA, flushes, reads it back and compares. Results are host metrics:
** <name>_volumes_listed, <name>_roundtrips_ok, <name>_roundtrips_failed.
**
** Every request lies at the very end of a page whose next page is inaccessible: before 1.5 a
** struct bp_io ends after `user`, and a host that read one byte further (the struct_size of
** the 1.5 layout) would crash the test instead of reading the frontend's next object.
*/
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <blockpipe/bp_frontend.h>

#define IO_SIZE 4096

struct instance {
  const struct bp_volume_api *volumes;
};

struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int error;
};

static void on_done(struct bp_io *io, int error) {
  struct waiter *w = io->user;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  w->error = error;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* A bp_io placed so that its last byte is the last accessible one. */
struct guarded_io {
  unsigned char *mapping;
  size_t page;
  struct bp_io *io;
};

static int guarded_io_init(struct guarded_io *g) {
  g->page = (size_t)sysconf(_SC_PAGESIZE);
  g->mapping = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->mapping == MAP_FAILED) return -1;
  if (mprotect(g->mapping + g->page, g->page, PROT_NONE) != 0) {
    munmap(g->mapping, 2 * g->page);
    return -1;
  }
  g->io = (struct bp_io *)(void *)(g->mapping + g->page - sizeof(struct bp_io));
  return 0;
}

static void guarded_io_free(struct guarded_io *g) { munmap(g->mapping, 2 * g->page); }

static int run_io(const struct bp_volume_api *api, struct bp_volume *v, struct bp_io *io,
                  uint32_t op, uint32_t flags, void *buf, uint64_t len) {
  struct waiter w;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  w.done = 0;
  w.error = 0;
  memset(io, 0, sizeof *io);
#if BP_ABI_MINOR >= 5
  io->struct_size = sizeof *io; /* a 1.5 frontend declares its layout */
#endif
  io->op = op;
  io->flags = flags;
  io->offset = 0;
  io->length = len;
  io->buf = buf;
  io->done = on_done;
  io->user = &w;
  api->submit(v, io);
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  return w.error;
}

static int round_trip(const struct bp_volume_api *api, const char *name, struct bp_io *io) {
  static unsigned char out[IO_SIZE], in[IO_SIZE];
  struct bp_volume *v = NULL;
  struct bp_volume_info info;
  int ok;
  if (api->open(api->ctx, name, 0, &v) != BP_OK || v == NULL) return 0;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  ok = api->info(v, &info) == BP_OK && info.size >= IO_SIZE;
  for (size_t i = 0; i < IO_SIZE; ++i) out[i] = (unsigned char)(i * 13 + strlen(name));
  memset(in, 0, sizeof in);
  ok = ok && run_io(api, v, io, BP_IO_WRITE, BP_IO_FUA, out, IO_SIZE) == 0;
  ok = ok && run_io(api, v, io, BP_IO_FLUSH, 0, NULL, 0) == 0;
  ok = ok && run_io(api, v, io, BP_IO_READ, 0, in, IO_SIZE) == 0;
  ok = ok && memcmp(in, out, IO_SIZE) == 0;
  api->close(v);
  return ok;
}

struct names {
  char name[16][128];
  int count;
};

static void collect_name(void *arg, const char *name, const char *description, uint64_t size) {
  struct names *n = arg;
  (void)description;
  (void)size;
  if (n->count < 16 && strlen(name) < sizeof n->name[0]) strcpy(n->name[n->count++], name);
}

static int old_open(const struct bp_config *config, const struct bp_volume_api *volumes,
                    void **handle) {
  static struct instance inst;
  (void)config;
  inst.volumes = volumes;
  *handle = &inst;
  return BP_OK;
}

static int old_start(void *handle) {
  const struct bp_volume_api *api = ((struct instance *)handle)->volumes;
  static struct names names;
  struct guarded_io g;
  names.count = 0;
  if (api->list(api->ctx, collect_name, &names) != BP_OK) return BP_ERR_PERMANENT;
  bp_host->metric_add(OLD_NAME, "volumes_listed", names.count);
  if (guarded_io_init(&g) != 0) {
    bp_host->set_error(OLD_NAME ": cannot map the guarded request");
    return BP_ERR_PERMANENT;
  }
  for (int i = 0; i < names.count; ++i) {
    const int ok = round_trip(api, names.name[i], g.io);
    bp_host->metric_add(OLD_NAME, ok ? "roundtrips_ok" : "roundtrips_failed", 1);
  }
  guarded_io_free(&g);
  return BP_OK;
}

static void old_stop(void *handle) { (void)handle; }
static void old_close(void *handle) { (void)handle; }

static struct bp_frontend_plugin plugin = {
    .header = {.name = OLD_NAME, .version = "1", .description = "volume API exerciser"},
    .open = old_open,
    .start = old_start,
    .stop = old_stop,
    .close = old_close,
};

BP_REGISTER_FRONTEND(plugin, BP_THREAD_SERIALIZE_ALL)
