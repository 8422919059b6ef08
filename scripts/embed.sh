#!/bin/sh
# embed.sh FILE.lua... > embedded.c : compiles Lua sources into a C table
# (module name, source path, bytes, length) that repl/embedded.c loads. A file under
# LIB/lua/ is module LIB.NAME (nn/lua/layers.lua -> nn.layers); repl/lua/NAME.lua is NAME.
set -e
modname() {
  d=$(dirname "$1"); n=$(basename "$1" .lua); lib=$(basename "$(dirname "$d")")
  if [ "$lib" = repl ] || [ "$lib" = . ]; then echo "$n"; else echo "$lib.$n"; fi
}
echo '#include <stddef.h>'
for f in "$@"; do
  id=$(modname "$f" | tr . _)
  echo "static const unsigned char lua_$id[] = {"
  xxd -i < "$f"
  echo "};"
done
echo 'struct repl_embedded { const char *name, *path; const unsigned char *src; size_t len; };'
echo 'const struct repl_embedded repl_embedded_modules[] = {'
for f in "$@"; do
  m=$(modname "$f"); id=$(echo "$m" | tr . _)
  echo "  {\"$m\", \"$f\", lua_$id, sizeof lua_$id},"
done
echo '  {NULL, NULL, NULL, 0}'
echo '};'
