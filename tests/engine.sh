#!/usr/bin/env bash
# Run condo with another engine: `ENGINE=jit CONDO_BIN=build/condo tests/engine.sh app PROG...`
# inserts `--engine $ENGINE` after the subcommand, so any suite that takes a
# CONDO command runs under the translator or in lockstep.
set -eu
sub=$1
shift
# ENGINE_ARGS: more options after it (split on spaces), e.g. --jit-threshold 1
read -r -a more <<<"${ENGINE_ARGS:-}"
exec "${CONDO_BIN:?}" "$sub" --engine "${ENGINE:?}" "${more[@]}" "$@"
