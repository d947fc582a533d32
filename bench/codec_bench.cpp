// codec-bench: what a codec chain costs and saves on real data, for choosing codec settings and
// checking codec changes. It loads the built codec plugins through the plugin tests' fake host
// (the ABI surface only, like the daemon), cuts each corpus file into units of one size, and
// encodes every unit through the chain in order, then decodes it back and compares. Reports per
// file: stored bytes over input bytes, how many units the first codec stored raw, and the best
// encode time per KiB over --repeat passes, as CPU time of the encoding thread (so a machine
// busy with other work slows the figure much less than it would a wall-clock time). Under `valgrind --tool=callgrind` (--repeat 1) the
// instruction counts of the codec functions compare two builds without the machine's load.
//
//   codec-bench [--unit BYTES] [--repeat N] --codec zstd:level=3 [--codec encrypt:password=x,...]
//               FILE...
#include <blockpipe/bp_codec.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_host.h"

namespace {

using plugintest::Buffer;
using plugintest::FakeConfig;
using plugintest::LoadedPlugin;

struct ChainStage {
  std::unique_ptr<LoadedPlugin> plugin;
  FakeConfig config;
  void* handle = nullptr;
};

// "name:key=value,key=value" → the plugin file and its config.
void ParseStage(const std::string& spec, ChainStage* stage) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  stage->plugin = std::make_unique<LoadedPlugin>("blockpipe-codec-" + name + ".so");
  if (stage->plugin->header() == nullptr) throw std::runtime_error("cannot load codec " + name);
  if (colon == std::string::npos) return;
  std::string rest = spec.substr(colon + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string pair = rest.substr(0, comma);
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) throw std::runtime_error("expected key=value in " + spec);
    stage->config.values[pair.substr(0, eq)] = pair.substr(eq + 1);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct FileResult {
  size_t units = 0;
  size_t raw_units = 0;  // units the first codec stored with method byte 0
  uint64_t input_bytes = 0;
  uint64_t stored_bytes = 0;
};

double ThreadSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// One pass over the file: encode every unit through the chain; on the first pass also decode
// and compare, so a broken build cannot report a good number. Returns the seconds it took.
double Pass(std::vector<ChainStage>& chain, const std::vector<uint8_t>& data, size_t unit_size,
            bool verify, FileResult* result) {
  uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::vector<Buffer> stages(chain.size());
  Buffer back, forth;
  FileResult counts;
  const double start = ThreadSeconds();
  for (size_t at = 0, index = 0; at < data.size(); at += unit_size, ++index) {
    const size_t n = std::min(unit_size, data.size() - at);
    bp_unit_ctx unit{sizeof(bp_unit_ctx), BP_UNIT_DATA, uuid, 7, index, n};
    const uint8_t* in = data.data() + at;
    size_t in_len = n;
    for (size_t s = 0; s < chain.size(); ++s) {
      stages[s].size = 0;
      if (chain[s].plugin->codec()->encode(chain[s].handle, &unit, in, in_len, stages[s].get()) !=
          BP_OK) {
        throw std::runtime_error("encode failed: " + plugintest::TakeError());
      }
      if (s == 0 && stages[0].size > 1 && stages[0].storage[1] == 0) ++counts.raw_units;
      in = stages[s].storage.data();
      in_len = stages[s].size;
    }
    ++counts.units;
    counts.input_bytes += n;
    counts.stored_bytes += in_len;
    if (!verify) continue;
    std::vector<uint8_t> current(in, in + in_len);
    for (size_t s = chain.size(); s-- > 0;) {
      back.size = 0;
      if (chain[s].plugin->codec()->decode(chain[s].handle, &unit, current.data(), current.size(),
                                           back.get()) != BP_OK) {
        throw std::runtime_error("decode failed: " + plugintest::TakeError());
      }
      current = back.bytes();
    }
    if (current.size() != n || std::memcmp(current.data(), data.data() + at, n) != 0) {
      throw std::runtime_error("unit " + std::to_string(index) + " did not round-trip");
    }
  }
  *result = counts;
  return ThreadSeconds() - start;
}

int Run(int argc, char** argv) {
  size_t unit_size = 65536;
  int repeat = 3;
  std::vector<ChainStage> chain;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--unit") {
      unit_size = std::stoul(value());
    } else if (arg == "--repeat") {
      repeat = std::max(1, std::stoi(value()));
    } else if (arg == "--codec") {
      chain.emplace_back();
      ParseStage(value(), &chain.back());
    } else {
      files.push_back(arg);
    }
  }
  if (chain.empty() || files.empty() || unit_size == 0) {
    std::fprintf(
        stderr,
        "usage: codec-bench [--unit BYTES] [--repeat N] --codec NAME[:k=v,...]... FILE...\n");
    return 2;
  }
  uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  bp_codec_volume volume{sizeof(bp_codec_volume), 0, uuid, "bench"};
  for (ChainStage& stage : chain) {
    Buffer header;
    if (stage.plugin->codec()->open(stage.config.get(), &volume, nullptr, 0, header.get(),
                                    &stage.handle) != BP_OK) {
      throw std::runtime_error("open failed: " + plugintest::TakeError());
    }
  }
  std::printf("%-28s %8s %8s %9s %12s\n", "file", "units", "raw", "stored", "CPU ns/KiB");
  for (const std::string& file : files) {
    const std::vector<uint8_t> data = ReadFile(file);
    FileResult result;
    Pass(chain, data, unit_size, true, &result);
    double best = 1e30;
    for (int r = 0; r < repeat; ++r)
      best = std::min(best, Pass(chain, data, unit_size, false, &result));
    const std::string name = file.substr(file.rfind('/') + 1);
    std::printf(
        "%-28s %8zu %8zu %8.1f%% %12.0f\n", name.c_str(), result.units, result.raw_units,
        100.0 * static_cast<double>(result.stored_bytes) / static_cast<double>(result.input_bytes),
        best * 1e9 / (static_cast<double>(result.input_bytes) / 1024.0));
  }
  for (ChainStage& stage : chain) stage.plugin->codec()->close(stage.handle);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "codec-bench: %s\n", e.what());
    return 1;
  }
}
