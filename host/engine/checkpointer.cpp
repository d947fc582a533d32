// Checkpointer and CheckpointStore implementation (see checkpointer.h).
#include "engine/checkpointer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"

namespace bp {

bool Checkpointer::Due(uint64_t durable_seq) const {
  if (state_ != State::kIdle) return false;
  if (forced_ && durable_seq > last_seq_) return true;
  return durable_seq >= last_seq_ + every_segments_ && durable_bytes_ >= due_bytes_;
}

uint64_t Checkpointer::Begin() {
  state_ = State::kWriting;
  forced_ = false;
  return durable_bytes_;
}

void Checkpointer::Finished(bool stored, uint64_t seq, uint64_t covered_bytes, uint64_t size) {
  state_ = State::kIdle;
  if (!stored) {
    forced_ = true;  // whoever forced it still needs it; otherwise it is due anyway
    return;
  }
  last_seq_ = std::max(last_seq_, seq);
  due_bytes_ = covered_bytes + kWriteRatio * size;
}

void Checkpointer::Stored(uint64_t seq) { last_seq_ = std::max(last_seq_, seq); }

Status CheckpointStore::Put(uint64_t seq, const Bytes& plain) const {
  Bytes object;
  BP_RETURN_IF_ERROR(BuildCheckpointObject(plain, seq, meta_->uuid, *chain_, &object));
  const std::string key = CheckpointKey(meta_->name, seq);
  Status s = store_->Put(key, object.data(), object.size(), fenced_puts_);
  if (!s.IsPrecondition()) return s;
  // An earlier attempt at this checkpoint may have landed with its reply lost past the
  // store's retries. A codec with random nonces (encrypt) encodes the same body to other bytes
  // each time, so the store layer cannot recognize it: a checkpoint that decodes to the same
  // body is that attempt, not another writer's.
  Bytes stored;
  if (ReadCheckpointBody(*store_, key, seq, meta_->uuid, *chain_, &stored).ok() &&
      stored == plain) {
    return Status::Ok();
  }
  return s;
}

bool CheckpointStore::PruneOld(std::vector<uint64_t>* kept, uint64_t* kept_bytes) const {
  std::vector<ObjectInfo> objects;
  const std::string prefix = CheckpointPrefix(meta_->name);
  if (!store_->List(prefix, &objects).ok()) return false;
  std::vector<std::pair<uint64_t, uint64_t>> found;  // seq, object size
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, prefix, &seq)) found.emplace_back(seq, o.size);
  }
  std::sort(found.rbegin(), found.rend());
  // Read after the listing: a pin added since (a snapshot of the newest checkpoint) names one of
  // the kKept newest, which this pass keeps anyway.
  const std::set<uint64_t> pinned = pins_ != nullptr ? pins_->Checkpoints() : std::set<uint64_t>{};
  std::vector<uint64_t> fallbacks;
  uint64_t bytes = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    if (i < Checkpointer::kKept) {
      fallbacks.push_back(found[i].first);
    } else if (pinned.count(found[i].first) == 0) {
      Status s = store_->Delete(CheckpointKey(meta_->name, found[i].first));
      if (s.ok()) continue;
      spdlog::warn("volume {}: deleting old checkpoint {}: {}", meta_->name, found[i].first,
                   s.ToString());
    }
    bytes += found[i].second;
  }
  if (kept) *kept = std::move(fallbacks);  // newest first
  if (kept_bytes) *kept_bytes = bytes;
  return true;
}

}  // namespace bp
