#!/usr/bin/env bash
# Step (f): apply the `fail-on` decision blastwall made, after the reports are published.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

code="${BLASTWALL_SCAN_EXIT_CODE:-}"
verdict="${BLASTWALL_VERDICT:-unknown}"
fail_on="${BLASTWALL_INPUT_FAIL_ON:-present}"
case "$code" in
  0)
    echo "blastwall verdict: ${verdict} (below fail-on '${fail_on}')"
    ;;
  1)
    gh_error "verdict '${verdict}' is at or above fail-on '${fail_on}'; the job summary lists the evidence and the fix"
    exit 1
    ;;
  *)
    die "the scan step reported no usable exit code ('${code}')"
    ;;
esac
