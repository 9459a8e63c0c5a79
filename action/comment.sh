#!/usr/bin/env bash
# Step (e), optional: post the short report as a pull-request comment, or update the one a
# previous run posted (found by its hidden marker), so a PR carries one blastwall comment.
# summary.py keeps the body under GitHub's 65,536 characters by design: verdict, why, the new
# findings and the fixes first, then whole blocks of the report, then where the full report is.
#
# Needs `pull-requests: write` (only this step uses it) and the GitHub CLI, which hosted runners
# have. A comment is a convenience: every failure here is a warning, never a failed job.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

require_env GITHUB_REPOSITORY RUNNER_TEMP BLASTWALL_JSON_FILE BLASTWALL_MARKDOWN_FILE
resolve_python
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"

marker='<!-- blastwall-report -->'
repo="$GITHUB_REPOSITORY"
pr="${BLASTWALL_PR_NUMBER:-}"
category="${BLASTWALL_INPUT_CATEGORY:-blastwall}"

if [[ ! "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
  gh_warning "comment: unexpected repository name '${repo}'; no comment posted"
  exit 0
fi
if [[ ! "$pr" =~ ^[1-9][0-9]*$ ]]; then
  gh_warning "comment: no pull request number for this run; no comment posted"
  exit 0
fi
if ! command -v gh >/dev/null 2>&1; then
  gh_warning "comment: the GitHub CLI (gh) is not on this runner; no comment posted"
  exit 0
fi
if [[ -z "${GH_TOKEN:-}" ]]; then
  gh_warning "comment: no token; pass one with the 'token' input; no comment posted"
  exit 0
fi

body="$(mktemp "${RUNNER_TEMP}/blastwall-comment.XXXXXX")"
"$PYTHON" "${here}/summary.py" comment \
  --json "$BLASTWALL_JSON_FILE" \
  --markdown "$BLASTWALL_MARKDOWN_FILE" \
  --output "$body" \
  --fail-on "${BLASTWALL_INPUT_FAIL_ON:-}" \
  --exit-code "${BLASTWALL_SCAN_EXIT_CODE:-}" \
  --path-prefix "${BLASTWALL_PATH_PREFIX:-}" \
  --new-only "${BLASTWALL_NEW_ONLY:-false}" \
  --artifact "${BLASTWALL_ARTIFACT_NAME:-blastwall}" \
  --category "$category"

# Only a comment this token's own account wrote, starting with our marker and naming the same
# category, is updated: a marker pasted into someone else's comment is never a target.
me="$(gh api user --jq .login 2>/dev/null || true)"
[[ -n "$me" ]] || me="github-actions[bot]"
category_marker="<!-- blastwall-category: ${category//[^A-Za-z0-9._\/:-]/-} -->"
export BLASTWALL_ME="$me" BLASTWALL_MARKER="$marker" BLASTWALL_CATEGORY_MARKER="$category_marker"
# The jq filter reads the values from the environment: nothing is spliced into it.
filter='.[] | select(.user.login == env.BLASTWALL_ME)
  | select((.body // "") | startswith(env.BLASTWALL_MARKER))
  | select((.body // "") | contains(env.BLASTWALL_CATEGORY_MARKER)) | .id'
if ! existing="$(gh api --paginate "repos/${repo}/issues/${pr}/comments?per_page=100" --jq "$filter")"; then
  gh_warning "comment: could not list the pull request's comments (does the token have pull-requests: write?)"
  exit 0
fi
comment_id="$(printf '%s\n' "$existing" | grep -E '^[0-9]+$' | head -n 1 || true)"

if [[ -n "$comment_id" ]]; then
  if gh api --method PATCH "repos/${repo}/issues/comments/${comment_id}" --input "$body" --silent; then
    echo "Updated the blastwall comment ${comment_id} on pull request #${pr}"
  else
    gh_warning "comment: could not update comment ${comment_id} (does the token have pull-requests: write?)"
  fi
elif gh api --method POST "repos/${repo}/issues/${pr}/comments" --input "$body" --silent; then
  echo "Posted the blastwall report on pull request #${pr}"
else
  gh_warning "comment: could not post on pull request #${pr} (does the token have pull-requests: write?)"
fi
