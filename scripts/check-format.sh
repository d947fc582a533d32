#!/usr/bin/env bash
# Checks that every C and C++ file of the project is laid out as .clang-format says, with Debian's
# clang-format 14 (the version is pinned: another major version formats some constructs
# differently, so the check would flap between machines). Lists each file that differs and how
# many of its lines would change, and exits 1 if there is any; --fix rewrites them in place
# instead. Files are the ones git tracks, minus what is not ours to format (see `excluded`).
#
# usage: scripts/check-format.sh [--fix] [--diff] [FILE...]
#   --fix    reformat the offending files in place (exit 0 unless clang-format fails)
#   --diff   also print each offender's diff
#   FILE...  check only these files (default: every tracked C/C++ file)
# Set CLANG_FORMAT to use another binary (it must still be version 14).
set -euo pipefail

cd "$(dirname "$0")/.."

fix=0
show_diff=0
files=()
for arg in "$@"; do
  case $arg in
    --fix) fix=1 ;;
    --diff) show_diff=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check-format.sh: unknown option $arg" >&2; exit 2 ;;
    *) files+=("$arg") ;;
  esac
done

clang_format=${CLANG_FORMAT:-}
if [[ -z $clang_format ]]; then
  for candidate in clang-format-14 clang-format; do
    if command -v "$candidate" >/dev/null; then clang_format=$candidate; break; fi
  done
fi
if [[ -z $clang_format ]] || ! command -v "$clang_format" >/dev/null; then
  echo "check-format.sh: clang-format 14 not found (Debian: apt-get install clang-format-14)" >&2
  exit 2
fi
version=$("$clang_format" --version)
if [[ ! $version =~ version\ 14\. ]]; then
  echo "check-format.sh: need clang-format 14, $clang_format is: $version" >&2
  exit 2
fi

# Not ours to format: frozen copies of old headers (kept byte for byte as released), anything
# vendored, and generated files.
excluded='^tests/old-abi/v1\.[0-9]+/|(^|/)(third_party|vendor|node_modules|generated)/'

if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cc' '*.cpp' '*.cxx' '*.hpp' '*.hh' |
                       grep -Ev "$excluded" || true)
fi

offenders=0
changed_lines=0
for file in "${files[@]}"; do
  [[ -f $file ]] || continue
  # Lines of the file that formatting would rewrite.
  n=$("$clang_format" --style=file "$file" | diff -- "$file" - | grep -c '^<' || true)
  [[ $n -eq 0 ]] && continue
  offenders=$((offenders + 1))
  changed_lines=$((changed_lines + n))
  if [[ $fix -eq 1 ]]; then
    echo "formatting $file"
  else
    echo "$file: $n lines to reformat"
  fi
  if [[ $show_diff -eq 1 ]]; then
    "$clang_format" --style=file "$file" | diff -u --label "$file" --label "$file (formatted)" \
      -- "$file" - || true
  fi
  if [[ $fix -eq 1 ]]; then
    "$clang_format" --style=file -i "$file"
  fi
done

if [[ $offenders -eq 0 ]]; then
  echo "check-format.sh: ${#files[@]} files formatted as .clang-format says"
  exit 0
fi
if [[ $fix -eq 1 ]]; then
  echo "check-format.sh: reformatted $offenders files ($changed_lines lines)"
  exit 0
fi
echo "check-format.sh: $offenders of ${#files[@]} files need formatting ($changed_lines lines);" \
  "run scripts/check-format.sh --fix" >&2
exit 1
