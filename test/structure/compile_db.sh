#!/usr/bin/env bash
# Writes compile_commands.json at the top of the tree (git-ignored) for clang-tidy and editors:
# one entry per src/**/*.cpp with the flags the Makefile compiles the extension with (asked from
# make itself, so the two cannot drift), one per test/unit/*.cpp with the unit-test flags, and one
# per client/**/*.cpp and test/client/*.cpp with the client library's flags.
#
#   bash test/structure/compile_db.sh            # PG_CONFIG=/path/to/pg_config to choose a server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
PG_CONFIG=${PG_CONFIG:-pg_config}

# CXXFLAGS (PostgreSQL's, then the Makefile's PG_CXXFLAGS and -fPIC) and CPPFLAGS (the server's
# include directories), exactly as PGXS puts them on the compile line. Dependency-file flags
# are dropped: a lint run must not write .d files into the tree.
ext_flags=$(make -s --no-print-directory print-LG_COMPILE_FLAGS PG_CONFIG="$PG_CONFIG")
ext_flags=$(printf '%s\n' $ext_flags | grep -vxE -- '-MMD|-MP' | tr '\n' ' ')
# The Makefile's unit-test rule: the core and GoogleTest, no PostgreSQL header.
unit_flags="$(make -s --no-print-directory print-CXX PG_CONFIG="$PG_CONFIG") $(make -s --no-print-directory print-UNIT_CXXFLAGS PG_CONFIG="$PG_CONFIG")"
# The client library's rule (library, example and client tests): the core, libpq's header.
client_flags="$(make -s --no-print-directory print-CXX PG_CONFIG="$PG_CONFIG") $(make -s --no-print-directory print-CLIENT_CXXFLAGS PG_CONFIG="$PG_CONFIG")"

entry() {  # entry FLAGS FILE
  local file=$1 flags=$2
  printf '  {"directory": "%s", "file": "%s", "command": "%s -c %s"}' "$root" "$file" "$flags" "$file"
}

{
  echo "["
  first=1
  while IFS= read -r file; do
    case $file in
      src/*) flags=$ext_flags ;;
      client/* | test/client/*) flags=$client_flags ;;
      *) flags=$unit_flags ;;
    esac
    [ $first = 1 ] || echo ","
    first=0
    entry "$file" "$flags"
  done < <(find src test/unit client test/client -name '*.cpp' | LC_ALL=C sort)
  echo
  echo "]"
} > compile_commands.json
echo "compile_commands.json: $(grep -c '"file"' compile_commands.json) entries"
