// Retry loop of RetryingStore (see retrying_store.h). Each retry is counted in the metrics so an
// unhealthy backend shows up in `blockpipe stats` before it turns into client errors.
#include "pipeline/retrying_store.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "util/metrics.h"

namespace bp {

RetryingStore::RetryingStore(std::shared_ptr<ObjectStore> inner, RetryPolicy policy)
    : inner_(std::move(inner)),
      policy_(policy),
      rng_(policy.jitter_seed != 0 ? policy.jitter_seed : std::random_device{}()) {}

std::chrono::milliseconds RetryingStore::Jitter(std::chrono::milliseconds backoff) {
  const auto lo = std::max<int64_t>(backoff.count() / 2, 1);
  const auto hi = std::max<int64_t>(backoff.count(), lo);
  MutexLock lock(&mu_);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(lo, hi)(rng_));
}

void RetryingStore::Abort() {
  {
    MutexLock lock(&mu_);
    aborted_ = true;
  }
  cv_.SignalAll();
}

bool RetryingStore::Wait(std::chrono::milliseconds d) {
  MutexLock lock(&mu_);
  const Clock::TimePoint until = policy_.clock->Now() + d;
  while (!aborted_ && policy_.clock->Now() < until) policy_.clock->WaitUntil(&cv_, &mu_, until);
  return !aborted_;
}

template <typename Op>
Status RetryingStore::Retry(const char* verb, const std::string& subject, const Op& op,
                            bool* had_transient) {
  static auto& retries = Metrics::Global().Counter("backend_retries_total",
                                                   "Backend calls retried after a transient error");
  static auto& gave_up =
      Metrics::Global().Counter("backend_retry_exhausted_total",
                                "Backend calls that still failed when the retry deadline passed");

  Clock& clock = *policy_.clock;
  const auto start = clock.Now();
  const auto deadline = start + policy_.deadline;
  auto backoff = std::max(policy_.initial_backoff, std::chrono::milliseconds(1));
  for (int attempt = 1;; ++attempt) {
    Status st = op();
    if (!st.IsTransient()) return st;
    if (had_transient != nullptr) *had_transient = true;
    const std::string what = std::string(verb) + " " + subject;
    const auto now = clock.Now();
    bool aborted;
    {
      MutexLock lock(&mu_);
      aborted = aborted_;
    }
    if (now >= deadline || aborted) {
      if (policy_.deadline.count() > 0) gave_up.fetch_add(1, std::memory_order_relaxed);
      const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      return st.WithContext(what + ": giving up after " + std::to_string(attempt) + " attempt" +
                            (attempt == 1 ? "" : "s") + " in " + std::to_string(spent.count()) +
                            " ms");
    }
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const auto wait = std::min(Jitter(backoff), std::max(remaining, std::chrono::milliseconds(1)));
    if (attempt == 1) {
      spdlog::warn("{} on {}: {}; retrying for up to {} ms", what, inner_->Describe(), st.message(),
                   remaining.count());
    } else {
      spdlog::debug("{}: attempt {} failed: {}", what, attempt, st.message());
    }
    retries.fetch_add(1, std::memory_order_relaxed);
    Wait(wait);  // an abort ends the wait early; the next failure then returns
    backoff = std::min(backoff * 2, std::max(policy_.max_backoff, std::chrono::milliseconds(1)));
  }
}

Status RetryingStore::Get(const std::string& key, Bytes* out) {
  return Retry("get", key, [&] { return inner_->Get(key, out); });
}

Status RetryingStore::Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                           uint64_t* nread) {
  return Retry("read", key, [&] { return inner_->Read(key, offset, length, buf, nread); });
}

Status RetryingStore::Put(const std::string& key, const void* data, uint64_t length,
                          bool if_absent) {
  bool had_transient = false;
  Status st = Retry(
      "put", key, [&] { return inner_->Put(key, data, length, if_absent); }, &had_transient);
  if (!if_absent) return st;
  return SettleConditionalPut(key, {ObjectPart{static_cast<const uint8_t*>(data), length}}, st,
                              had_transient, nullptr);
}

Status RetryingStore::PutParts(const std::string& key, const ObjectParts& parts, bool if_absent) {
  bool had_transient = false;
  Status st = Retry(
      "put", key, [&] { return inner_->PutParts(key, parts, if_absent); }, &had_transient);
  if (!if_absent) return st;
  return SettleConditionalPut(key, parts, st, had_transient, nullptr);
}

Status RetryingStore::PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                                        bool if_absent) {
  bool had_transient = false;
  Status st = Retry(
      "put", key, [&] { return inner_->PutPartsDeferSync(key, parts, if_absent); }, &had_transient);
  if (!if_absent) return st;
  return SettleConditionalPut(key, parts, st, had_transient, nullptr);
}

Status RetryingStore::Sync(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  return Retry("sync", std::to_string(keys.size()) + " object(s) from " + keys.front(),
               [&] { return inner_->Sync(keys); });
}

Status RetryingStore::GetTagged(const std::string& key, Bytes* out, std::string* tag) {
  return Retry("get", key, [&] { return inner_->GetTagged(key, out, tag); });
}

Status RetryingStore::PutIfMatch(const std::string& key, const void* data, uint64_t length,
                                 const std::string& expected_tag, std::string* new_tag) {
  bool had_transient = false;
  Status st = Retry(
      "put-if-match", key,
      [&] { return inner_->PutIfMatch(key, data, length, expected_tag, new_tag); }, &had_transient);
  return SettleConditionalPut(key, {ObjectPart{static_cast<const uint8_t*>(data), length}}, st,
                              had_transient, new_tag);
}

void RetryingStore::RememberUncertain(const std::string& key) {
  uncertain_.push_back(key);
  if (uncertain_.size() > kUncertainKeys) uncertain_.pop_front();
}

Status RetryingStore::SettleConditionalPut(const std::string& key, const ObjectParts& parts,
                                           Status st, bool had_transient, std::string* tag) {
  bool earlier_attempt_lost = false;
  {
    MutexLock lock(&mu_);
    auto it = std::find(uncertain_.begin(), uncertain_.end(), key);
    if (it != uncertain_.end()) {
      earlier_attempt_lost = true;
      // Settled below unless this attempt ends uncertain again.
      uncertain_.erase(it);
    }
    if (st.IsTransient()) RememberUncertain(key);
  }
  if (!st.IsPrecondition() || !(had_transient || earlier_attempt_lost)) return st;
  if (!policy_.resolve_lost_replies) return st;
  return ResolveLostResponse(key, parts, st, tag);
}

Status RetryingStore::ResolveLostResponse(const std::string& key, const ObjectParts& parts,
                                          Status lost, std::string* tag) {
  // The earlier, failed-looking attempt may have written the object. Ours if the bytes match:
  // every conditionally written object the engine keeps carries something unique to the writer
  // (a sequence number, a random claim id), and identical bytes leave the same state anyway.
  Bytes existing;
  std::string existing_tag;
  Status read =
      tag != nullptr
          ? Retry("get", key, [&] { return inner_->GetTagged(key, &existing, &existing_tag); })
          : Retry("get", key, [&] { return inner_->Get(key, &existing); });
  if (read.ok()) {
    if (!PartsEqual(parts, existing.data(), existing.size())) return lost;  // another writer's
    spdlog::debug("put {}: an earlier attempt whose response was lost had succeeded", key);
    if (tag != nullptr) *tag = existing_tag;
    return Status::Ok();
  }
  // Unknown whose object it is (the store failed the read-back, or the object went away since
  // it was refused): report what is known — a transient failure — and keep the key uncertain so
  // the caller's next attempt resolves it. Answering Precondition here would make a writer
  // whose own put landed fence itself.
  {
    MutexLock lock(&mu_);
    RememberUncertain(key);
  }
  return Status::Transient("put " + key +
                           ": refused as already present after a lost reply, and "
                           "reading it back to tell whose it is failed: " +
                           read.ToString());
}

Status RetryingStore::Delete(const std::string& key) {
  return Retry("delete", key, [&] { return inner_->Delete(key); });
}

Status RetryingStore::List(const std::string& prefix, std::vector<ObjectInfo>* out) {
  return Retry("list", prefix, [&] { return inner_->List(prefix, out); });
}

}  // namespace bp
