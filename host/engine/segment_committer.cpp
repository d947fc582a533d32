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
  unsynced_.clear();
}

uint64_t SegmentCommitter::AckFrontier() const {
  uint64_t frontier = synced_seq();
  for (const Unsynced& u : unsynced_) {
    // Broken on purpose (engine_options.h): an unsynced segment counts as durable.
    if (!u.journaled && !(options_.sabotage & Sabotage::kAckFlushBeforeSync)) return frontier;
    frontier = u.seq;
  }
  for (const auto& seg : pending_) {
    if (!seg->journaled) break;
    frontier = seg->seq;
  }
  return frontier;
}

PendingSegment* SegmentCommitter::Find(uint64_t seq) const {
  for (const auto& p : pending_) {
    if (p->seq == seq) return p.get();
  }
  return nullptr;
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
    seg->retry_at = now + std::chrono::milliseconds(kMaxRetryMs);
  }
}

SegmentCommitter::Step SegmentCommitter::Next(Clock::TimePoint now, bool retry_now,
                                              std::shared_ptr<PendingSegment>* seg) {
  const size_t limit = std::max<uint32_t>(1, options_.uploads_in_flight);
  for (const auto& p : pending_) {
    switch (p->stage) {
      case PendingSegment::Stage::kEncoding:
      case PendingSegment::Stage::kUploading:
      case PendingSegment::Stage::kUploaded: continue;  // its task reports back
      case PendingSegment::Stage::kEncodeFailed:
        // A segment being journaled is read by that task: encode it again only after.
        if (p->journaling || (!retry_now && now < p->retry_at)) continue;
        p->stage = PendingSegment::Stage::kEncoding;
        *seg = p;
        return Step::kEncode;
      case PendingSegment::Stage::kUploadFailed:
        if (!retry_now && now < p->retry_at) continue;
        break;
      case PendingSegment::Stage::kEncoded: break;
    }
    // Uploads start oldest first; none past the limit.
    if (uploading_ >= limit) return Step::kNone;
    p->stage = PendingSegment::Stage::kUploading;
    ++uploading_;
    *seg = p;
    return Step::kUpload;
  }
  return Step::kNone;
}

bool SegmentCommitter::Uploaded(PendingSegment* seg) {
  --uploading_;
  seg->stage = PendingSegment::Stage::kUploaded;
  // The store takes uploads again: the segments that failed earlier retry now rather than
  // after their backoff (up to 30 s), which would hold the durable frontier back meanwhile.
  for (const auto& p : pending_) {
    if (p->stage == PendingSegment::Stage::kUploadFailed) p->retry_at = Clock::TimePoint{};
  }
  return !applying_ && !borrowed_;
}

std::shared_ptr<PendingSegment> SegmentCommitter::HeadToApply() {
  if (borrowed_ || pending_.empty()) {
    applying_ = false;
    return nullptr;
  }
  if (options_.sabotage & Sabotage::kAckFlushOnNewestDurable) {
    // Broken on purpose: any uploaded segment counts as durable at once, and the durable seq is
    // the newest one (engine_options.h).
    for (const auto& any : pending_) {
      if (any->stage != PendingSegment::Stage::kUploaded) continue;
      applying_ = true;
      return any;
    }
    applying_ = false;
    return nullptr;
  }
  const std::shared_ptr<PendingSegment>& head = pending_.front();
  if (head->stage != PendingSegment::Stage::kUploaded) {
    applying_ = false;
    return nullptr;
  }
  applying_ = true;
  return head;
}

bool SegmentCommitter::has_upload_failure() const {
  for (const auto& p : pending_) {
    if (p->stage == PendingSegment::Stage::kUploadFailed) return true;
  }
  return false;
}

uint64_t SegmentCommitter::FirstUnsyncedBlocker() const {
  for (const Unsynced& u : unsynced_) {
    if (!u.journaled) return u.seq;
  }
  return 0;
}

std::vector<uint64_t> SegmentCommitter::UnsyncedThrough(uint64_t through) const {
  std::vector<uint64_t> seqs;
  for (const Unsynced& u : unsynced_) {
    if (u.seq > through) break;
    seqs.push_back(u.seq);
  }
  return seqs;
}

bool SegmentCommitter::Synced(uint64_t through) {
  bool journaled = false;
  while (!unsynced_.empty() && unsynced_.front().seq <= through) {
    journaled = journaled || unsynced_.front().in_journal;
    unsynced_.pop_front();
  }
  return journaled;
}

uint64_t SegmentCommitter::Durable(PendingSegment* seg, Clock::TimePoint now) {
  // Out of order only under the sabotage of HeadToApply, which then also skips the unsynced
  // list's order: it is broken on purpose anyway.
  if (defer_sync_ && seg->seq > durable_seq_) {
    unsynced_.push_back(Unsynced{seg->seq, seg->journaled, seg->in_journal(), now});
  }
  durable_seq_ = std::max(durable_seq_, seg->seq);
  // Always the head, unless the sabotage above applies out of order.
  pending_.erase(std::find_if(pending_.begin(), pending_.end(),
                              [&](const auto& p) { return p.get() == seg; }));
  pending_bytes_ -= seg->bytes;
  Recycle(seg);
  retry_backoff_ms_ = 0;
  return durable_seq_;
}

uint32_t SegmentCommitter::UploadFailed(PendingSegment* seg, Clock::TimePoint now) {
  --uploading_;
  seg->stage = PendingSegment::Stage::kUploadFailed;
  retry_backoff_ms_ =
      retry_backoff_ms_ == 0 ? kFirstRetryMs : std::min(kMaxRetryMs, retry_backoff_ms_ * 2);
  seg->retry_at = now + std::chrono::milliseconds(retry_backoff_ms_);
  return retry_backoff_ms_;
}

void SegmentCommitter::UploadFenced(PendingSegment* seg) {
  --uploading_;
  seg->stage = PendingSegment::Stage::kUploadFailed;
}

bool SegmentCommitter::RetryDue(Clock::TimePoint now) const {
  for (const auto& p : pending_) {
    const PendingSegment::Stage stage = p->stage;
    if ((stage == PendingSegment::Stage::kEncodeFailed ||
         stage == PendingSegment::Stage::kUploadFailed) &&
        now >= p->retry_at) {
      return true;
    }
  }
  return false;
}

std::vector<std::shared_ptr<PendingSegment>> SegmentCommitter::TakeForJournal(uint64_t through) {
  std::vector<std::shared_ptr<PendingSegment>> out;
  for (const auto& p : pending_) {
    if (p->seq > through || !p->encoded()) break;
    // An uploaded segment is not durable until every older one is: while an older upload
    // keeps failing it holds up the flushes like any other, so it is journaled too.
    if (p->journaled || p->journaling) continue;
    p->journaling = true;
    out.push_back(p);
  }
  return out;
}

void SegmentCommitter::Journaled(const std::vector<std::shared_ptr<PendingSegment>>& segs,
                                 bool ok) {
  for (const auto& p : segs) {
    p->journaling = false;
    if (ok) p->journaled = true;
  }
  if (!ok) return;
  for (Unsynced& u : unsynced_) {
    for (const auto& p : segs) {
      if (p->seq == u.seq) u.journaled = u.in_journal = true;
    }
  }
}

bool SegmentCommitter::JournalWaitsForEncode(uint64_t through) const {
  for (const auto& p : pending_) {
    if (p->seq > through) break;
    if (!p->encoded() && !p->journaled) return true;
  }
  return false;
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
  // A journal task still reading the image (and the buffer parts it keeps) holds the segment:
  // its memory is freed with the last reference instead.
  if (seg->journaling) return;
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
