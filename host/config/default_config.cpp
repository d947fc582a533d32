// RenderDefaultConfig: the commented blockpipe.toml that `blockpipe init` writes. It is the
// first thing a newcomer reads, so every key gets one line saying what it does, the engine
// section shows the built-in defaults (commented where changing them is rarely needed), and
// everything the daemon writes lives under the data directory. The [backend] section follows the
// URL's scheme (backend_section.cpp). The chain is lz4, or with
// --encrypt zstd → encrypt with the password read from ${BLOCKPIPE_PASSWORD}. ParseConfig must
// accept the result unchanged (with that variable set); unit tests check the round trip.
#include <cstdio>
#include <sstream>

#include "config/backend_section.h"
#include "config/config.h"

namespace bp {
namespace {

// A TOML basic string. "${" is written "$${" so a path containing it is not taken for an
// environment variable when the file is loaded.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else if (c == '$' && text.compare(i, 2, "${") == 0) {
      out += "$$";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Mebibytes(uint64_t bytes) {
  // Built by appending: GCC 12 warns (-Wrestrict, a false positive) on "\"" + std::string&&.
  auto quoted = [](uint64_t count, const char* unit) {
    std::string out(1, '"');
    out += std::to_string(count);
    out += unit;
    out += '"';
    return out;
  };
  if (bytes % (1ull << 30) == 0) return quoted(bytes >> 30, "GiB");
  if (bytes % (1ull << 20) == 0) return quoted(bytes >> 20, "MiB");
  if (bytes % (1ull << 10) == 0) return quoted(bytes >> 10, "KiB");
  return std::to_string(bytes);
}

// The [disk_cache] block: on with init --disk-cache SIZE, else shown commented out.
std::string RenderDiskCacheSection(const std::filesystem::path& data_dir, uint64_t size) {
  const std::string off = size == 0 ? "# " : "";
  std::string o =
      "# Disk cache of stored units (encrypted volumes stay encrypted on this disk): reads that\n"
      "# miss the memory cache, and every read after a restart, come from here instead of the\n"
      "# object store. Worth it for S3 and Azure; the file backend's objects are local already.\n";
  o += off + "[disk_cache]\n";
  o += off + "dir = " + Quote((data_dir / "cache").string()) + "\n";
  o += off + "size = " + (size == 0 ? std::string("\"4GiB\"") : Mebibytes(size)) + "\n\n";
  return o;
}

}  // namespace

// The [engine] keys of the write side and the [journal] table (`blockpipe init --journal`).
static std::string RenderWriteSide(const InitOptions& options, const EngineOptions& d,
                                   const std::filesystem::path& data_dir) {
  std::ostringstream o;
  o << "# Segment uploads in flight per volume; they become durable strictly in order.\n"
    << "uploads_in_flight = " << d.uploads_in_flight << "\n"
    << "# Where a FLUSH/FUA is acknowledged: \"store\" once the object store has the data;\n"
       "# \"local\" once it is committed to the local journal ([journal]), uploading in the\n"
       "# background. \"local\" survives a crash of the daemon or the host, not the loss of this\n"
       "# host's disk (docs/configuration.md).\n"
    << "durability = " << (options.journal ? "\"local\"" : "\"store\"") << "\n";
  if (!options.journal) return o.str();
  o << "\n"
       "[journal]\n"
       "# The local journal: a SQLite database of the segments flushes wait for, on local disk.\n"
    << "dir = " << Quote((data_dir / "journal").string()) << "\n"
    << "# Bound on what it holds; past it a FLUSH waits for the uploads instead.\n"
    << "max_size = " << Mebibytes(d.journal_max_size) << "\n";
  return o.str();
}

std::string RenderDefaultConfig(const InitOptions& options) {
  const auto data_dir = options.data_dir.lexically_normal();
  const std::string url =
      options.url.empty() ? "file://" + (data_dir / "objects").string() : options.url;
  const EngineOptions d;  // the built-in defaults, shown so users see what they would change
  std::ostringstream o;
  o << "# blockpipe configuration.\n"
       "# Strings may use ${VARIABLE} to read the environment (an unset variable is an error;\n"
       "# write $${ for a literal \"${\"). Sizes take \"4096\", \"64KiB\", \"16MiB\", \"1GiB\".\n"
       "# Relative paths are relative to the directory of this file.\n"
       "# `blockpipe plugins --config FILE` lists every plugin and the keys it accepts.\n"
       "\n"
       "[host]\n"
       "# Directory for everything the daemon keeps locally: sockets, lock file, caches.\n"
    << "data_dir = " << Quote(data_dir.string()) << "\n"
    << "# Unix socket that `blockpipe volume ...` and `blockpipe stats` talk to.\n"
    << "control_socket = " << Quote((data_dir / "control.sock").string()) << "\n"
    << "# Extra directories searched for plugins before the built-in one.\n"
       "plugin_dirs = []\n"
       "# debug, info, warn or error.\n"
       "log_level = \"info\"\n"
       "\n"
       "[engine]\n"
       "# Buffered writes are sealed into one segment object when they reach this size.\n"
    << "segment_size = " << Mebibytes(d.segment_size) << "\n"
    << "# Largest logical size of one stored unit: a power of two, 4KiB to 1MiB. Small random\n"
       "# reads fetch and decode one unit, so smaller units mean cheaper random reads.\n"
    << "unit_size = " << Mebibytes(d.unit_size) << "\n"
    << "# Durability: writes acknowledged without a FLUSH/FUA are uploaded within this many ms.\n"
       "# A host crash can lose at most this window of unflushed writes; a FLUSH or FUA reply\n"
       "# always means the data is in the object store.\n"
    << "flush_interval_ms = " << d.flush_interval_ms << "\n"
    << "# A full map checkpoint is written after this many segments (and once they hold 8x the\n"
       "# last checkpoint's size); recovery replays fewer, dead segments are deleted sooner.\n"
    << "checkpoint_every_segments = " << d.checkpoint_every_segments << "\n"
    << "# Memory for buffered writes per volume; writers wait when it is full.\n"
    << "write_buffer_limit = " << Mebibytes(d.write_buffer_limit) << "\n"
    << "# Memory cache of decoded units, shared by all volumes.\n"
    << "cache_memory = " << Mebibytes(d.cache_memory) << "\n"
    << "# Threads for backend calls and compression, shared by all volumes. Unset, the daemon\n"
       "# picks by the backend: "
    << EngineOptions::kIoThreadsRemote
    << " on a remote store (each GET holds a thread while it waits),\n"
       "# "
    << EngineOptions::kIoThreadsLocal
    << " on one that reads local files.\n"
       "# io_threads = "
    << EngineOptions::kIoThreadsRemote << "\n"
    << "# How long (ms) a failing backend call is retried before the client gets an I/O error.\n"
    << "retry_deadline_ms = " << d.retry_deadline_ms << "\n"
    << "# Allow writing on a backend without atomic put-if-absent. Two hosts writing the same\n"
       "# volume would then corrupt it; leave false unless one host is guaranteed.\n"
    << "allow_unfenced = " << (d.allow_unfenced ? "true" : "false") << "\n"
    << RenderWriteSide(options, d, data_dir) << "\n"
    << RenderDiskCacheSection(data_dir, options.disk_cache_size)
    << RenderBackendSection(options, url, Quote);
  o << "\n"
       "# Codecs transform every stored unit, in order: compression before encryption.\n"
       "# A volume records its chain when it is created; later changes apply to new volumes.\n";
  if (options.encrypt) {
    o << "[[codec]]\n"
         "plugin = \"zstd\"\n"
         "# Level 1 stores within a few percent of level 3 on sources and database pages and\n"
         "# encodes up to twice as fast; -1 is faster still but stores up to a quarter more.\n"
         "# Higher levels trade CPU per write for smaller objects (docs/plugins/codec-zstd.md).\n"
         "level = 1\n"
         "\n"
         "# Every unit, segment map and checkpoint is encrypted and authenticated under a random\n"
         "# key per volume; that key is stored wrapped under a key derived from the password with\n"
         "# Argon2id. Object names, sizes and counts stay visible.\n"
         "# The password is read from the environment so it never sits in this file:\n"
         "#   export BLOCKPIPE_PASSWORD='...'   before `blockpipe run`\n"
         "# or use password_file = \"/path/to/file\" (mode 0600) instead of password.\n"
         "# IF THE PASSWORD IS LOST, THE DATA IS LOST: nothing, not even this host, can read\n"
         "# the volumes without it. Keep a copy somewhere safe. A wrong password stops\n"
         "# `blockpipe run` with an error naming the volume; nothing is written.\n"
         "[[codec]]\n"
         "plugin = \"encrypt\"\n"
         "password = \"${BLOCKPIPE_PASSWORD}\"\n"
         "# Argon2id cost for new volumes: interactive, moderate or sensitive.\n"
         "kdf = \"moderate\"\n"
         "# Cipher for new volumes: xaes-256-gcm (AES-256-GCM with 192-bit random nonces; several\n"
         "# times faster on CPUs with AES instructions) or xchacha20-poly1305 (faster without\n"
         "# them). Each volume keeps the cipher it was created with (docs/security.md).\n"
         "cipher = \"xaes-256-gcm\"\n";
  } else {
    o << "[[codec]]\n"
         "plugin = \"lz4\"\n";
  }
  o << "\n"
       "# Block-device frontends. Clients connect with e.g.\n"
       "#   nbdinfo 'nbd://127.0.0.1:"
    << options.port << "/default'\n"
    << "[[frontend]]\n"
       "plugin = \"nbd\"\n"
       "# TCP addresses (host:port) and Unix sockets (unix:PATH) to listen on.\n"
    << "listen = [" << Quote("127.0.0.1:" + std::to_string(options.port)) << ", "
    << Quote("unix:" + (data_dir / "nbd.sock").string()) << "]\n";
  if (!options.tls_psk.empty()) {
    o << "# TLS is required before anything else, even listing exports. Clients connect with\n"
         "#   nbdinfo 'nbds://IDENTITY@127.0.0.1:"
      << options.port
      << "/default?tls-psk-file=FILE'\n"
         "tls = \"require\"\n"
         "# (A listen entry may name its own mode instead: \"unix:PATH tls=off\" serves local\n"
         "# tools in plaintext while TCP still requires TLS.)\n"
         "# Pre-shared keys, one \"identity:hexkey\" per line; readable by its owner only.\n"
         "tls_psk_file = "
      << Quote(options.tls_psk) << "\n";
  }
  o << "\n"
       "# Volumes created at startup when missing (more at runtime: blockpipe volume create).\n"
       "[[volume]]\n"
       "name = \"default\"\n"
       "size = \"1GiB\"\n";
  return o.str();
}

}  // namespace bp
