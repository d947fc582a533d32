// SegmentCommitter implementation (see segment_committer.h).
#include "engine/segment_committer.h"

#include <algorithm>

namespace bp {
namespace {
constexpr uint32_t kFirstRetryMs = 500;
constexpr uint32_t kMaxRetryMs = 30000;
}  // namespace

SegmentCommitter::SegmentCommitter(const EngineOptions& options) : options_(options) {}

void SegmentCommitter::Reset(uint64_t durable_seq) {
  durable_seq_ = durable_seq;
  next_seq_ = durable_seq + 1;
}

std::shared_ptr<PendingSegment> SegmentCommitter::Seal(std::unique_ptr<WriteBuffer> buffer) {
  auto seg = std::make_shared<PendingSegment>();
  seg->seq = next_seq_++;
  seg->buffer = std::move(buffer);
  seg->bytes = seg->buffer->memory_bytes();
  pending_bytes_ += seg->bytes;
  if (!spare_images_.empty()) {
    seg->image.storage = std::move(spare_images_.back());
    spare_images_.pop_back();
    spare_bytes_ -= seg->image.storage.capacity();
  }
  pending_.push_back(seg);
  return seg;
}

std::unique_ptr<WriteBuffer> SegmentCommitter::FreshBuffer() {
  if (spare_buffers_.empty()) return std::make_unique<WriteBuffer>();
  std::unique_ptr<WriteBuffer> buffer = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  spare_bytes_ -= buffer->retained_bytes();
  return buffer;
}

void SegmentCommitter::Encoded(PendingSegment* seg, const Status& s, Clock::TimePoint now) {
  if (s.ok()) {
    seg->stage = PendingSegment::Stage::kEncoded;
    // The encoded object waits for its upload too: count the memory it holds of its own (the
    // parts it keeps in the buffer are counted already) against the buffer limit.
    seg->bytes += seg->image.owned_size();
    pending_bytes_ += seg->image.owned_size();
  } else {
    seg->stage = PendingSegment::Stage::kEncodeFailed;
    retry_at_ = now + std::chrono::milliseconds(kMaxRetryMs);
  }
}

SegmentCommitter::Step SegmentCommitter::Next(Clock::TimePoint now, bool retry_now,
                                              std::shared_ptr<PendingSegment>* seg) {
  if (slot_ != Slot::kFree || pending_.empty()) return Step::kNone;
  if (options_.sabotage & Sabotage::kAckFlushOnNewestDurable) {
    // Broken on purpose: upload whichever segment is encoded, not the oldest.
    for (const auto& any : pending_) {
      if (any->stage != PendingSegment::Stage::kEncoded) continue;
      any->stage = PendingSegment::Stage::kUploading;
      slot_ = Slot::kUploading;
      *seg = any;
      return Step::kUpload;
    }
  }
  const std::shared_ptr<PendingSegment>& head = pending_.front();
  switch (head->stage) {
    case PendingSegment::Stage::kEncoding:
    case PendingSegment::Stage::kUploading: return Step::kNone;  // its task reports back
    case PendingSegment::Stage::kEncodeFailed:
      if (!retry_now && now < retry_at_) return Step::kNone;
      head->stage = PendingSegment::Stage::kEncoding;
      *seg = head;
      return Step::kEncode;
    case PendingSegment::Stage::kUploadFailed:
      if (!retry_now && now < retry_at_) return Step::kNone;
      break;
    case PendingSegment::Stage::kEncoded: break;
  }
  head->stage = PendingSegment::Stage::kUploading;
  slot_ = Slot::kUploading;
  *seg = head;
  return Step::kUpload;
}

uint64_t SegmentCommitter::Durable(PendingSegment* seg) {
  slot_ = Slot::kFree;
  durable_seq_ = std::max(durable_seq_, seg->seq);
  // Always the head, unless the sabotage above uploaded out of order.
  pending_.erase(std::find_if(pending_.begin(), pending_.end(),
                              [&](const auto& p) { return p.get() == seg; }));
  pending_bytes_ -= seg->bytes;
  Recycle(seg);
  retry_backoff_ms_ = 0;
  return durable_seq_;
}

uint32_t SegmentCommitter::UploadFailed(PendingSegment* seg, Clock::TimePoint now) {
  slot_ = Slot::kFree;
  seg->stage = PendingSegment::Stage::kUploadFailed;
  retry_backoff_ms_ =
      retry_backoff_ms_ == 0 ? kFirstRetryMs : std::min(kMaxRetryMs, retry_backoff_ms_ * 2);
  retry_at_ = now + std::chrono::milliseconds(retry_backoff_ms_);
  return retry_backoff_ms_;
}

bool SegmentCommitter::RetryDue(Clock::TimePoint now) const {
  if (pending_.empty() || now < retry_at_) return false;
  const PendingSegment::Stage stage = pending_.front()->stage;
  return stage == PendingSegment::Stage::kEncodeFailed ||
         stage == PendingSegment::Stage::kUploadFailed;
}

WriteBuffer::Hit SegmentCommitter::Lookup(uint64_t lba, const uint8_t** data) const {
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    WriteBuffer::Hit hit = (*it)->buffer->Lookup(lba, data);
    if (hit != WriteBuffer::Hit::kMiss) return hit;
  }
  return WriteBuffer::Hit::kMiss;
}

bool SegmentCommitter::Untouched(uint64_t lba, uint64_t blocks) const {
  for (const auto& seg : pending_) {
    if (!seg->buffer->Untouched(lba, blocks)) return false;
  }
  return true;
}

// Fresh memory is expensive here: every page of a new segment-sized buffer is faulted in and
// cleared by the kernel, and freeing it returns the pages. So a durable segment's write buffer
// (its slabs) and image storage are kept for the next segments: always one encoding's and one
// upload's worth, and more while they, with the segments still in flight, fit in the
// write-buffer limit. At full speed every segment then reuses memory that is already there,
// and an idle volume holds no more than the limit allows.
void SegmentCommitter::Recycle(PendingSegment* seg) {
  constexpr size_t kAlwaysKept = 2;
  const uint64_t limit = options_.write_buffer_limit;
  auto keep = [&](size_t spares, uint64_t bytes) {
    return spares < kAlwaysKept || pending_bytes_ + spare_bytes_ + bytes <= limit;
  };
  if (seg->buffer) {
    seg->buffer->Reset();
    const uint64_t kept = seg->buffer->retained_bytes();
    if (keep(spare_buffers_.size(), kept)) {
      spare_buffers_.push_back(std::move(seg->buffer));
      spare_bytes_ += kept;
    }
    seg->buffer.reset();
  }
  const uint64_t image = seg->image.storage.capacity();
  if (image != 0 && keep(spare_images_.size(), image)) {
    spare_images_.push_back(std::move(seg->image.storage));
    spare_bytes_ += image;
  }
  seg->image = SegmentImage{};
}

}  // namespace bp
