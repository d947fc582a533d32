// VolumeLayers implementation (see volume_layers.h).
#include "engine/volume_layers.h"

#include "engine/checkpoint_format.h"
#include "engine/segment_format.h"

namespace bp {

VolumeLayers::VolumeLayers(std::string name, const Uuid& uuid, const CodecChain* own_chain,
                           std::vector<Base> bases)
    : name_(std::move(name)), uuid_(uuid), own_chain_(own_chain), bases_(std::move(bases)) {}

Status VolumeLayers::OpenBases(CodecFactory& codecs, const std::vector<Extension>& meta_extensions,
                               std::vector<Base>* out) {
  std::vector<CloneBase> bases;
  BP_RETURN_IF_ERROR(DecodeCloneBases(meta_extensions, &bases));
  out->clear();
  for (CloneBase& b : bases) {
    Base layer;
    BP_RETURN_IF_ERROR(codecs.OpenChain(b.uuid.data(), b.volume, b.codecs, &layer.chain)
                           .WithContext("clone base " + b.volume + "@" + b.snapshot));
    layer.base = std::move(b);
    out->push_back(std::move(layer));
  }
  return Status::Ok();
}

SegmentSource VolumeLayers::For(uint64_t seq) const {
  for (const Base& b : bases_) {
    if (seq <= b.base.through_seq) return {&b.base.volume, &b.base.uuid, b.chain.get()};
  }
  return {&name_, &uuid_, own_chain_};
}

Status VolumeLayers::LoadStateAt(ObjectStore& store, uint64_t volume_blocks,
                                 uint64_t checkpoint_seq, uint64_t through_seq,
                                 VolumeState* out) const {
  return LoadLayerAt(store, bases_.size(), volume_blocks, checkpoint_seq, through_seq, out);
}

Status VolumeLayers::LoadBaseState(ObjectStore& store, uint64_t volume_blocks,
                                   VolumeState* out) const {
  if (bases_.empty()) {
    *out = VolumeState{};
    return Status::Ok();
  }
  const CloneBase& last = bases_.back().base;
  return LoadLayerAt(store, bases_.size() - 1, volume_blocks, last.checkpoint_seq, last.through_seq,
                     out);
}

Status VolumeLayers::LoadLayerAt(ObjectStore& store, size_t layer, uint64_t volume_blocks,
                                 uint64_t checkpoint_seq, uint64_t through_seq,
                                 VolumeState* out) const {
  const std::string& name = layer == bases_.size() ? name_ : bases_[layer].base.volume;
  const Uuid& uuid = layer == bases_.size() ? uuid_ : bases_[layer].base.uuid;
  const CodecChain& chain = layer == bases_.size() ? *own_chain_ : *bases_[layer].chain;
  const uint64_t layer_start = layer == 0 ? 0 : bases_[layer - 1].base.through_seq;
  VolumeState state;
  uint64_t from = checkpoint_seq;
  if (checkpoint_seq > layer_start) {
    BP_RETURN_IF_ERROR(
        ReadCheckpoint(store, CheckpointKey(name, checkpoint_seq), checkpoint_seq, uuid, chain,
                       volume_blocks, &state)
            .WithContext("volume " + name + ": checkpoint " + std::to_string(checkpoint_seq)));
  } else if (layer > 0) {
    const CloneBase& below = bases_[layer - 1].base;
    BP_RETURN_IF_ERROR(LoadLayerAt(store, layer - 1, volume_blocks, below.checkpoint_seq,
                                   below.through_seq, &state));
    from = below.through_seq;
  }
  for (uint64_t seq = from + 1; seq <= through_seq; ++seq) {
    SegmentMeta meta;
    uint64_t object_size = 0;
    Status s = ReadSegmentMeta(store, SegmentKey(name, seq), seq, uuid, chain, volume_blocks,
                               /*listed_size=*/0, &meta, &object_size);
    if (s.IsNotFound()) {
      s = Status::Corrupt("segment " + SegmentKey(name, seq) + " is missing");
    }
    BP_RETURN_IF_ERROR(s);
    if (meta.restore) {
      // A restore marker: the map became the volume's earlier state (a restored snapshot).
      BP_RETURN_IF_ERROR(LoadLayerAt(store, layer, volume_blocks, meta.restore_checkpoint,
                                     meta.restore_through, &state));
    }
    state.ApplySegment(meta, object_size);
  }
  state.through_seq = through_seq;
  *out = std::move(state);
  return Status::Ok();
}

}  // namespace bp
