// The encrypt codec's config keys and how they are read (see encrypt_settings.h).
#include "encrypt_settings.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace encryptcfg {

const struct bp_config_key kConfigKeys[] = {
    {"password", BP_CFG_SECRET, nullptr, 0,
     "Password that unlocks the volume's data key; usually \"${BLOCKPIPE_PASSWORD}\" so it stays "
     "out of the file. Set exactly one of password and password_file. A lost password means "
     "the data is lost."},
    {"password_file", BP_CFG_PATH, nullptr, 0,
     "File holding the password (one trailing newline is ignored); keep it mode 0600."},
    {"kdf", BP_CFG_STRING, "moderate", 0,
     "Argon2id cost preset for new volumes: interactive (64MiB, 2 passes), moderate (256MiB, 3 "
     "passes) or sensitive (1GiB, 4 passes). Existing volumes keep the costs they were created "
     "with."},
    {"kdf_ops", BP_CFG_INT, nullptr, 0,
     "Argon2id passes for new volumes, overriding the preset (1..64)."},
    {"kdf_mem", BP_CFG_SIZE, nullptr, 0,
     "Argon2id memory for new volumes, overriding the preset (8KiB..4GiB)."},
    {"cipher", BP_CFG_STRING, "xaes-256-gcm", 0,
     "Unit cipher for new volumes: xaes-256-gcm (AES-256-GCM with 192-bit random nonces; "
     "fastest on CPUs with AES instructions) or xchacha20-poly1305 (fastest without them). "
     "Existing volumes keep the cipher they were created with."},
    {nullptr, 0, nullptr, 0, nullptr},
};

namespace {

constexpr size_t kMaxPasswordFile = 64 << 10;

bool Has(const bp_config* config, const char* key) {
  return config != nullptr && bp_host->config_has(config, key) != 0;
}

int ReadPasswordFile(const std::string& path, std::string* password, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read password_file " + path + ": " + std::strerror(errno);
    return BP_ERR_INVALID;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    sodium_memzero(text.data(), text.size());
    *error = "cannot read password_file " + path;
    return BP_ERR_INVALID;
  }
  if (text.size() > kMaxPasswordFile) {
    sodium_memzero(text.data(), text.size());
    *error = "password_file " + path + " is larger than 64KiB; it should hold just the password";
    return BP_ERR_INVALID;
  }
  // Editors and `echo` end the file with a newline that is not part of the password.
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    bp_host->log(BP_LOG_WARN, "encrypt",
                 ("password_file " + path + " is readable by other users; chmod 600 it").c_str());
  }
  *password = std::move(text);
  return BP_OK;
}

int ReadKdf(const bp_config* config, Settings* out, std::string* error) {
  std::string preset = "moderate";
  if (Has(config, "kdf")) preset = bp_host->config_string(config, "kdf");
  if (preset == "interactive") {
    out->kdf.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    out->kdf.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  } else if (preset == "moderate") {
    out->kdf.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    out->kdf.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
  } else if (preset == "sensitive") {
    out->kdf.opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
    out->kdf.memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
  } else {
    *error = "kdf must be interactive, moderate or sensitive, got \"" + preset + "\"";
    return BP_ERR_INVALID;
  }
  if (Has(config, "kdf_ops")) {
    const int64_t ops = bp_host->config_int(config, "kdf_ops");
    if (ops < static_cast<int64_t>(encryptfmt::kMinOps) ||
        ops > static_cast<int64_t>(encryptfmt::kMaxOps)) {
      *error = "kdf_ops must be 1..64, got " + std::to_string(ops);
      return BP_ERR_INVALID;
    }
    out->kdf.opslimit = static_cast<uint64_t>(ops);
  }
  if (Has(config, "kdf_mem")) {
    const int64_t mem = bp_host->config_int(config, "kdf_mem");
    if (mem < static_cast<int64_t>(encryptfmt::kMinMem) ||
        static_cast<uint64_t>(mem) > encryptfmt::kMaxMem) {
      *error = "kdf_mem must be 8KiB..4GiB, got " + std::to_string(mem) + " bytes";
      return BP_ERR_INVALID;
    }
    out->kdf.memlimit = static_cast<uint64_t>(mem);
  }
  out->weak_kdf = out->kdf.opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
                  out->kdf.memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE;
  return BP_OK;
}

}  // namespace

Settings::~Settings() { sodium_memzero(password.data(), password.size()); }

int ReadSettings(const bp_config* config, const std::string& volume_name, Settings* out,
                 std::string* error) {
  const bool inline_password = Has(config, "password");
  const bool file_password = Has(config, "password_file");
  if (inline_password && file_password) {
    *error = "set either password or password_file, not both";
    return BP_ERR_INVALID;
  }
  if (!inline_password && !file_password) {
    *error = "volume " + volume_name +
             " needs a password: set password (e.g. \"${BLOCKPIPE_PASSWORD}\") or password_file "
             "in its [[codec]] section with plugin = \"encrypt\"";
    return BP_ERR_INVALID;
  }
  if (inline_password) {
    const char* text = bp_host->config_string(config, "password");
    out->password = text != nullptr ? text : "";
  } else {
    const char* path = bp_host->config_string(config, "password_file");
    int rc = ReadPasswordFile(path != nullptr ? path : "", &out->password, error);
    if (rc != BP_OK) return rc;
  }
  if (out->password.empty()) {
    *error = std::string(inline_password ? "password" : "password_file") +
             " is empty; an empty password protects nothing";
    return BP_ERR_INVALID;
  }
  if (Has(config, "cipher")) {
    const char* name = bp_host->config_string(config, "cipher");
    if (!encryptfmt::CipherFromName(name != nullptr ? name : "", &out->cipher)) {
      *error = std::string("cipher must be xaes-256-gcm or xchacha20-poly1305, got \"") +
               (name != nullptr ? name : "") + "\"";
      return BP_ERR_INVALID;
    }
  }
  return ReadKdf(config, out, error);
}

}  // namespace encryptcfg
