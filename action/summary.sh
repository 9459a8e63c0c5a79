#!/usr/bin/env bash
# Step (c): write the short report to $GITHUB_STEP_SUMMARY: the verdict first, the table of
# (new) findings from the JSON report, then the full Markdown report inside <details>.
# summary.py keeps it under GitHub's 1 MiB step-summary limit.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

require_env GITHUB_STEP_SUMMARY BLASTWALL_JSON_FILE BLASTWALL_MARKDOWN_FILE
resolve_python
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"

"$PYTHON" "${here}/summary.py" summary \
  --json "$BLASTWALL_JSON_FILE" \
  --markdown "$BLASTWALL_MARKDOWN_FILE" \
  --output "$GITHUB_STEP_SUMMARY" \
  --fail-on "${BLASTWALL_INPUT_FAIL_ON:-}" \
  --exit-code "${BLASTWALL_SCAN_EXIT_CODE:-}" \
  --path-prefix "${BLASTWALL_PATH_PREFIX:-}" \
  --new-only "${BLASTWALL_NEW_ONLY:-false}" \
  --note "${BLASTWALL_NOTE:-}" \
  --artifact "${BLASTWALL_ARTIFACT_NAME:-blastwall}"
