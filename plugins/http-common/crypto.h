// Hashing and encoding primitives the request signers need (AWS SigV4, Azure Shared Key),
// implemented with OpenSSL's EVP interfaces. Pure functions, thread-safe.
#ifndef BLOCKPIPE_HTTP_COMMON_CRYPTO_H
#define BLOCKPIPE_HTTP_COMMON_CRYPTO_H

#include <cstddef>
#include <string>
#include <string_view>

namespace bphttp {

// SHA-256 of `size` bytes at `data`, as 64 lower-case hex digits. data may be null when size is 0.
std::string Sha256Hex(const void* data, size_t size);

// Raw SHA-256 digest (32 bytes).
std::string Sha256Raw(const void* data, size_t size);

// Raw MD5 digest (16 bytes), for Content-MD5 headers.
std::string Md5Raw(const void* data, size_t size);

// HMAC-SHA256 of data under key, as the raw 32-byte MAC.
std::string HmacSha256(std::string_view key, std::string_view data);

// Lower-case hex of raw bytes.
std::string Hex(std::string_view raw);

// Standard base64 with padding (RFC 4648 section 4), no line breaks.
std::string Base64Encode(std::string_view raw);

// Decode standard base64 (padding required when the length needs it). False on any character
// outside the alphabet or a malformed length; *out is then unspecified.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_CRYPTO_H
