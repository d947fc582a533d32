// What the encrypt codec reads from its [[codec]] section: the password (inline, usually
// "${BLOCKPIPE_PASSWORD}", or from password_file), and the Argon2id costs and unit cipher used
// when a volume is created. Kept apart from the codec callbacks so the rules for these keys — exactly one
// password source, presets versus explicit costs, their bounds — read in one place.
#pragma once

#include <blockpipe/bp_codec.h>

#include <string>

#include "encrypt_format.h"

namespace encryptcfg {

extern const struct bp_config_key kConfigKeys[];

// The password lives here only while open() runs; the destructor wipes it.
struct Settings {
  Settings() = default;
  Settings(const Settings&) = delete;
  Settings& operator=(const Settings&) = delete;
  ~Settings();

  std::string password;
  encryptfmt::KdfParams kdf;  // for new volumes; existing ones use their recorded costs
  encryptfmt::Cipher cipher = encryptfmt::Cipher::kXAes256Gcm;  // for new volumes, likewise
  bool weak_kdf = false;  // below libsodium's "interactive" costs
};

// Read and check the section. On failure returns a BP_ERR_* code and sets *error to a message
// that names the key (never the password).
int ReadSettings(const struct bp_config* config, const std::string& volume_name, Settings* out,
                 std::string* error);

}  // namespace encryptcfg
