// Reference model and checker (see model.h).
#include "model.h"

#include <algorithm>

namespace bp::sim {
namespace {

// A reason quoted inside another, cut so chains of reasons stay readable.
std::string Short(const std::string& why) {
  return why.size() <= 300 ? why : why.substr(0, 300) + "...";
}

}  // namespace

Model::Model(uint64_t sectors) : base_(sectors, 0), history_(sectors) {}

uint32_t Model::Submit(uint64_t id, uint64_t first, uint64_t count, bool zero, uint64_t event) {
  const uint32_t index = static_cast<uint32_t>(writes_.size());
  Write w{id, first, count, zero, State::kInFlight, false, "", event, UINT64_MAX, {}};
  w.pos.reserve(count);
  for (uint64_t s = first; s < first + count; ++s) {
    w.pos.push_back(static_cast<uint32_t>(history_[s].size()));
    history_[s].push_back(index);
  }
  writes_.push_back(std::move(w));
  if (origins_.size() < id) origins_.resize(id);
  origins_[id - 1] = Origin{first, count, zero, epoch_};
  return index;
}

void Model::Completed(uint32_t index, bool ok, bool fua, uint64_t event) {
  Write& w = writes_[index];
  w.state = ok ? State::kOk : State::kFailed;
  w.complete_ev = event;
  if (ok && fua) {
    w.durable = true;
    w.durable_why = "it completed with FUA";
  }
}

void Model::Flushed(uint64_t submitted, uint64_t flush_id) {
  DurableBefore(submitted, "FLUSH #" + std::to_string(flush_id) + " succeeded after it completed");
}

void Model::DurableBefore(uint64_t before, const std::string& why) {
  for (Write& w : writes_) {
    if (w.durable || w.state != State::kOk || w.complete_ev >= before) continue;
    w.durable = true;
    w.durable_why = why;
  }
}

void Model::Rebase(const std::vector<uint64_t>& values) {
  base_ = values;
  for (auto& h : history_) h.clear();
  writes_.clear();
  ++epoch_;
}

void Model::Current(std::vector<uint64_t>* first,
                    std::vector<std::pair<uint64_t, std::vector<uint64_t>>>* more) const {
  auto value = [&](uint64_t s, size_t p) {
    const Write& w = writes_[history_[s][p]];
    return w.zero ? uint64_t{0} : w.id;
  };
  first->assign(base_.size(), 0);
  more->clear();
  for (uint64_t s = 0; s < base_.size(); ++s) {
    const auto& h = history_[s];
    size_t from = h.size();  // the newest write that completed OK; h.size(): none, the base
    for (size_t p = h.size(); p-- > 0;) {
      if (writes_[h[p]].state == State::kOk) {
        from = p;
        break;
      }
    }
    (*first)[s] = from == h.size() ? base_[s] : value(s, from);
    std::vector<uint64_t> later;
    for (size_t p = from == h.size() ? 0 : from + 1; p < h.size(); ++p) {
      const uint64_t v = value(s, p);
      if (v != (*first)[s] && std::find(later.begin(), later.end(), v) == later.end()) {
        later.push_back(v);
      }
    }
    if (!later.empty()) more->emplace_back(s, std::move(later));
  }
}

std::vector<int32_t> Model::ReadFloor(uint64_t first, uint64_t count) const {
  std::vector<int32_t> floor(count, -1);
  for (uint64_t i = 0; i < count; ++i) {
    const auto& h = history_[first + i];
    for (size_t p = h.size(); p-- > 0;) {
      if (writes_[h[p]].state == State::kOk) {
        floor[i] = static_cast<int32_t>(p);
        break;
      }
    }
  }
  return floor;
}

bool Model::Matches(uint64_t sector, int32_t pos, const SectorValue& v) const {
  if (pos < 0) return v.kind == SectorValue::kZero ? base_[sector] == 0 : base_[sector] == v.id;
  const Write& w = writes_[history_[sector][static_cast<size_t>(pos)]];
  return w.zero ? v.kind == SectorValue::kZero : v.kind == SectorValue::kData && v.id == w.id;
}

void Model::Candidates(uint64_t sector, const SectorValue& v, std::vector<int32_t>* out) const {
  out->clear();
  const int32_t n = static_cast<int32_t>(history_[sector].size());
  for (int32_t p = -1; p < n; ++p) {
    if (Matches(sector, p, v)) out->push_back(p);
  }
}

std::string Model::Describe(uint32_t index) const {
  const Write& w = writes_[index];
  std::string s = std::string(w.zero ? "zeroing" : "write") + " #" + std::to_string(w.id) +
                  " (sectors " + std::to_string(w.first) + ".." +
                  std::to_string(w.first + w.count - 1) + ", submitted at event " +
                  std::to_string(w.submit_ev);
  switch (w.state) {
    case State::kInFlight: s += ", in flight"; break;
    case State::kOk: s += ", completed OK at event " + std::to_string(w.complete_ev); break;
    case State::kFailed: s += ", failed at event " + std::to_string(w.complete_ev); break;
  }
  if (w.durable) s += ", durable: " + w.durable_why;
  return s + ")";
}

std::string Model::DescribeValue(const SectorValue& v) const {
  switch (v.kind) {
    case SectorValue::kZero: return "zeros";
    case SectorValue::kData: {
      std::string s = "data of write #" + std::to_string(v.id);
      if (v.id <= origins_.size() && origins_[v.id - 1].epoch != epoch_) {
        s += " (from before the last verified recovery, epoch " +
             std::to_string(origins_[v.id - 1].epoch) + ")";
      }
      return s;
    }
    case SectorValue::kGarbage: break;
  }
  return "bytes no write produced (they claim write #" + std::to_string(v.id) + " sector " +
         std::to_string(v.claimed_sector) + ")";
}

std::string Model::CheckRead(uint64_t first, uint64_t count, const std::vector<int32_t>& floor,
                             const uint8_t* data, uint64_t read_id) const {
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t s = first + i;
    const SectorValue v = DecodeSector(data + i * kSector, s);
    const std::string where = "read #" + std::to_string(read_id) + " sector " + std::to_string(s);
    if (v.kind == SectorValue::kGarbage) return where + " returned " + DescribeValue(v);
    const int32_t n = static_cast<int32_t>(history_[s].size());
    bool ok = false;
    for (int32_t p = floor[i]; p < n && !ok; ++p) ok = Matches(s, p, v);
    if (ok) continue;
    std::string msg = where + " returned " + DescribeValue(v) + "; the newest write to it that " +
                      "completed before the read was submitted is ";
    msg += floor[i] < 0 ? std::string("the base (") +
                              (base_[s] ? "write #" + std::to_string(base_[s]) : "zeros") + ")"
                        : Describe(history_[s][static_cast<size_t>(floor[i])]);
    return msg;
  }
  return "";
}

std::string Model::CheckRecovery(const std::vector<uint8_t>& image) {
  const uint64_t n = base_.size();
  std::vector<SectorValue> vals(n);
  std::vector<std::vector<int32_t>> cand(n);
  std::vector<int32_t> lo(n), hi(n);
  for (uint64_t s = 0; s < n; ++s) {
    vals[s] = DecodeSector(image.data() + s * kSector, s);
    if (vals[s].kind == SectorValue::kGarbage) {
      return "after recovery, sector " + std::to_string(s) + " holds " + DescribeValue(vals[s]);
    }
    Candidates(s, vals[s], &cand[s]);
    if (cand[s].empty()) {
      return "after recovery, sector " + std::to_string(s) + " shows " + DescribeValue(vals[s]) +
             ", which is neither its verified base (" +
             (base_[s] ? "write #" + std::to_string(base_[s]) : std::string("zeros")) +
             ") nor any write to it since";
    }
    lo[s] = cand[s].front();
    hi[s] = cand[s].back();
  }
  auto shown = [&](uint64_t s) {
    return "sector " + std::to_string(s) + " shows " + DescribeValue(vals[s]);
  };

  // 1. Durability first, for the clearest message.
  for (uint32_t w = 0; w < writes_.size(); ++w) {
    const Write& x = writes_[w];
    if (!x.durable) continue;
    for (uint64_t i = 0; i < x.count; ++i) {
      const uint64_t s = x.first + i;
      if (hi[s] < static_cast<int32_t>(x.pos[i])) {
        return "LOST DURABLE WRITE after recovery: " + Describe(w) + " is missing: " + shown(s);
      }
    }
  }

  // 2. A cut: each write wholly in or out, closed under happens-before (a write that completed
  //    OK before another was submitted precedes it), each sector showing its newest write in
  //    the cut. Bounds on each sector's shown position are narrowed until nothing changes.
  std::vector<int8_t> st(writes_.size(), 0);  // +1 in, -1 out
  std::vector<std::string> why(writes_.size());
  std::string error;
  auto mark = [&](uint32_t w, int8_t to, const std::string& reason) {
    if (!error.empty() || st[w] == to) return false;
    if (st[w] == -to) {
      const bool in_now = to > 0;
      error = "after recovery the volume is not a prefix of the write history: " + Describe(w) +
              " would have to be " + (in_now ? "visible" : "absent") + " because " + reason +
              ", but " + (in_now ? "absent" : "visible") + " because " + why[w];
      return false;
    }
    st[w] = to;
    why[w] = reason;
    return true;
  };
  for (uint32_t w = 0; w < writes_.size(); ++w) {
    if (writes_[w].durable) mark(w, +1, "it is durable (" + writes_[w].durable_why + ")");
  }
  auto snap_up = [&](uint64_t s, int32_t v) {
    for (int32_t c : cand[s])
      if (c >= v) return c;
    return INT32_MAX;
  };
  auto snap_down = [&](uint64_t s, int32_t v) {
    for (size_t i = cand[s].size(); i-- > 0;)
      if (cand[s][i] <= v) return cand[s][i];
    return INT32_MIN;
  };
  for (bool changed = true; changed && error.empty();) {
    changed = false;
    for (uint32_t w = 0; w < writes_.size() && error.empty(); ++w) {
      const Write& x = writes_[w];
      for (uint64_t i = 0; i < x.count && error.empty(); ++i) {
        const uint64_t s = x.first + i;
        const int32_t p = static_cast<int32_t>(x.pos[i]);
        if (hi[s] < p) {
          changed |= mark(w, -1, shown(s) + ", an older state");
        } else if (lo[s] > p && x.state == State::kOk) {
          changed |= mark(w, +1, shown(s) + ", a newer write to that sector");
        } else if (lo[s] == p && hi[s] == p) {
          changed |= mark(w, +1, shown(s));
        }
      }
      if (!error.empty()) break;
      if (st[w] > 0) {
        for (uint64_t i = 0; i < x.count; ++i) {
          const uint64_t s = x.first + i;
          const int32_t p = static_cast<int32_t>(x.pos[i]);
          if (lo[s] < p) {
            lo[s] = snap_up(s, p);
            changed = true;
            if (lo[s] > hi[s]) {
              error =
                  "after recovery the volume is not a prefix of the write history: " + Describe(w) +
                  " is visible (because " + why[w] + ") but " + shown(s) + ", older than it";
              break;
            }
          }
        }
        for (uint32_t y = 0; y < writes_.size() && error.empty(); ++y) {
          if (st[y] != +1 && writes_[y].state == State::kOk &&
              writes_[y].complete_ev < x.submit_ev) {
            changed |= mark(y, +1,
                            "it completed before " + Describe(w) +
                                " was submitted, which is visible because " + Short(why[w]));
          }
        }
      } else if (st[w] < 0 && x.state != State::kFailed) {
        // An absent write hides every later write to its sectors only when those are ordered
        // after it: always for one that completed OK (and one still in flight is the last).
        // A failed write may simply never have been applied while later ones were.
        for (uint64_t i = 0; i < x.count; ++i) {
          const uint64_t s = x.first + i;
          const int32_t p = static_cast<int32_t>(x.pos[i]);
          if (hi[s] >= p) {
            hi[s] = snap_down(s, p - 1);
            changed = true;
            if (lo[s] > hi[s]) {
              error =
                  "after recovery the volume is not a prefix of the write history: " + Describe(w) +
                  " is absent (because " + why[w] + ") but " + shown(s) + ", which needs it";
              break;
            }
          }
        }
        if (x.state == State::kOk) {
          for (uint32_t z = 0; z < writes_.size() && error.empty(); ++z) {
            if (st[z] != -1 && writes_[z].submit_ev > x.complete_ev) {
              changed |= mark(z, -1,
                              "it was submitted after " + Describe(w) +
                                  " completed, which is absent because " + Short(why[w]));
            }
          }
        }
      }
    }
  }
  if (!error.empty()) return error;

  // Verified: what was read back is the new base.
  for (uint64_t s = 0; s < n; ++s) {
    base_[s] = vals[s].kind == SectorValue::kData ? vals[s].id : 0;
    history_[s].clear();
  }
  writes_.clear();
  ++epoch_;
  return "";
}

}  // namespace bp::sim
