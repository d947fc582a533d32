// `blockpipe init`: write a commented default config under a data directory, so a newcomer
// has a working setup (file backend, lz4, one 1 GiB volume, NBD on TCP and a Unix socket).
// `--encrypt` makes that setup encrypted: the chain becomes zstd → encrypt with the password
// read from ${BLOCKPIPE_PASSWORD} when the daemon starts, so the secret never enters the file.
// `--url s3://BUCKET/PREFIX` or `azure://CONTAINER/PREFIX` (with `--endpoint` for a store other
// than AWS/Azure) puts the objects in a bucket or container; the credentials stay in the
// environment variables the AWS and Azure tools use. `--tls-psk FILE` makes the NBD frontend
// require TLS with the pre-shared keys in FILE, creating it (mode 0600, a fresh 256-bit key)
// when it does not exist.
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "config/config.h"

namespace bp::cli {
namespace {

constexpr const char* kPasswordVariable = "BLOCKPIPE_PASSWORD";

// The generated config is parsed before it is written, to catch a rendering bug. The password
// variable need not be set at init time, so for that check its reference is escaped into a
// literal; the written file keeps the real reference.
std::string CheckableText(std::string text, bool escape_password) {
  if (!escape_password) return text;
  const std::string reference = std::string("${") + kPasswordVariable + "}";
  for (size_t at = text.find(reference); at != std::string::npos;
       at = text.find(reference, at + 2)) {
    text.insert(at, "$");
  }
  return text;
}

// Creates path with one key "blockpipe:<64 hex digits>" unless it exists (*created says which).
// The file is created 0600 with O_EXCL, so an existing file is never overwritten nor exposed.
Status EnsurePskFile(const std::string& path, bool* created) {
  *created = false;
  uint8_t key[32];
  size_t got = 0;
  while (got < sizeof key) {
    ssize_t n = getrandom(key + got, sizeof key - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Permanent(std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string line = "blockpipe:";
  for (uint8_t b : key) {
    line += kHex[b >> 4];
    line += kHex[b & 15];
  }
  line += "\n";
  std::memset(key, 0, sizeof key);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::Permanent("cannot create " + path + ": " + std::strerror(errno));
  }
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  std::fill(line.begin(), line.end(), '\0');
  if (!ok) {
    unlink(path.c_str());
    return Status::Permanent("cannot write " + path);
  }
  *created = true;
  return Status::Ok();
}

}  // namespace

void RegisterInit(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("init", "Write a commented default config to DIR/blockpipe.toml");
  struct Options {
    std::string data_dir;
    std::string url;
    std::string endpoint;
    std::string region;
    uint16_t port = 10809;
    std::string tls_psk;
    bool force = false;
    bool encrypt = false;
    std::string disk_cache;
    bool journal = false;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option(
      "--data-dir", opts->data_dir,
      "Directory for the config, objects, sockets and caches (default ./blockpipe-data)");
  cmd->add_option("--url", opts->url,
                  "Storage URL (default file://DATA_DIR/objects; s3://bucket/prefix and "
                  "azure://container/prefix when those backends are installed)");
  cmd->add_option("--endpoint", opts->endpoint,
                  "Endpoint of an S3-compatible store (http://127.0.0.1:7480) or of an Azure Blob "
                  "service in path style (http://127.0.0.1:10000/ACCOUNT); omit for AWS and Azure");
  cmd->add_option("--region", opts->region,
                  "S3 region for request signatures (default us-east-1 "
                  "with --endpoint, else $AWS_REGION at run time)");
  cmd->add_option("--port", opts->port, "NBD TCP port on 127.0.0.1 (default 10809)");
  cmd->add_option("--tls-psk", opts->tls_psk,
                  "Require TLS with pre-shared keys from FILE (created with a fresh random key "
                  "for identity \"blockpipe\" when it does not exist)");
  cmd->add_flag("--force", opts->force, "Overwrite an existing config file");
  cmd->add_flag("--journal", opts->journal,
                "Acknowledge FLUSH from a local journal under the data dir "
                "([engine] durability = \"local\")");
  cmd->add_flag("--encrypt", opts->encrypt,
                "Encrypt volumes: codec chain zstd → encrypt, password from $BLOCKPIPE_PASSWORD");
  cmd->add_option(
      "--disk-cache", opts->disk_cache,
      "Keep a disk cache of SIZE (e.g. 4GiB) under DATA_DIR/cache (docs/configuration.md)");
  cmd->callback([opts, exit_code] {
    InitOptions init;
    init.data_dir = opts->data_dir.empty()
                        ? DefaultDataDir()
                        : std::filesystem::absolute(opts->data_dir).lexically_normal();
    init.url = opts->url.empty() ? "file://" + (init.data_dir / "objects").string() : opts->url;
    init.port = opts->port;
    init.endpoint = opts->endpoint;
    init.encrypt = opts->encrypt;
    init.region = opts->region;
    if (!opts->disk_cache.empty()) {
      if (Status st = ParseSize(opts->disk_cache, &init.disk_cache_size); !st.ok()) {
        *exit_code = ReportError(st.WithContext("--disk-cache"));
        return;
      }
    }
    if (!opts->tls_psk.empty()) {
      init.tls_psk = std::filesystem::absolute(opts->tls_psk).lexically_normal().string();
    }
    init.journal = opts->journal;
    if (Status st = CheckInitOptions(init); !st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    const auto file = init.data_dir / "blockpipe.toml";
    std::error_code ec;
    std::filesystem::create_directories(init.data_dir, ec);
    if (ec) {
      *exit_code = ReportError(
          Status::Permanent("cannot create " + init.data_dir.string() + ": " + ec.message()));
      return;
    }
    if (std::filesystem::exists(file) && !opts->force) {
      *exit_code = ReportError(
          Status::Precondition(file.string() + " already exists (use --force to overwrite)"));
      return;
    }
    const std::string text = RenderDefaultConfig(init);
    const bool password_set = std::getenv(kPasswordVariable) != nullptr;
    Config check;
    if (Status st = ParseConfig(CheckableText(text, init.encrypt && !password_set), file, &check);
        !st.ok()) {
      *exit_code = ReportError(st.WithContext("the generated config does not parse"));
      return;
    }
    std::ofstream out(file, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      *exit_code = ReportError(Status::Permanent("cannot write " + file.string()));
      return;
    }
    std::cout << "wrote " << file.string() << "\n";
    if (!init.tls_psk.empty()) {
      bool created = false;
      if (Status st = EnsurePskFile(init.tls_psk, &created); !st.ok()) {
        *exit_code = ReportError(st);
        return;
      }
      std::cout << (created ? "wrote a new pre-shared key for identity \"blockpipe\" to "
                            : "using the existing pre-shared keys in ")
                << init.tls_psk << "\n";
    }
    if (init.url.rfind("s3://", 0) == 0) {
      std::cout << "credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the shared "
                   "credentials file) when the daemon starts\n";
    } else if (init.url.rfind("azure://", 0) == 0) {
      std::cout << "credentials: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or "
                   "AZURE_STORAGE_SAS_TOKEN when the daemon starts\n";
    }
    if (init.encrypt) {
      std::cout << "volumes are encrypted with the password in $" << kPasswordVariable
                << " when the daemon starts" << (password_set ? "" : " (it is not set now)")
                << ".\nIf that password is lost, the data cannot be recovered.\n"
                << "start serving with: " << kPasswordVariable << "=... blockpipe run --config "
                << file.string() << "\n";
    } else {
      std::cout << "start serving with: blockpipe run --config " << file.string() << "\n";
    }
  });
}

}  // namespace bp::cli
