// Option handling for fixed-newstyle negotiation: EXPORT_NAME, ABORT, LIST, INFO, GO, STARTTLS,
// STRUCTURED_REPLY, LIST/SET_META_CONTEXT (base:allocation) and EXTENDED_HEADERS; anything else
// is answered NBD_REP_ERR_UNSUP so the client falls back and negotiation continues. Every length
// read from the client is checked against the data actually present before use.
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

Negotiation::Negotiation(const ExportCatalog* catalog, uint32_t client_flags, TlsMode tls)
    : catalog_(catalog),
      fixed_newstyle_(client_flags & kClientFlagFixedNewstyle),
      no_zeroes_(client_flags & kClientFlagNoZeroes),
      // The spec allows TLS only with fixed newstyle: without it the client could not even read
      // the STARTTLS reply. A required-TLS server then admits nothing (EXPORT_NAME closes).
      tls_mode_(tls) {}

void Negotiation::TlsEstablished(std::string identity, std::string common_name) {
  tls_active_ = true;
  tls_identity_ = std::move(identity);
  tls_common_name_ = std::move(common_name);
  // Nothing negotiated in the clear survives the upgrade (spec, NBD_OPT_STARTTLS).
  negotiated_ = Features{};
  meta_selected_ = false;
  meta_export_.clear();
}

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
  if (option == kOptStartTls) return HandleStartTls(option, length, out);
  if (tls_mode_ == TlsMode::kRequire && !tls_active_) {
    return Error(option, kRepErrTlsReqd, "this server requires TLS: send NBD_OPT_STARTTLS first",
                 out);
  }
  switch (option) {
    case kOptList: return HandleList(option, length, out);
    case kOptInfo:
    case kOptGo: return HandleInfoOrGo(option, data, length, out);
    case kOptStructuredReply:
    case kOptExtendedHeaders: return HandleFeature(option, length, out);
    case kOptListMetaContext:
    case kOptSetMetaContext: return HandleMetaContext(option, data, length, out);
    default: return Error(option, kRepErrUnsup, "option not supported", out);
  }
}

Negotiation::Next Negotiation::HandleOversizedOption(uint32_t option, std::vector<uint8_t>* out) {
  diagnostic_.clear();
  if (option == kOptExportName || !fixed_newstyle_) {
    diagnostic_ = OptionName(option) + ": option data too long";
    return Next::kClose;
  }
  if (tls_mode_ == TlsMode::kRequire && !tls_active_ && option != kOptStartTls &&
      option != kOptAbort) {
    return Error(option, kRepErrTlsReqd, "this server requires TLS", out);
  }
  bool known = option == kOptAbort || option == kOptList || option == kOptInfo ||
               option == kOptGo || option == kOptStartTls || option == kOptStructuredReply ||
               option == kOptListMetaContext || option == kOptSetMetaContext ||
               option == kOptExtendedHeaders;
  // A SET_META_CONTEXT, even a failed one, replaces the selection.
  if (option == kOptSetMetaContext) meta_selected_ = false;
  return Error(option, known ? kRepErrInvalid : kRepErrUnsup, "option data too long", out);
}

Negotiation::Next Negotiation::HandleStartTls(uint32_t option, size_t length,
                                              std::vector<uint8_t>* out) {
  if (tls_mode_ == TlsMode::kOff) {
    return Error(option, kRepErrPolicy, "TLS is not enabled on this listener", out);
  }
  if (length != 0) return Error(option, kRepErrInvalid, "NBD_OPT_STARTTLS takes no data", out);
  if (tls_active_) return Error(option, kRepErrInvalid, "TLS is already active", out);
  AppendOptionReply(out, option, kRepAck, nullptr, 0);
  return Next::kStartTls;
}

Negotiation::Next Negotiation::HandleFeature(uint32_t option, size_t length,
                                             std::vector<uint8_t>* out) {
  if (length != 0) {
    return Error(option, kRepErrInvalid, OptionName(option) + " takes no data", out);
  }
  if (option == kOptStructuredReply) {
    // Extended headers already include (and take precedence over) structured replies.
    if (negotiated_.extended) {
      return Error(option, kRepErrExtHeaderReqd, "extended headers are already in use", out);
    }
    negotiated_.structured = true;
  } else {
    negotiated_.extended = true;
    negotiated_.structured = true;
  }
  AppendOptionReply(out, option, kRepAck, nullptr, 0);
  return Next::kContinue;
}

namespace {

// Parses the data of LIST/SET_META_CONTEXT: u32 name length, name, u32 query count, then each
// query as u32 length and bytes. False when the lengths do not add up to exactly `length`.
bool ParseMetaContextData(const uint8_t* data, size_t length, std::string* name,
                          std::vector<std::string>* queries) {
  if (length < 8) return false;
  uint32_t name_length = LoadBe32(data);
  if (name_length > length - 8) return false;
  name->assign(reinterpret_cast<const char*>(data + 4), name_length);
  size_t pos = 4 + size_t{name_length};
  uint32_t count = LoadBe32(data + pos);
  pos += 4;
  // Each query needs at least its 4-byte length: a count beyond that cannot be honest.
  if (count > (length - pos) / 4) return false;
  for (uint32_t i = 0; i < count; ++i) {
    if (length - pos < 4) return false;
    uint32_t query_length = LoadBe32(data + pos);
    pos += 4;
    if (query_length > length - pos) return false;
    queries->emplace_back(reinterpret_cast<const char*>(data + pos), query_length);
    pos += query_length;
  }
  return pos == length;
}

}  // namespace

Negotiation::Next Negotiation::HandleMetaContext(uint32_t option, const uint8_t* data,
                                                 size_t length, std::vector<uint8_t>* out) {
  const bool set = option == kOptSetMetaContext;
  if (set) {
    // Even a failed SET replaces the previous selection.
    meta_selected_ = false;
    meta_export_.clear();
  }
  std::string requested;
  std::vector<std::string> queries;
  if (!ParseMetaContextData(data, length, &requested, &queries)) {
    return Error(option, kRepErrInvalid, "malformed metadata context request", out);
  }
  if (!negotiated_.structured) {
    return Error(option, kRepErrInvalid, "negotiate NBD_OPT_STRUCTURED_REPLY first", out);
  }
  std::string volume;
  Next next = Next::kContinue;
  if (!Admit(option, requested, &volume, out, &next)) return next;
  bool allocation = false;
  for (const std::string& query : queries) {
    if (query.size() > kMaxStringLength) {
      return Error(option, kRepErrInvalid, "metadata context query too long", out);
    }
    if (query == kMetaBaseAllocation) allocation = true;
    // "base:" is a wildcard for LIST only; SET must ignore it.
    if (!set && query == "base:") allocation = true;
  }
  if (!set && queries.empty()) allocation = true;  // LIST with no query: everything
  if (allocation) {
    std::vector<uint8_t> payload;
    AppendBe32(&payload, set ? 1u : 0u);  // LIST replies carry id 0
    payload.insert(payload.end(), kMetaBaseAllocation,
                   kMetaBaseAllocation + sizeof kMetaBaseAllocation - 1);
    AppendOptionReply(out, option, kRepMetaContext, payload.data(), payload.size());
  }
  if (set && allocation) {
    meta_selected_ = true;
    meta_export_ = requested;
  }
  AppendOptionReply(out, option, kRepAck, nullptr, 0);
  return Next::kContinue;
}

bool Negotiation::Admit(uint32_t option, const std::string& requested, std::string* volume,
                        std::vector<uint8_t>* out, Next* next) {
  if (requested.size() > kMaxStringLength || ContainsNul(requested) ||
      !catalog_->Resolve(requested, volume)) {
    *next =
        Error(option, kRepErrUnknown, "no export named \"" + requested.substr(0, 256) + "\"", out);
    return false;
  }
  if (catalog_->RestrictsClients(*volume) && !tls_active_) {
    *next =
        Error(option, kRepErrTlsReqd, "export \"" + *volume + "\" is served only over TLS", out);
    return false;
  }
  if (!catalog_->PermitsClient(*volume, tls_identity_, tls_common_name_)) {
    *next = Error(option, kRepErrPolicy,
                  "this TLS client identity may not use export \"" + *volume + "\"", out);
    return false;
  }
  return true;
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
  if (tls_mode_ == TlsMode::kRequire && !tls_active_) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME without TLS on a listener that requires it";
    return Next::kClose;
  }
  if (negotiated_.extended) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME after extended headers (the client must use NBD_OPT_GO)";
    return Next::kClose;
  }
  if (ContainsNul(requested) || !catalog_->Resolve(requested, &volume)) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME: no export named \"" + requested + "\"";
    return Next::kClose;
  }
  if ((catalog_->RestrictsClients(volume) && !tls_active_) ||
      !catalog_->PermitsClient(volume, tls_identity_, tls_common_name_)) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME: this client may not use export \"" + volume + "\"";
    return Next::kClose;
  }
  if (!catalog_->Open(volume, &volume_, &info_, &error)) {
    diagnostic_ = "NBD_OPT_EXPORT_NAME: " + error;
    return Next::kClose;
  }
  FixFeatures(requested);
  AppendBe64(out, info_.size);
  AppendBe16(out, info_.transmission_flags);
  if (!no_zeroes_) out->insert(out->end(), 124, 0);
  return Next::kTransmission;
}

void Negotiation::FixFeatures(const std::string& requested) {
  features_ = negotiated_;
  // BLOCK_STATUS is valid only for the export the last SET_META_CONTEXT named.
  features_.allocation_context = (meta_selected_ && meta_export_ == requested) ? 1 : 0;
  if (features_.structured) info_.transmission_flags |= kTxSendDf;
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
    // TLS-only exports are not listed in the clear, nor to identities that may not use them.
    if (catalog_->RestrictsClients(entry.name) && !tls_active_) continue;
    if (!catalog_->PermitsClient(entry.name, tls_identity_, tls_common_name_)) continue;
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
  Next next = Next::kContinue;
  if (!Admit(option, requested, &volume, out, &next)) return next;
  VolumeHandle handle;
  ExportInfo info;
  std::string error;
  if (!catalog_->Open(volume, &handle, &info, &error)) {
    return Error(option, kRepErrUnknown, error, out);
  }
  // DF is advertised only with structured replies (it constrains their chunking).
  if (negotiated_.structured) info.transmission_flags |= kTxSendDf;

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
  info_.transmission_flags &= static_cast<uint16_t>(~kTxSendDf);
  FixFeatures(requested);
  return Next::kTransmission;
}

}  // namespace bpnbd
