#!/usr/bin/env bash
# Stands in for a trainer writing trainer_log.jsonl in tests: appends lines FROM..TO of PLAN to
# LOG, each in two writes a moment apart (so a follower meets a partial line it must hold back).
set -eu
plan=$1 log=$2 from=$3 to=$4
mkdir -p "$(dirname "$log")"
for i in $(seq "$from" "$to"); do
    line=$(sed -n "${i}p" "$plan")
    half=$(( ${#line} / 2 ))
    printf '%s' "${line:0:half}" >> "$log"
    sleep 0.05
    printf '%s\n' "${line:half}" >> "$log"
    sleep 0.05
done
