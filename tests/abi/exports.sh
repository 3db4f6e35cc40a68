#!/usr/bin/env bash
# libmig.so exports exactly the functions mig.h declares: nothing of the
# modules behind it (they change freely, and an application must not come
# to depend on them), and every declared function (a declaration without
# MIG_API would be hidden, and fail to link in an application).
#   exports.sh LIBMIG_SO MIG_H [CC]
set -u
so=$1 header=$2 cc=${3:-cc}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# defined dynamic symbols of any kind (functions, data), as the loader sees them
exported=$(nm -D --defined-only "$so" | awk 'NF == 3 {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$exported" ] || { echo "FAIL: no symbol exported by $so"; exit 1; }
# function names the header declares: preprocessed (no comments, no macros),
# a name followed by its parameter list (a typedef's (*name)(...) is not)
declared=$("$cc" -E -P -x c "$header" | tr '\n' ' ' |
    grep -oE '(^|[^A-Za-z0-9_])mig_[A-Za-z0-9_]+ *\(' | grep -oE 'mig_[A-Za-z0-9_]+' | sort -u)
[ -n "$declared" ] || { echo "FAIL: no function found in $header"; exit 1; }

while read -r sym; do
    grep -qx "$sym" <<<"$declared" || fail "$(basename "$so") exports $sym, which mig.h does not declare"
done <<<"$exported"
while read -r fn; do
    grep -qx "$fn" <<<"$exported" || fail "mig.h declares $fn but $(basename "$so") does not export it (MIG_API missing?)"
done <<<"$declared"
# the SONAME an application records, and the link name pkg-config and mig::mig give
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $soname in libmig.so.[0-9]*) ;; *) fail "SONAME is '$soname', not libmig.so.N" ;; esac

echo "$(wc -l <<<"$exported") exported, $(wc -l <<<"$declared") declared, $fails failures"
[ "$fails" = 0 ]
