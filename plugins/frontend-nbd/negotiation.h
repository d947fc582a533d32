// Negotiation: the option-haggling phase of fixed-newstyle NBD as a pure state machine. The
// connection reads each option header and its data and hands them here; this class decides the
// reply bytes and whether to continue, close, start TLS, or enter transmission with an opened
// export. It does no I/O of its own (the volume API aside), so it is driven identically by the
// live server, by unit tests and by a fuzzer. Not thread-safe: one instance per connection.
//
// TLS follows the spec's modes: kOff is NOTLS (STARTTLS refused with POLICY); kRequire is
// FORCEDTLS (before STARTTLS every option but STARTTLS and ABORT gets ERR_TLS_REQD and
// EXPORT_NAME disconnects, so nothing — not even export names — is revealed in the clear); kOn
// is SELECTIVETLS (plaintext allowed, STARTTLS accepted; exports that name allowed client
// identities are TLS-only and refused with ERR_TLS_REQD until TLS is up). STARTTLS forgets
// every earlier negotiated state, as the spec demands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "export_catalog.h"
#include "nbd_protocol.h"

namespace bpnbd {

// Option data longer than this is not buffered: the option is answered NBD_REP_ERR_INVALID (or
// UNSUP if unknown) after its data is skipped. The largest legal option we accept is
// NBD_OPT_GO: a 4096-byte name plus a short list of info requests.
inline constexpr size_t kMaxBufferedOptionData = 8192;
// Option data beyond this is treated as abuse: the connection is closed.
inline constexpr size_t kMaxSkippedOptionData = 1u << 20;
// Options one client may send before it is disconnected.
inline constexpr uint32_t kMaxOptionsPerConnection = 4096;

enum class TlsMode { kOff, kOn, kRequire };

class Negotiation {
 public:
  // kStartTls: send *out (the ACK), then run the TLS handshake and call TlsEstablished.
  enum class Next { kContinue, kClose, kTransmission, kStartTls };

  // client_flags: the 32 bits the client sent after the greeting (already validated).
  Negotiation(const ExportCatalog* catalog, uint32_t client_flags, TlsMode tls = TlsMode::kOff);

  // The TLS handshake after kStartTls succeeded; identity is the client's PSK identity or
  // certificate subject (empty when it presented none).
  void TlsEstablished(std::string identity, std::string common_name = {});
  bool tls_active() const { return tls_active_; }

  // Handles one complete option. Appends the bytes to send (possibly none) to *out. Before
  // closing, *out still has to be sent (e.g. the ACK of NBD_OPT_ABORT).
  Next HandleOption(uint32_t option, const uint8_t* data, size_t length, std::vector<uint8_t>* out);

  // An option whose data exceeded kMaxBufferedOptionData and was skipped unread.
  Next HandleOversizedOption(uint32_t option, std::vector<uint8_t>* out);

  // The server is stopping: every further option except ABORT gets NBD_REP_ERR_SHUTDOWN.
  void SetShuttingDown() { shutting_down_ = true; }

  // After kTransmission: the opened export and its description.
  VolumeHandle TakeVolume() { return std::move(volume_); }
  const ExportInfo& export_info() const { return info_; }
  // After kTransmission: structured replies, extended headers, metadata context.
  const Features& features() const { return features_; }

  // Why the last option failed or closed the connection, for the log (empty if it did not).
  const std::string& diagnostic() const { return diagnostic_; }

 private:
  Next HandleExportName(const uint8_t* data, size_t length, std::vector<uint8_t>* out);
  Next HandleList(uint32_t option, size_t length, std::vector<uint8_t>* out);
  Next HandleInfoOrGo(uint32_t option, const uint8_t* data, size_t length,
                      std::vector<uint8_t>* out);
  Next HandleStartTls(uint32_t option, size_t length, std::vector<uint8_t>* out);
  Next HandleFeature(uint32_t option, size_t length, std::vector<uint8_t>* out);
  Next HandleMetaContext(uint32_t option, const uint8_t* data, size_t length,
                         std::vector<uint8_t>* out);
  // Resolves a client-facing export name and checks TLS and client identity rules; on failure
  // appends the error reply and returns false.
  // Records the features of the transmission phase for export name `requested`.
  void FixFeatures(const std::string& requested);
  bool Admit(uint32_t option, const std::string& requested, std::string* volume,
             std::vector<uint8_t>* out, Next* next);
  Next Error(uint32_t option, uint32_t type, const std::string& message, std::vector<uint8_t>* out);

  const ExportCatalog* catalog_;
  bool fixed_newstyle_;
  bool no_zeroes_;
  bool shutting_down_ = false;
  const TlsMode tls_mode_;
  bool tls_active_ = false;
  std::string tls_identity_, tls_common_name_;
  Features negotiated_;         // structured / extended as agreed so far
  bool meta_selected_ = false;  // the last SET_META_CONTEXT selected base:allocation
  std::string meta_export_;     // ... for this export name
  Features features_;           // what GO / EXPORT_NAME fixed for transmission
  VolumeHandle volume_;
  ExportInfo info_;
  std::string diagnostic_;
};

// Appends one option reply (magic, option, type, length, payload) to *out.
void AppendOptionReply(std::vector<uint8_t>* out, uint32_t option, uint32_t type,
                       const void* payload, size_t length);

}  // namespace bpnbd
