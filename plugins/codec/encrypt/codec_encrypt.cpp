// The encrypt codec: authenticated encryption of every stored unit under a random per-volume
// data key, with the cipher chosen when the volume is created and recorded in its key header:
// XAES-256-GCM (OpenSSL, xaes_gcm.h; the default) or libsodium's XChaCha20-Poly1305-IETF.
// The data key is created with the volume, wrapped under an Argon2id key derived from the
// user's password, and kept in the volume metadata as this codec's header (encrypt_format.h);
// opening a volume unwraps it, so a wrong password fails in open(), before the engine reads or
// writes anything. Each unit gets a fresh random nonce (nonce_source.h) and binds its identity
// (volume, kind, object, index, length) as associated data, so a unit replayed anywhere else
// fails to decode. The data key sits in sodium_malloc memory (guard pages, locked against swap
// where the system allows, read-only between opens) and is wiped on close. rekey (ABI 1.1,
// `blockpipe change-password`) wraps the same data key under a new password and keeps the
// cipher, so no unit is rewritten. Encode and decode keep no shared mutable state (nonce pools
// and OpenSSL contexts are per thread): thread model PARALLEL.
#include <blockpipe/bp_codec.h>
#include <sodium.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "../common/unit_frame.h"
#include "encrypt_format.h"
#include "encrypt_settings.h"
#include "nonce_source.h"

namespace {

constexpr const char* kName = "encrypt";
using codecframe::Fail;
using codecframe::Guard;

// Key material in sodium_malloc memory: guard pages around it, mlock()ed where the limit
// allows, zeroed when freed. The data key is made read-only once set.
class SecretKey {
 public:
  SecretKey() : bytes_(static_cast<uint8_t*>(sodium_malloc(encryptfmt::kKeyBytes))) {}
  ~SecretKey() {
    if (bytes_ == nullptr) return;
    sodium_mprotect_readwrite(bytes_);
    sodium_memzero(bytes_, encryptfmt::kKeyBytes);
    sodium_free(bytes_);
  }
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  bool ok() const { return bytes_ != nullptr; }
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  void Freeze() { sodium_mprotect_readonly(bytes_); }

 private:
  uint8_t* bytes_;
};

struct EncryptCodec {
  SecretKey data_key;
  encryptfmt::Cipher cipher =
      encryptfmt::Cipher::kXChaCha20Poly1305;  // the volume's, from its header
};

bool UnitIdentityFrom(const bp_unit_ctx* unit, encryptfmt::UnitIdentity* out) {
  // A host older than the fields we bind could not tell us where the unit lives; refuse
  // rather than authenticate against zeros.
  if (unit == nullptr || unit->volume_uuid == nullptr ||
      unit->struct_size < offsetof(bp_unit_ctx, logical_length) + sizeof(unit->logical_length)) {
    return false;
  }
  out->volume_uuid = unit->volume_uuid;
  out->kind = unit->kind;
  out->object_seq = unit->object_seq;
  out->unit_index = unit->unit_index;
  out->logical_length = unit->logical_length;
  return true;
}

void Log(int level, const std::string& message) {
  if (bp_host != nullptr && bp_host->log != nullptr) bp_host->log(level, kName, message.c_str());
}

// A new volume: random salt and data key, wrap it, and append the header to persist.
int CreateKey(const encryptcfg::Settings& settings, const bp_codec_volume* volume,
              const std::string& volume_name, bp_buf* new_header, EncryptCodec* codec) {
  if (new_header == nullptr) return Fail(BP_ERR_INVALID, "no place to store the key header");
  if (settings.weak_kdf) {
    Log(BP_LOG_WARN, "volume " + volume_name +
                         ": Argon2id costs are below libsodium's interactive level; fine for "
                         "tests, too weak for a real password");
  }
  encryptfmt::KeyHeader header;
  header.kdf = settings.kdf;
  header.cipher = settings.cipher;
  codec->cipher = settings.cipher;
  randombytes_buf(header.salt, sizeof header.salt);
  randombytes_buf(header.wrap_nonce, sizeof header.wrap_nonce);
  randombytes_buf(codec->data_key.data(), encryptfmt::kKeyBytes);
  SecretKey password_key;
  if (!password_key.ok()) return Fail(BP_ERR_PERMANENT, "out of memory for keys");
  if (!encryptfmt::DerivePasswordKey(settings.password, header.salt, header.kdf,
                                     password_key.data())) {
    return Fail(BP_ERR_PERMANENT, "Argon2id failed for volume " + volume_name +
                                      " (not enough memory for kdf_mem = " +
                                      std::to_string(header.kdf.memlimit) + " bytes?)");
  }
  encryptfmt::WrapDataKey(password_key.data(), volume->volume_uuid, codec->data_key.data(),
                          &header);
  const std::vector<uint8_t> bytes = encryptfmt::SerializeHeader(header);
  if (bp_host->buf_append(new_header, bytes.data(), bytes.size()) != BP_OK) {
    return Fail(BP_ERR_PERMANENT, "out of memory for the key header");
  }
  return BP_OK;
}

// An existing volume: parse the recorded header, derive with its costs, unwrap.
int UnlockKey(const encryptcfg::Settings& settings, const bp_codec_volume* volume,
              const std::string& volume_name, const void* stored, size_t stored_len,
              EncryptCodec* codec) {
  encryptfmt::KeyHeader header;
  std::string why;
  if (!encryptfmt::ParseHeader(static_cast<const uint8_t*>(stored), stored_len, &header, &why)) {
    return Fail(BP_ERR_INVALID, "volume " + volume_name + ": " + why);
  }
  SecretKey password_key;
  if (!password_key.ok()) return Fail(BP_ERR_PERMANENT, "out of memory for keys");
  if (!encryptfmt::DerivePasswordKey(settings.password, header.salt, header.kdf,
                                     password_key.data())) {
    return Fail(BP_ERR_PERMANENT, "Argon2id failed for volume " + volume_name +
                                      " (not enough memory for its recorded " +
                                      std::to_string(header.kdf.memlimit) + "-byte cost?)");
  }
  if (!encryptfmt::UnwrapDataKey(password_key.data(), volume->volume_uuid, header,
                                 codec->data_key.data())) {
    return Fail(BP_ERR_PERMANENT,
                "wrong password for volume " + volume_name +
                    " (the data key did not unwrap; if the password is right, the volume's key "
                    "header was altered)");
  }
  codec->cipher = header.cipher;
  return BP_OK;
}

int EncryptOpen(const bp_config* config, const bp_codec_volume* volume, const void* stored_header,
                size_t stored_len, bp_buf* new_header, void** handle) {
  *handle = nullptr;
  return Guard(kName, "open", [&] {
    if (sodium_init() < 0) return Fail(BP_ERR_PERMANENT, "libsodium failed to initialize");
    if (volume == nullptr || volume->volume_uuid == nullptr) {
      return Fail(BP_ERR_INVALID, "the host passed no volume identity");
    }
    const std::string volume_name =
        volume->volume_name != nullptr ? volume->volume_name : "(unnamed)";
    encryptcfg::Settings settings;
    std::string error;
    int rc = encryptcfg::ReadSettings(config, volume_name, &settings, &error);
    if (rc != BP_OK) return Fail(rc, error);

    auto codec = std::make_unique<EncryptCodec>();
    if (!codec->data_key.ok()) return Fail(BP_ERR_PERMANENT, "out of memory for keys");
    rc = stored_header == nullptr
             ? CreateKey(settings, volume, volume_name, new_header, codec.get())
             : UnlockKey(settings, volume, volume_name, stored_header, stored_len, codec.get());
    if (rc != BP_OK) return rc;
    codec->data_key.Freeze();
    *handle = codec.release();
    return BP_OK;
  });
}

// A password derived into sodium_malloc memory with the costs and salt a header records.
int DeriveInto(const std::string& password, const encryptfmt::KeyHeader& header,
               const std::string& volume_name, SecretKey* key) {
  if (!key->ok()) return Fail(BP_ERR_PERMANENT, "out of memory for keys");
  if (!encryptfmt::DerivePasswordKey(password, header.salt, header.kdf, key->data())) {
    return Fail(BP_ERR_PERMANENT, "Argon2id failed for volume " + volume_name +
                                      " (not enough memory for a " +
                                      std::to_string(header.kdf.memlimit) + "-byte cost?)");
  }
  return BP_OK;
}

// change-password: the same data key under a header for the new password, with a fresh salt
// and nonce and the Argon2id costs the config asks for today (so a password change is also the
// way to raise the costs of an old volume). When the configured password fails but the new one
// opens the header, an earlier run already changed this volume: say so with PRECONDITION so
// the host skips it, which makes an interrupted run safe to repeat.
int EncryptRekey(const bp_config* config, const bp_codec_volume* volume, const void* stored_header,
                 size_t stored_len, const void* new_secret, size_t new_secret_len,
                 bp_buf* new_header) {
  return Guard(kName, "rekey", [&] {
    if (sodium_init() < 0) return Fail(BP_ERR_PERMANENT, "libsodium failed to initialize");
    if (volume == nullptr || volume->volume_uuid == nullptr || stored_header == nullptr ||
        new_header == nullptr) {
      return Fail(BP_ERR_INVALID, "the host passed no volume, key header or output");
    }
    const std::string volume_name =
        volume->volume_name != nullptr ? volume->volume_name : "(unnamed)";
    if (new_secret == nullptr || new_secret_len == 0) {
      return Fail(BP_ERR_INVALID, "the new password is empty; an empty password protects nothing");
    }
    encryptcfg::Settings settings;
    std::string error;
    int rc = encryptcfg::ReadSettings(config, volume_name, &settings, &error);
    if (rc != BP_OK) return Fail(rc, error);

    encryptfmt::KeyHeader old;
    if (!encryptfmt::ParseHeader(static_cast<const uint8_t*>(stored_header), stored_len, &old,
                                 &error)) {
      return Fail(BP_ERR_INVALID, "volume " + volume_name + ": " + error);
    }
    // Held in a Settings so it is wiped like the configured password.
    encryptcfg::Settings next;
    next.password.assign(static_cast<const char*>(new_secret), new_secret_len);

    encryptfmt::KeyHeader fresh;
    fresh.kdf = settings.kdf;
    randombytes_buf(fresh.salt, sizeof fresh.salt);
    randombytes_buf(fresh.wrap_nonce, sizeof fresh.wrap_nonce);
    SecretKey old_key;
    SecretKey new_key;
    if ((rc = DeriveInto(settings.password, old, volume_name, &old_key)) != BP_OK) return rc;
    if ((rc = DeriveInto(next.password, fresh, volume_name, &new_key)) != BP_OK) return rc;
    if (!encryptfmt::RewrapDataKey(old_key.data(), new_key.data(), volume->volume_uuid, old,
                                   &fresh)) {
      SecretKey probe;
      if ((rc = DeriveInto(next.password, old, volume_name, &probe)) != BP_OK) return rc;
      SecretKey data_key;
      if (!data_key.ok()) return Fail(BP_ERR_PERMANENT, "out of memory for keys");
      if (encryptfmt::UnwrapDataKey(probe.data(), volume->volume_uuid, old, data_key.data())) {
        return Fail(BP_ERR_PRECONDITION,
                    "volume " + volume_name + " already uses the new password");
      }
      return Fail(BP_ERR_PERMANENT,
                  "wrong password for volume " + volume_name +
                      " (neither the configured password nor the new one unwraps its data key)");
    }
    if (settings.weak_kdf) {
      Log(BP_LOG_WARN, "volume " + volume_name +
                           ": Argon2id costs for the new password are below libsodium's "
                           "interactive level; fine for tests, too weak for a real password");
    }
    const std::vector<uint8_t> bytes = encryptfmt::SerializeHeader(fresh);
    if (bp_host->buf_append(new_header, bytes.data(), bytes.size()) != BP_OK) {
      return Fail(BP_ERR_PERMANENT, "out of memory for the key header");
    }
    return BP_OK;
  });
}

void EncryptClose(void* handle) { delete static_cast<EncryptCodec*>(handle); }

int EncryptEncode(void* handle, const bp_unit_ctx* unit, const void* in, size_t in_len,
                  bp_buf* out) {
  return Guard(kName, "encode", [&] {
    const auto* codec = static_cast<const EncryptCodec*>(handle);
    encryptfmt::UnitIdentity id;
    if (!UnitIdentityFrom(unit, &id)) {
      return Fail(BP_ERR_PERMANENT, "the host passed no complete unit identity");
    }
    const size_t total = in_len + encryptfmt::kFrameOverhead;
    if (total < in_len) return Fail(BP_ERR_PERMANENT, "unit too large");
    auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, total));
    if (dest == nullptr) return Fail(BP_ERR_PERMANENT, "out of memory");
    uint8_t nonce[encryptfmt::kNonceBytes];
    encryptnonce::NextNonce(nonce);
    if (!encryptfmt::SealUnit(codec->data_key.data(), nonce, id, static_cast<const uint8_t*>(in),
                              in_len, dest, codec->cipher)) {
      return Fail(BP_ERR_PERMANENT,
                  std::string("sealing with ") + encryptfmt::CipherName(codec->cipher) + " failed");
    }
    bp_host->buf_commit(out, total);
    return BP_OK;
  });
}

int EncryptDecode(void* handle, const bp_unit_ctx* unit, const void* in, size_t in_len,
                  bp_buf* out) {
  return Guard(kName, "decode", [&] {
    const auto* codec = static_cast<const EncryptCodec*>(handle);
    encryptfmt::UnitIdentity id;
    if (!UnitIdentityFrom(unit, &id)) {
      return Fail(BP_ERR_CORRUPT, "the host passed no complete unit identity");
    }
    if (in_len < encryptfmt::kFrameOverhead) {
      return Fail(BP_ERR_CORRUPT, "unit of " + std::to_string(in_len) +
                                      " bytes is shorter than the " +
                                      std::to_string(encryptfmt::kFrameOverhead) + "-byte frame");
    }
    const auto* bytes = static_cast<const uint8_t*>(in);
    if (bytes[0] != encryptfmt::FrameByte(codec->cipher)) {
      return Fail(BP_ERR_CORRUPT, std::string("frame byte is not this volume's cipher (") +
                                      encryptfmt::CipherName(codec->cipher) +
                                      "): not a unit this codec wrote for this volume");
    }
    const size_t plain_len = in_len - encryptfmt::kFrameOverhead;
    // Reserve at least one byte so an empty unit still gets a valid pointer to write to.
    auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, plain_len > 0 ? plain_len : 1));
    if (dest == nullptr) return Fail(BP_ERR_PERMANENT, "out of memory");
    if (!encryptfmt::OpenUnit(codec->data_key.data(), id, bytes, in_len, dest, codec->cipher)) {
      sodium_memzero(dest, plain_len);
      return Fail(BP_ERR_CORRUPT,
                  "authentication failed (unit altered, moved from another "
                  "place or volume, or written under another key)");
    }
    bp_host->buf_commit(out, plain_len);
    return BP_OK;
  });
}

struct bp_codec_plugin encrypt_codec_plugin = {
    /* header */ {0, 0, 0, 0, 0, 0, "encrypt", "1.0",
                  "XAES-256-GCM or XChaCha20-Poly1305 encryption of each unit; Argon2id "
                  "password-wrapped data key"},
    /* flags */ BP_CODEC_ENCRYPTS | BP_CODEC_AUTHENTICATES,
    /* reserved */ 0,
    /* config_keys */ encryptcfg::kConfigKeys,
    /* open */ EncryptOpen,
    /* close */ EncryptClose,
    /* encode */ EncryptEncode,
    /* decode */ EncryptDecode,
    /* rekey */ EncryptRekey,
};

}  // namespace

BP_REGISTER_CODEC(encrypt_codec_plugin, BP_THREAD_PARALLEL)
