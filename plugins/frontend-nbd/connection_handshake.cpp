// Connection, handshake phase: the fixed-newstyle greeting, the client flags, and the option
// loop. The I/O reads exactly what each message declares; the decisions are Negotiation's.
// Limits that keep a client from holding resources: a handshake timer, a cap on the number of
// options, option data buffered only up to kMaxBufferedOptionData and skipped (then refused)
// up to kMaxSkippedOptionData, beyond which the connection is dropped.
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "connection.h"
#include "nbd_protocol.h"
#include "server.h"
#include "tls_context.h"

namespace bpnbd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr size_t kGreetingSize = 18;
constexpr size_t kOptionHeaderSize = 16;
}  // namespace

void Connection::Start() {
  handshake_timer_.expires_after(std::chrono::milliseconds(settings_.handshake_timeout_ms));
  handshake_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->in_transmission_ || self->finished_) return;
    self->Log(BP_LOG_WARN, "negotiation timed out");
    self->Abort("negotiation timed out");
  });
  SendGreeting();
}

void Connection::SendGreeting() {
  handshake_out_.assign(kGreetingSize, 0);
  StoreBe64(handshake_out_.data(), kNbdMagic);
  StoreBe64(handshake_out_.data() + 8, kOptMagic);
  StoreBe16(handshake_out_.data() + 16, kFlagFixedNewstyle | kFlagNoZeroes);
  AsyncWrite(asio::buffer(handshake_out_),
             [self = shared_from_this()](const error_code& ec, size_t) {
               if (ec) return self->OnReadEnded(ec);
               self->ReadClientFlags();
             });
}

void Connection::ReadClientFlags() {
  AsyncRead(asio::buffer(small_buf_, 4), [self = shared_from_this()](const error_code& ec, size_t) {
    if (ec) return self->OnReadEnded(ec);
    uint32_t flags = LoadBe32(self->small_buf_);
    // The spec requires dropping a client that sets flags we did not offer.
    if (flags & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes)) {
      self->Abort("client sent unknown handshake flags " + std::to_string(flags));
      return;
    }
    self->negotiation_ =
        std::make_unique<Negotiation>(&self->server_->catalog(), flags, self->tls_mode_);
    if (self->stopping_) self->negotiation_->SetShuttingDown();
    self->ReadOptionHeader();
  });
}

void Connection::ReadOptionHeader() {
  AsyncRead(asio::buffer(small_buf_, kOptionHeaderSize), [self = shared_from_this()](
                                                             const error_code& ec, size_t) {
    if (ec) return self->OnReadEnded(ec);
    if (LoadBe64(self->small_buf_) != kOptMagic) {
      self->Abort("bad option magic (an oldstyle or non-NBD client?)");
      return;
    }
    uint32_t option = LoadBe32(self->small_buf_ + 8);
    uint32_t length = LoadBe32(self->small_buf_ + 12);
    if (++self->options_seen_ > kMaxOptionsPerConnection) {
      self->Abort("too many options");
      return;
    }
    if (length > kMaxSkippedOptionData) {
      self->Abort(OptionName(option) + " with " + std::to_string(length) + " bytes of data");
      return;
    }
    if (length > kMaxBufferedOptionData) {
      self->SkipOptionData(option, length);
      return;
    }
    self->ReadOptionData(option, length);
  });
}

void Connection::ReadOptionData(uint32_t option, uint32_t length) {
  option_data_.resize(length);
  AsyncRead(asio::buffer(option_data_), [self = shared_from_this(), option](const error_code& ec,
                                                                            size_t) {
    if (ec) return self->OnReadEnded(ec);
    self->handshake_out_.clear();
    auto next = self->negotiation_->HandleOption(option, self->option_data_.data(),
                                                 self->option_data_.size(), &self->handshake_out_);
    self->SendNegotiationOutput(next);
  });
}

void Connection::SkipOptionData(uint32_t option, size_t remaining) {
  if (remaining == 0) {
    handshake_out_.clear();
    SendNegotiationOutput(negotiation_->HandleOversizedOption(option, &handshake_out_));
    return;
  }
  size_t chunk = std::min<size_t>(remaining, kReadBufferBytes);
  AsyncRead(asio::buffer(rbuf_.get(), chunk),
            [self = shared_from_this(), option, remaining](const error_code& ec, size_t n) {
              if (ec) return self->OnReadEnded(ec);
              self->SkipOptionData(option, remaining - n);
            });
}

void Connection::SendNegotiationOutput(Negotiation::Next next) {
  if (!negotiation_->diagnostic().empty()) Log(BP_LOG_DEBUG, negotiation_->diagnostic());
  auto after_write = [self = shared_from_this(), next](const error_code& ec, size_t) {
    if (ec) return self->OnReadEnded(ec);
    switch (next) {
      case Negotiation::Next::kContinue: self->ReadOptionHeader(); break;
      case Negotiation::Next::kClose:
        self->Abort(self->negotiation_->diagnostic().empty() ? std::string("negotiation ended")
                                                             : self->negotiation_->diagnostic());
        break;
      case Negotiation::Next::kTransmission: self->EnterTransmission(); break;
      case Negotiation::Next::kStartTls: self->StartTls(); break;
    }
  };
  if (handshake_out_.empty()) {
    after_write(error_code(), 0);
    return;
  }
  AsyncWrite(asio::buffer(handshake_out_), after_write);
}

void Connection::EnterTransmission() {
  in_transmission_ = true;
  handshake_timer_.cancel();
  volume_ = negotiation_->TakeVolume();
  info_ = negotiation_->export_info();
  features_ = negotiation_->features();
  request_header_size_ = features_.extended ? kExtendedRequestHeaderSize : kRequestHeaderSize;
  negotiation_.reset();
  handshake_out_ = {};
  option_data_ = {};
  Log(BP_LOG_INFO, "serving export \"" + info_.name + "\" (" + std::to_string(info_.size) +
                       " bytes" + (info_.read_only ? ", read-only" : "") +
                       (tls_transport_ ? ", TLS" : "") +
                       (features_.extended     ? ", extended headers"
                        : features_.structured ? ", structured replies"
                                               : "") +
                       (features_.allocation_context ? ", base:allocation" : "") + ")");
  if (stopping_) {
    // Stop began while the last option was in flight: nothing to serve.
    read_closed_ = true;
    MaybeFinish();
    return;
  }
  Parse();
}

}  // namespace bpnbd
