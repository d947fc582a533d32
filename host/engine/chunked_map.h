// ChunkedMap: an ordered map from uint64_t keys to small values, kept as sorted chunks of at most
// kChunkMax entries plus one flat array holding the first key of every chunk. It is what the
// extent map stores its extents in: after scattered writes a volume's map holds hundreds of
// thousands of extents, and a std::map walks ~18 nodes scattered over the heap per lookup and
// allocates a node per insert. Here a lookup is a binary search over one contiguous array of
// chunk keys, then over one contiguous chunk; an insert or erase moves at most one chunk's
// entries (and, when a chunk splits or empties, the small per-chunk arrays), and allocates only
// when a chunk splits.
//
// Iterators are (chunk, entry) positions. Unlike std::map's, every insert or erase invalidates
// them all; the functions that change the map return a valid position to continue from.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

namespace bp {

template <typename V>
class ChunkedMap {
 public:
  using value_type = std::pair<uint64_t, V>;
  static constexpr size_t kChunkMax = 128;

  template <bool kConst>
  class Iter {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = ChunkedMap::value_type;
    using difference_type = std::ptrdiff_t;
    using Owner = std::conditional_t<kConst, const ChunkedMap, ChunkedMap>;
    using reference = std::conditional_t<kConst, const value_type&, value_type&>;
    using pointer = std::conditional_t<kConst, const value_type*, value_type*>;

    Iter() = default;
    Iter(Owner* owner, size_t chunk, size_t entry) : owner_(owner), chunk_(chunk), entry_(entry) {}
    template <bool kOther, typename = std::enable_if_t<kConst && !kOther>>
    Iter(const Iter<kOther>& o) : owner_(o.owner_), chunk_(o.chunk_), entry_(o.entry_) {}

    reference operator*() const { return owner_->chunks_[chunk_][entry_]; }
    pointer operator->() const { return &owner_->chunks_[chunk_][entry_]; }
    Iter& operator++() {
      if (++entry_ == owner_->chunks_[chunk_].size()) {
        ++chunk_;
        entry_ = 0;
      }
      return *this;
    }
    Iter operator++(int) {
      Iter old = *this;
      ++*this;
      return old;
    }
    Iter& operator--() {
      if (entry_ == 0) {
        --chunk_;
        entry_ = owner_->chunks_[chunk_].size();
      }
      --entry_;
      return *this;
    }
    Iter operator--(int) {
      Iter old = *this;
      --*this;
      return old;
    }
    bool operator==(const Iter& o) const { return chunk_ == o.chunk_ && entry_ == o.entry_; }
    bool operator!=(const Iter& o) const { return !(*this == o); }

   private:
    friend class ChunkedMap;
    template <bool>
    friend class Iter;
    Owner* owner_ = nullptr;
    size_t chunk_ = 0;
    size_t entry_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  iterator begin() { return iterator(this, 0, 0); }
  iterator end() { return iterator(this, chunks_.size(), 0); }
  const_iterator begin() const { return const_iterator(this, 0, 0); }
  const_iterator end() const { return const_iterator(this, chunks_.size(), 0); }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  void clear() {
    chunks_.clear();
    firsts_.clear();
    size_ = 0;
  }

  // First entry whose key is >= key (lower_bound) or > key (upper_bound).
  iterator lower_bound(uint64_t key) { return Find<iterator>(this, key, false); }
  iterator upper_bound(uint64_t key) { return Find<iterator>(this, key, true); }
  const_iterator lower_bound(uint64_t key) const { return Find<const_iterator>(this, key, false); }
  const_iterator upper_bound(uint64_t key) const { return Find<const_iterator>(this, key, true); }

  // Ask the CPU to start loading the chunk that holds (or would hold) `key`, for a caller about
  // to look up several keys in order: a lookup in a large map that is not in cache waits on a
  // chain of dependent misses, and loading the next key's chunk while working on this one hides
  // most of them. Only a hint; changes nothing.
  void Prefetch(uint64_t key) const {
    auto f = std::upper_bound(firsts_.begin(), firsts_.end(), key);
    if (f == firsts_.begin()) return;
    const auto& chunk = chunks_[static_cast<size_t>(f - firsts_.begin()) - 1];
    const char* p = reinterpret_cast<const char*>(chunk.data());
    const char* end = reinterpret_cast<const char*>(chunk.data() + chunk.size());
    for (; p < end; p += 64) __builtin_prefetch(p);
  }

  // Insert (key, value) just before `pos`, which must be where key belongs in the order.
  // Returns the inserted entry.
  iterator insert(iterator pos, uint64_t key, const V& value) {
    if (chunks_.empty()) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunkMax + 1);
      firsts_.push_back(key);
      pos = begin();
    } else if (pos.chunk_ == chunks_.size()) {
      // Past the end: append to the last chunk.
      pos.chunk_ = chunks_.size() - 1;
      pos.entry_ = chunks_.back().size();
    }
    auto& chunk = chunks_[pos.chunk_];
    chunk.insert(chunk.begin() + static_cast<std::ptrdiff_t>(pos.entry_), value_type(key, value));
    if (pos.entry_ == 0) firsts_[pos.chunk_] = key;
    ++size_;
    if (chunk.size() > kChunkMax) {
      // Split in halves: the upper half becomes the next chunk.
      const size_t half = chunk.size() / 2;
      std::vector<value_type> upper;
      upper.reserve(kChunkMax + 1);
      upper.assign(chunk.begin() + static_cast<std::ptrdiff_t>(half), chunk.end());
      chunk.resize(half);
      const uint64_t upper_first = upper.front().first;
      chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(pos.chunk_ + 1),
                     std::move(upper));
      firsts_.insert(firsts_.begin() + static_cast<std::ptrdiff_t>(pos.chunk_ + 1), upper_first);
      if (pos.entry_ >= half) {
        pos.chunk_ += 1;
        pos.entry_ -= half;
      }
    }
    return pos;
  }

  // Remove [first, last); returns the position of what followed the range.
  iterator erase(iterator first, iterator last) {
    if (first == last) return first;
    const size_t c = first.chunk_;
    if (last.chunk_ == c) {
      auto& chunk = chunks_[c];
      chunk.erase(chunk.begin() + static_cast<std::ptrdiff_t>(first.entry_),
                  chunk.begin() + static_cast<std::ptrdiff_t>(last.entry_));
      size_ -= last.entry_ - first.entry_;
      return Settle(c, first.entry_);
    }
    // The head of the last chunk touched, the chunks wholly inside, then the tail of the first.
    if (last.chunk_ < chunks_.size() && last.entry_ > 0) {
      auto& tail_chunk = chunks_[last.chunk_];
      tail_chunk.erase(tail_chunk.begin(),
                       tail_chunk.begin() + static_cast<std::ptrdiff_t>(last.entry_));
      size_ -= last.entry_;
      firsts_[last.chunk_] = tail_chunk.front().first;  // not empty: `last` pointed into it
    }
    for (size_t k = c + 1; k < last.chunk_; ++k) size_ -= chunks_[k].size();
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c + 1),
                  chunks_.begin() + static_cast<std::ptrdiff_t>(last.chunk_));
    firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(c + 1),
                  firsts_.begin() + static_cast<std::ptrdiff_t>(last.chunk_));
    auto& head_chunk = chunks_[c];
    size_ -= head_chunk.size() - first.entry_;
    head_chunk.resize(first.entry_);
    return Settle(c, first.entry_);
  }
  iterator erase(iterator pos) {
    iterator next = pos;
    ++next;
    return erase(pos, next);
  }

 private:
  template <typename It, typename Self>
  static It Find(Self* self, uint64_t key, bool after) {
    const auto& firsts = self->firsts_;
    // The last chunk whose first key is <= key (or < key for lower_bound, so an equal key at a
    // chunk's start is found there rather than at the previous chunk's end).
    auto f = after ? std::upper_bound(firsts.begin(), firsts.end(), key)
                   : std::lower_bound(firsts.begin(), firsts.end(), key);
    if (f == firsts.begin()) return It(self, 0, 0);
    const size_t c = static_cast<size_t>(f - firsts.begin()) - 1;
    const auto& chunk = self->chunks_[c];
    auto e = after ? std::upper_bound(chunk.begin(), chunk.end(), key,
                                      [](uint64_t k, const value_type& v) { return k < v.first; })
                   : std::lower_bound(chunk.begin(), chunk.end(), key,
                                      [](const value_type& v, uint64_t k) { return v.first < k; });
    if (e == chunk.end()) return It(self, c + 1, 0);
    return It(self, c, static_cast<size_t>(e - chunk.begin()));
  }

  // After entries of chunk c were removed from `entry` on (or before it): drop the chunk if it
  // is empty, fold it into its successor if both are small, fix its first key, and return the
  // position of what now follows.
  iterator Settle(size_t c, size_t entry) {
    auto& chunk = chunks_[c];
    if (chunk.empty()) {
      chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c));
      firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(c));
      return iterator(this, c, 0);
    }
    firsts_[c] = chunk.front().first;
    if (c + 1 < chunks_.size() && chunk.size() + chunks_[c + 1].size() <= kChunkMax / 2) {
      auto& next = chunks_[c + 1];
      chunk.insert(chunk.end(), next.begin(), next.end());
      chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c + 1));
      firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(c + 1));
    }
    if (entry >= chunk.size()) return iterator(this, c + 1, 0);
    return iterator(this, c, entry);
  }

  std::vector<std::vector<value_type>> chunks_;  // never empty ones
  std::vector<uint64_t> firsts_;                 // first key of each chunk
  size_t size_ = 0;
};

}  // namespace bp
