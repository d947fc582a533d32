#!/bin/sh
# Same seed, same trace, byte for byte, across processes: run a few seeds twice with full
# traces and compare the files (a difference means something outside the seed — time,
# addresses, the environment — steers the engine or the simulator).
set -eu
sim=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for seed in 7 1234 99991 424242; do
  for codec in xor encrypt; do
    "$sim" --seed $seed --faults all --codec $codec --trace "$dir/a" >/dev/null || true
    "$sim" --seed $seed --faults all --codec $codec --trace "$dir/b" >/dev/null || true
    if ! cmp -s "$dir/a" "$dir/b"; then
      echo "seed $seed codec $codec: traces differ between two runs:"
      diff "$dir/a" "$dir/b" | head -20
      exit 1
    fi
    test -s "$dir/a" || { echo "seed $seed: empty trace"; exit 1; }
  done
  # The local journal: a real SQLite database in a temp directory.
  "$sim" --seed $seed --faults all --journal --trace "$dir/a" >/dev/null || true
  "$sim" --seed $seed --faults all --journal --trace "$dir/b" >/dev/null || true
  if ! cmp -s "$dir/a" "$dir/b"; then
    echo "seed $seed with the journal: traces differ between two runs:"
    diff "$dir/a" "$dir/b" | head -20
    exit 1
  fi
done
echo "traces identical across processes"
