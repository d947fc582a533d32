// Option handling for fixed-newstyle negotiation: NBD_OPT_EXPORT_NAME, ABORT, LIST, INFO and GO
// are implemented; everything else (STARTTLS, STRUCTURED_REPLY, metadata contexts, extended
// headers …) is answered NBD_REP_ERR_UNSUP so the client falls back and negotiation continues.
// Every length read from the client is checked against the data actually present before use.
#include "negotiation.h"

#include <algorithm>
#include <cstring>

#include "nbd_protocol.h"

namespace bpnbd {

namespace {

void AppendBe16(std::vector<uint8_t>* out, uint16_t v) {
  uint8_t b[2];
  StoreBe16(b, v);
  out->insert(out->end(), b, b + 2);
}
void AppendBe32(std::vector<uint8_t>* out, uint32_t v) {
  uint8_t b[4];
  StoreBe32(b, v);
  out->insert(out->end(), b, b + 4);
}
void AppendBe64(std::vector<uint8_t>* out, uint64_t v) {
  uint8_t b[8];
  StoreBe64(b, v);
  out->insert(out->end(), b, b + 8);
}

bool ContainsNul(const std::string& s) { return s.find('\0') != std::string::npos; }

}  // namespace

void AppendOptionReply(std::vector<uint8_t>* out, uint32_t option, uint32_t type,
                       const void* payload, size_t length) {
  AppendBe64(out, kOptReplyMagic);
  AppendBe32(out, option);
  AppendBe32(out, type);
  AppendBe32(out, static_cast<uint32_t>(length));
  const auto* p = static_cast<const uint8_t*>(payload);
  if (length) out->insert(out->end(), p, p + length);
}

Negotiation::Negotiation(const ExportCatalog* catalog, uint32_t client_flags)
    : catalog_(catalog),
      fixed_newstyle_(client_flags & kClientFlagFixedNewstyle),
      no_zeroes_(client_flags & kClientFlagNoZeroes) {}

Negotiation::Next Negotiation::Error(uint32_t option, uint32_t type, const std::string& message,
                                     std::vector<uint8_t>* out) {
  diagnostic_ = OptionName(option) + ": " + message;
  // The spec caps every string at 4096 bytes; messages can quote a client's export name.
  AppendOptionReply(out, option, type, message.data(), std::min(message.size(), kMaxStringLength));
  return Next::kContinue;
}

Negotiation::Next Negotiation::HandleOption(uint32_t option, const uint8_t* data, size_t length,
                                            std::vector<uint8_t>* out) {
  diagnostic_.clear();
  if (option == kOptExportName) return HandleExportName(data, length, out);
  // Without fixed newstyle the client cannot parse option replies: the only valid option is
  // EXPORT_NAME, and the spec's answer to anything else is to drop the connection.
  if (!fixed_newstyle_) {
    diagnostic_ = OptionName(option) + " from a client without fixed-newstyle support";
    return Next::kClose;
  }
  if (option == kOptAbort) {
    AppendOptionReply(out, option, kRepAck, nullptr, 0);
    diagnostic_ = "client aborted negotiation";
    return Next::kClose;
  }
  if (shutting_down_) {
    return Error(option, kRepErrShutdown, "server is shutting down", out);
  }
  switch (option) {
    case kOptList: return HandleList(option, length, out);
    case kOptInfo:
    case kOptGo: return HandleInfoOrGo(option, data, length, out);
    case kOptStartTls:
      return Error(option, kRepErrUnsup, "TLS is not configured on this server", out);
    case kOptStructuredReply:
      return Error(option, kRepErrUnsup,
                   "structured replies are not supported; using simple "
                   "replies",
                   out);
    default: return Error(option, kRepErrUnsup, "option not supported", out);
  }
}

Negotiation::Next Negotiation::HandleOversizedOption(uint32_t option, std::vector<uint8_t>* out) {
  diagnostic_.clear();
  if (option == kOptExportName || !fixed_newstyle_) {
    diagnostic_ = OptionName(option) + ": option data too long";
    return Next::kClose;
  }
  bool known = option == kOptAbort || option == kOptList || option == kOptInfo ||
               option == kOptGo || option == kOptStartTls || option == kOptStructuredReply;
  return Error(option, known ? kRepErrInvalid : kRepErrUnsup, "option data too long", out);
}

Negotiation::Next Negotiation::HandleExportName(const uint8_t* data, size_t length,
                                                std::vector<uint8_t>* out) {
  // NBD_OPT_EXPORT_NAME has no error reply: every failure is a disconnect.
  std::string requested(reinterpret_cast<const char*>(data), length);
  std::string volume;
  std::string error;
  if (shutting_down_) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME while shutting down";
    return Next::kClose;
  }
  if (ContainsNul(requested) || !catalog_->Resolve(requested, &volume)) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME: no export named \"" + requested + "\"";
    return Next::kClose;
  }
  if (!catalog_->Open(volume, &volume_, &info_, &error)) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME: " + error;
    return Next::kClose;
  }
  AppendBe64(out, info_.size);
  AppendBe16(out, info_.transmission_flags);
  if (!no_zeroes_) out->insert(out->end(), 124, 0);
  return Next::kTransmission;
}

Negotiation::Next Negotiation::HandleList(uint32_t option, size_t length,
                                          std::vector<uint8_t>* out) {
  if (length != 0) return Error(option, kRepErrInvalid, "NBD_OPT_LIST takes no data", out);
  std::vector<ExportEntry> entries;
  if (!catalog_->List(&entries)) {
    return Error(option, kRepErrShutdown, "the volume list is not available", out);
  }
  std::vector<uint8_t> payload;
  for (const ExportEntry& entry : entries) {
    payload.clear();
    AppendBe32(&payload, static_cast<uint32_t>(entry.name.size()));
    payload.insert(payload.end(), entry.name.begin(), entry.name.end());
    // The rest of an NBD_REP_SERVER reply is free text for humans: the description.
    std::string description = entry.description.substr(0, kMaxStringLength);
    payload.insert(payload.end(), description.begin(), description.end());
    AppendOptionReply(out, option, kRepServer, payload.data(), payload.size());
  }
  AppendOptionReply(out, option, kRepAck, nullptr, 0);
  return Next::kContinue;
}

Negotiation::Next Negotiation::HandleInfoOrGo(uint32_t option, const uint8_t* data, size_t length,
                                              std::vector<uint8_t>* out) {
  // Data: u32 name length, name, u16 count of info requests, count × u16.
  if (length < 6) return Error(option, kRepErrInvalid, "option data too short", out);
  uint32_t name_length = LoadBe32(data);
  if (name_length > length - 6) {
    return Error(option, kRepErrInvalid, "export name length exceeds option data", out);
  }
  uint16_t request_count = LoadBe16(data + 4 + name_length);
  if (length != size_t{4} + name_length + 2 + size_t{2} * request_count) {
    return Error(option, kRepErrInvalid, "option length does not match its info requests", out);
  }
  std::string requested(reinterpret_cast<const char*>(data + 4), name_length);
  bool want_name = false, want_description = false;
  for (uint16_t i = 0; i < request_count; ++i) {
    uint16_t type = LoadBe16(data + 4 + name_length + 2 + 2 * i);
    if (type == kInfoName) want_name = true;
    if (type == kInfoDescription) want_description = true;
  }

  std::string volume;
  if (name_length > kMaxStringLength || ContainsNul(requested) ||
      !catalog_->Resolve(requested, &volume)) {
    return Error(option, kRepErrUnknown, "no export named \"" + requested.substr(0, 256) + "\"",
                 out);
  }
  VolumeHandle handle;
  ExportInfo info;
  std::string error;
  if (!catalog_->Open(volume, &handle, &info, &error)) {
    return Error(option, kRepErrUnknown, error, out);
  }

  std::vector<uint8_t> payload;
  AppendBe16(&payload, kInfoExport);
  AppendBe64(&payload, info.size);
  AppendBe16(&payload, info.transmission_flags);
  AppendOptionReply(out, option, kRepInfo, payload.data(), payload.size());
  if (want_name) {
    payload.clear();
    AppendBe16(&payload, kInfoName);
    payload.insert(payload.end(), info.name.begin(), info.name.end());
    AppendOptionReply(out, option, kRepInfo, payload.data(), payload.size());
  }
  if (want_description && !info.description.empty()) {
    payload.clear();
    AppendBe16(&payload, kInfoDescription);
    payload.insert(payload.end(), info.description.begin(), info.description.end());
    AppendOptionReply(out, option, kRepInfo, payload.data(), payload.size());
  }
  // Block sizes are sent even when not requested: with a minimum of 1 they constrain nothing a
  // client could get wrong, and they tell it the preferred and maximum sizes.
  payload.clear();
  AppendBe16(&payload, kInfoBlockSize);
  AppendBe32(&payload, info.min_block);
  AppendBe32(&payload, info.preferred_block);
  AppendBe32(&payload, info.max_payload);
  AppendOptionReply(out, option, kRepInfo, payload.data(), payload.size());
  AppendOptionReply(out, option, kRepAck, nullptr, 0);

  if (option == kOptInfo) return Next::kContinue;  // handle closes the reference
  volume_ = std::move(handle);
  info_ = std::move(info);
  return Next::kTransmission;
}

}  // namespace bpnbd
