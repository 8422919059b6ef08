#!/bin/sh
# embed.sh FILE.lua... > embedded.c : compiles Lua sources into a C table
# (name, bytes, length) that repl_require_embedded() loads.
echo '#include <stddef.h>'
for f in "$@"; do
  n=$(basename "$f" .lua)
  echo "static const unsigned char lua_$n[] = {"
  xxd -i < "$f"
  echo "};"
done
echo 'struct repl_embedded { const char *name; const unsigned char *src; size_t len; };'
echo 'const struct repl_embedded repl_embedded_modules[] = {'
for f in "$@"; do
  n=$(basename "$f" .lua)
  echo "  {\"$n\", lua_$n, sizeof lua_$n},"
done
echo '  {NULL, NULL, 0}'
echo '};'
