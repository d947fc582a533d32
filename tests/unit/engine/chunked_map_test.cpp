// ChunkedMap against std::map: the same random inserts and range erases (enough entries for
// chunks to split, merge and empty), compared after every step through iteration in both
// directions and through lower_bound/upper_bound at every key around the entries.
#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>
#include <string>

#include "engine/chunked_map.h"

namespace bp {
namespace {

void ExpectSame(const ChunkedMap<uint64_t>& m, const std::map<uint64_t, uint64_t>& model) {
  ASSERT_EQ(m.size(), model.size());
  ASSERT_EQ(m.empty(), model.empty());
  auto it = m.begin();
  for (const auto& [key, value] : model) {
    ASSERT_NE(it, m.end());
    ASSERT_EQ(it->first, key);
    ASSERT_EQ(it->second, value);
    ++it;
  }
  ASSERT_EQ(it, m.end());
  // Backwards from the end reaches the first entry.
  size_t steps = 0;
  for (auto back = m.end(); back != m.begin(); --back) ++steps;
  ASSERT_EQ(steps, model.size());
}

// The position `got` names the same entry as `want` does in the model (or both are the end).
void ExpectSameEntry(const ChunkedMap<uint64_t>& m, ChunkedMap<uint64_t>::const_iterator got,
                     const std::map<uint64_t, uint64_t>& model,
                     std::map<uint64_t, uint64_t>::const_iterator want, const std::string& what) {
  if (want == model.end()) {
    ASSERT_EQ(got, m.end()) << what;
  } else {
    ASSERT_NE(got, m.end()) << what;
    ASSERT_EQ(got->first, want->first) << what;
  }
}

void ExpectBounds(const ChunkedMap<uint64_t>& m, const std::map<uint64_t, uint64_t>& model,
                  uint64_t key) {
  ExpectSameEntry(m, m.lower_bound(key), model, model.lower_bound(key),
                  "lower_bound " + std::to_string(key));
  ExpectSameEntry(m, m.upper_bound(key), model, model.upper_bound(key),
                  "upper_bound " + std::to_string(key));
}

TEST(ChunkedMap, RandomInsertsAndErasesMatchStdMap) {
  std::mt19937_64 rng(7);
  ChunkedMap<uint64_t> m;
  std::map<uint64_t, uint64_t> model;
  constexpr uint64_t kKeys = 4000;  // about 30 full chunks when dense
  m.Prefetch(1);                    // a hint, also on an empty map and for keys outside the entries
  for (int op = 0; op < 20000; ++op) {
    const uint64_t key = rng() % kKeys;
    m.Prefetch(key);
    m.Prefetch(kKeys + key);
    if (rng() % 3 != 0) {
      if (model.count(key)) continue;
      const uint64_t value = rng();
      auto at = m.insert(m.lower_bound(key), key, value);
      ASSERT_EQ(at->first, key);
      ASSERT_EQ(at->second, value);
      model.emplace(key, value);
    } else {
      const uint64_t end = key + rng() % (op % 50 == 0 ? kKeys : 64);  // now and then a long range
      auto next = m.erase(m.lower_bound(key), m.lower_bound(end));
      model.erase(model.lower_bound(key), model.lower_bound(end));
      ExpectSameEntry(m, next, model, model.lower_bound(end),
                      "erase returns what followed the range");
    }
    if (op % 500 == 0) {
      ExpectSame(m, model);
      for (uint64_t k = 0; k <= kKeys; k += 7) ExpectBounds(m, model, k);
    }
  }
  ExpectSame(m, model);
  for (uint64_t k = 0; k <= kKeys; ++k) ExpectBounds(m, model, k);
  // Single-entry erase, value updates through the iterator, and clear.
  while (!model.empty()) {
    auto victim = model.begin();
    std::advance(victim, static_cast<long>(rng() % model.size()));
    auto it = m.lower_bound(victim->first);
    it->second += 1;
    ASSERT_EQ(m.lower_bound(victim->first)->second, victim->second + 1);
    m.erase(it);
    model.erase(victim);
    if (model.size() % 97 == 0) ExpectSame(m, model);
  }
  ExpectSame(m, model);
  m.insert(m.end(), 5, 6);
  m.Prefetch(0);
  m.Prefetch(5);
  EXPECT_EQ(m.size(), 1u);
  m.clear();
  m.Prefetch(5);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.begin(), m.end());
}

TEST(ChunkedMap, AscendingAndDescendingFills) {
  for (bool ascending : {true, false}) {
    ChunkedMap<uint64_t> m;
    std::map<uint64_t, uint64_t> model;
    for (uint64_t i = 0; i < 1000; ++i) {
      const uint64_t key = ascending ? i * 3 : (1000 - i) * 3;
      m.insert(m.lower_bound(key), key, i);
      model.emplace(key, i);
    }
    ExpectSame(m, model);
    for (uint64_t k = 0; k < 3010; ++k) ExpectBounds(m, model, k);
  }
}

}  // namespace
}  // namespace bp
