// `blockpipe change-password`: give encrypted volumes a new password without rewriting data.
// For each volume it asks the chain's codecs for a key header that opens with the new password
// (bp_codec_plugin.rekey: the same data key, wrapped again) and replaces the volume's `meta`
// object with one atomic put-if-match against the version it read, so a crash leaves either the
// old or the new header (the volume always opens with exactly one of the two passwords), and a
// concurrent change-password from another machine is detected instead of silently lost. On a
// store without conditional put the replace is a re-read, compare and plain put, and only with
// [engine] allow_unfenced, the same policy that lets a daemon write there. The old password comes from the
// config, as for `blockpipe run`; the new one from --new-password-file or standard input.
//
// Volumes are processed one by one in name order. A volume whose header already opens with
// the new password (and not the configured one) is reported and skipped, so a run that was
// interrupted is finished by running the same command again. Unencrypted volumes are skipped.
//
// The command refuses to run while a daemon of this config is running (it takes the data
// dir's lock, which `blockpipe run` holds, and checks the control socket), and skips, as
// failed, any volume whose ownership record says another data dir's daemon has it open for
// writing — on this host or another: a daemon reads the metadata only when it opens a volume,
// and must not keep serving with a header the store no longer has, nor start in the middle of
// the change. The ownership check is the same rule a writable open applies; the record is read
// again after the replace, so a daemon that claimed the volume meanwhile (a take-over, or a
// start on another host) is reported: it runs with the previous key header.
#include <iostream>

#include <blockpipe/bp_backend.h>

#include "cli/cli.h"
#include "cli/offline_store.h"
#include "cli/password_input.h"
#include "engine/object_format.h"
#include "engine/snapshot_format.h"
#include "engine/store_layout.h"
#include "engine/volume_meta.h"
#include "engine/volume_owner.h"
#include "engine/writer_identity.h"

namespace bp::cli {
namespace {

struct Options {
  std::string config;
  std::string volume;
  std::string new_password_file;
};

enum class VolumeResult { kChanged, kAlreadyDone, kNotEncrypted };

// Refused while a daemon of another data dir holds the volume open for writing (its ownership
// record is active). A record of this data dir's own writer is a daemon that crashed: the data
// dir lock, which this command holds, proves it is not running.
Status CheckNotServed(ObjectStore& store, const std::string& name, const Uuid& uuid,
                      const std::string& writer_id, OwnerFinding* seen) {
  OwnerFinding& owner = *seen;
  BP_RETURN_IF_ERROR(ReadOwner(store, name, uuid, &owner)
                         .WithContext("volume " + name + ": reading " + OwnerKey(name)));
  if (DecideOwnership(owner, writer_id, /*take_over=*/false) != OwnerDecision::kRefuse)
    return Status::Ok();
  const std::string who = owner.unreadable.ok()
                              ? DescribeOwner(owner.record)
                              : "an unreadable ownership record: " + owner.unreadable.message();
  return Status::Precondition("volume " + name + " is open for writing by another daemon (" + who +
                              "); stop that daemon first — its clean shutdown releases the volume");
}

// After the replace: a daemon that claimed the volume while the key header was prepared opened
// it with the previous header. Its data stays readable (the data key is unchanged), but it must
// be restarted with the new password; say so instead of reporting a clean change.
Status CheckNoClaimMeanwhile(ObjectStore& store, const std::string& name, const Uuid& uuid,
                             const std::string& writer_id, const OwnerFinding& before) {
  OwnerFinding after;
  BP_RETURN_IF_ERROR(ReadOwner(store, name, uuid, &after)
                         .WithContext("volume " + name + ": reading " + OwnerKey(name)));
  const bool same = after.present == before.present && after.tag == before.tag &&
                    after.record.claim_id == before.record.claim_id;
  if (same || DecideOwnership(after, writer_id, /*take_over=*/false) != OwnerDecision::kRefuse) {
    return Status::Ok();
  }
  return Status::Precondition("volume " + name +
                              ": the password was changed, but another daemon claimed the volume "
                              "meanwhile (" +
                              DescribeOwner(after.record) +
                              ") and opened it with the previous key header; "
                              "restart that daemon with the new password");
}

// Replace the metadata object `key` (read as `before`, version `tag`) with `object`.
Status ReplaceMeta(ObjectStore& store, bool allow_unfenced, const std::string& name,
                   const std::string& key, const Bytes& before, const std::string& tag,
                   const Bytes& object) {
  const std::string changed = "volume " + name + ": " + key +
                              " changed while the new key header was prepared (another "
                              "change-password or volume tool ran at the same time); nothing "
                              "was written, run the command again";
  if ((store.Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT) != 0) {
    std::string new_tag;
    Status put = store.PutIfMatch(key, object.data(), object.size(), tag, &new_tag);
    if (put.IsPrecondition()) return Status::Precondition(changed);
    return put.WithContext("volume " + name + ": writing " + key);
  }
  if (!allow_unfenced) {
    return Status::Unsupported("volume " + name + ": backend " + store.Describe() +
                               " has no conditional put (put-if-match), so a concurrent change "
                               "could be lost; set engine.allow_unfenced = true to replace the "
                               "metadata anyway when nothing else uses the store");
  }
  // Without compare-and-swap: narrow the window as far as a plain store allows.
  Bytes again;
  BP_RETURN_IF_ERROR(store.Get(key, &again).WithContext("volume " + name + ": re-reading " + key));
  if (again != before) return Status::Precondition(changed);
  return store.Put(key, object.data(), object.size(), /*if_absent=*/false)
      .WithContext("volume " + name + ": writing " + key);
}

// Rekey one volume and replace its metadata object.
Status ChangeOne(OfflineStore& offline, const std::string& writer_id, const std::string& name,
                 const std::string& new_password, VolumeResult* result) {
  ObjectStore& store = *offline.store;
  const std::string key = MetaKey(name);
  const bool conditional = (store.Capabilities() & BP_BACKEND_CAP_CONDITIONAL_PUT) != 0;
  Bytes before;
  std::string tag;
  Status st = conditional ? store.GetTagged(key, &before, &tag) : store.Get(key, &before);
  if (st.IsNotFound()) return Status::NotFound("volume " + name + " does not exist");
  BP_RETURN_IF_ERROR(st.WithContext("volume " + name + ": reading " + key));
  VolumeMeta meta;
  BP_RETURN_IF_ERROR(DecodeVolumeMetaObject(before.data(), before.size(), &meta)
                         .WithContext("volume " + name + ": " + key));
  if (meta.name != name)
    return Status::Corrupt("volume " + name + ": " + key + " names volume " + meta.name);
  OwnerFinding owner;
  BP_RETURN_IF_ERROR(CheckNotServed(store, name, meta.uuid, writer_id, &owner));

  std::vector<CodecRecord> rekeyed;
  RekeyOutcome outcome = RekeyOutcome::kNoSecret;
  BP_RETURN_IF_ERROR(offline.codecs->RekeyChain(meta.uuid.data(), name, meta.codecs, new_password,
                                                &rekeyed, &outcome));
  // A clone records its bases' chains too (their headers wrap the bases' keys, bound to the
  // bases' uuids, under the same password): they are rewrapped with its own.
  std::vector<CloneBase> bases;
  BP_RETURN_IF_ERROR(
      DecodeCloneBases(meta.extensions, &bases).WithContext("volume " + name + ": " + key));
  bool bases_rekeyed = false;
  for (CloneBase& base : bases) {
    std::vector<CodecRecord> base_rekeyed;
    RekeyOutcome base_outcome = RekeyOutcome::kNoSecret;
    BP_RETURN_IF_ERROR(offline.codecs
                           ->RekeyChain(base.uuid.data(), base.volume, base.codecs, new_password,
                                        &base_rekeyed, &base_outcome)
                           .WithContext("volume " + name + ": clone base " + base.volume));
    if (base_outcome != RekeyOutcome::kRekeyed) continue;
    base.codecs = std::move(base_rekeyed);
    bases_rekeyed = true;
  }
  if (outcome == RekeyOutcome::kNoSecret && !bases_rekeyed) {
    *result = VolumeResult::kNotEncrypted;
    return Status::Ok();
  }
  if (outcome == RekeyOutcome::kAlreadyDone && !bases_rekeyed) {
    *result = VolumeResult::kAlreadyDone;
    return Status::Ok();
  }
  VolumeMeta updated = meta;
  if (outcome == RekeyOutcome::kRekeyed) updated.codecs = std::move(rekeyed);
  if (bases_rekeyed) {
    for (Extension& e : updated.extensions) {
      if (e.tag == kMetaExtCloneBases) e = EncodeCloneBases(bases);
    }
  }
  const Bytes object = EncodeVolumeMetaObject(updated);
  // The Argon2id work above takes a while; the data dir lock keeps this config's daemon out,
  // not every other tool or host, so the replace is conditional on the version read.
  BP_RETURN_IF_ERROR(
      ReplaceMeta(store, offline.config.engine.allow_unfenced, name, key, before, tag, object));
  Bytes written;
  BP_RETURN_IF_ERROR(
      store.Get(key, &written).WithContext("volume " + name + ": reading back " + key));
  if (written != object) {
    return Status::Permanent("volume " + name + ": " + key + " does not read back as written");
  }
  *result = VolumeResult::kChanged;
  return CheckNoClaimMeanwhile(store, name, meta.uuid, writer_id, owner);
}

int Run(const Options& options) {
  const auto config_file = ResolveConfigPath(options.config);
  OfflineStore offline;
  if (Status st = LoadOfflineConfig(config_file, &offline); !st.ok()) return ReportError(st);

  DataDirLockGuard lock;
  if (Status st = lock.TryAcquire(offline.config.host.data_dir); !st.ok()) {
    return ReportError(st.WithContext("not changing the password"));
  }
  if (ControlSocketAnswers(offline.config.host.control_socket)) {
    return ReportError(
        Status::Precondition("not changing the password: a blockpipe daemon answers on " +
                             offline.config.host.control_socket.string() + "; stop it first"));
  }

  // This data dir's identity as a writer, to recognise ownership records it left itself.
  std::string writer_id;
  if (Status st = LoadOrCreateWriterId(offline.config.host.data_dir, &writer_id); !st.ok()) {
    return ReportError(st);
  }

  SecretText new_password;
  Status st = options.new_password_file.empty()
                  ? ReadPasswordFromStdin(&new_password)
                  : ReadPasswordFile(options.new_password_file, &new_password);
  if (!st.ok()) return ReportError(st);

  if (Status open = OpenOfflinePlugins(&offline); !open.ok()) return ReportError(open);

  std::vector<std::string> names;
  if (options.volume.empty()) {
    if (Status listed = ListVolumeNames(*offline.store, &names); !listed.ok())
      return ReportError(listed);
  } else {
    names.push_back(options.volume);
  }

  size_t changed = 0, already = 0, plain = 0, failed = 0;
  for (const auto& name : names) {
    VolumeResult result = VolumeResult::kChanged;
    Status one = ChangeOne(offline, writer_id, name, new_password.value(), &result);
    if (!one.ok()) {
      ++failed;
      std::cerr << "blockpipe: " << one.message() << "\n";
      continue;
    }
    switch (result) {
      case VolumeResult::kChanged:
        ++changed;
        std::cout << "volume " << name << ": password changed" << std::endl;
        break;
      case VolumeResult::kAlreadyDone:
        ++already;
        std::cout << "volume " << name << ": already uses the new password, skipped" << std::endl;
        break;
      case VolumeResult::kNotEncrypted:
        if (!options.volume.empty()) {
          ++failed;
          std::cerr << "blockpipe: volume " << name
                    << " is not encrypted; it has no password to change\n";
        } else {
          ++plain;
          std::cout << "volume " << name << ": not encrypted, skipped" << std::endl;
        }
        break;
    }
  }
  std::cout << changed << " changed, " << already << " already on the new password, " << plain
            << " not encrypted, " << failed << " failed" << std::endl;
  if (failed > 0) {
    std::cerr << "blockpipe: some volumes were not changed; fix the cause and run the same command "
                 "again (volumes already changed are skipped)\n";
    return 1;
  }
  if (names.empty()) {
    std::cout << "no volumes in " << offline.store->Describe() << std::endl;
  } else if (changed + already > 0) {
    std::cout << "from now on, give blockpipe the new password (the variable or password_file "
                 "the encrypt codec's config names)"
              << std::endl;
  }
  return 0;
}

}  // namespace

void RegisterChangePassword(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("change-password",
                         "Give encrypted volumes a new password (rewraps each volume's data key; "
                         "no data is rewritten). "
                         "The current password comes from the config; the daemon must be stopped");
  auto options = std::make_shared<Options>();
  cmd->add_option("-c,--config", options->config,
                  "Config file (default $BLOCKPIPE_CONFIG or ./blockpipe-data/blockpipe.toml)");
  cmd->add_option("--volume", options->volume, "Change only this volume (default: every volume)");
  cmd->add_option("--new-password-file", options->new_password_file,
                  "Read the new password from this file (one trailing newline is ignored); "
                  "default: standard input, prompted twice without echo on a terminal");
  cmd->callback([options, exit_code] { *exit_code = Run(*options); });
}

}  // namespace bp::cli
