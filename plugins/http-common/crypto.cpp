// OpenSSL-backed digests, HMAC and base64 for the request signers. EVP one-shot calls only, so
// every function is reentrant and needs no shared state.
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <stdexcept>

namespace bphttp {
namespace {

std::string Digest(const EVP_MD* md, const void* data, size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  static const unsigned char kEmpty = 0;
  if (EVP_Digest(data != nullptr ? data : &kEmpty, size, out, &out_len, md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Sha256Raw(const void* data, size_t size) { return Digest(EVP_sha256(), data, size); }

std::string Sha256Hex(const void* data, size_t size) { return Hex(Sha256Raw(data, size)); }

std::string Md5Raw(const void* data, size_t size) { return Digest(EVP_md5(), data, size); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  static const unsigned char kEmpty = 0;
  const unsigned char* data_ptr =
      data.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data_ptr, data.size(), out,
           &out_len) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string Hex(std::string_view raw) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  if (raw.empty()) return out;
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Decoded by hand rather than with EVP_DecodeBlock, which accepts whitespace and cannot tell
// how much padding it removed.
bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) return false;
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;  // data after padding
      v[j] = Base64Value(c);
      if (v[j] < 0) return false;
    }
    uint32_t bits =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return true;
}

}  // namespace bphttp
