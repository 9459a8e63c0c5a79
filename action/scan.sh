#!/usr/bin/env bash
# Step (b): validate the inputs, scan ONCE writing SARIF, Markdown and JSON, and decide what
# the later steps may do (SARIF upload, artifact fallback, PR comment).
#
# Environment (set by action.yml from the inputs; never interpolated into this script):
#   BLASTWALL_BIN             command that runs blastwall (from the install step)
#   BLASTWALL_INPUT_PATH      folder to scan, relative to the workspace (default ".")
#   BLASTWALL_INPUT_FAIL_ON   present | unclear | never
#   BLASTWALL_INPUT_SARIF     true | false
#   BLASTWALL_INPUT_CATEGORY  code scanning category
#   BLASTWALL_INPUT_BASELINE  previous JSON report (optional)
#   BLASTWALL_INPUT_NEW_ONLY  true | false: report only what the PR adds (--diff-base)
#   BLASTWALL_INPUT_NEW_ONLY_AUTO  true when new-only was left at its default ("auto"): where the
#                             PR base cannot be read, the step falls back to a full scan
#                             instead of failing
#   BLASTWALL_INPUT_COMMENT   true | false
#   BLASTWALL_INPUT_EXTRA_ARGS  allow-listed extra flags
#
# Exit status: 0 whenever the scan itself worked, whatever it found; the verdict's exit code
# is kept in the `exit-code` output and applied by the last step, after the reports are out.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

require_env GITHUB_OUTPUT RUNNER_TEMP BLASTWALL_BIN
resolve_python
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"

# ---- inputs -------------------------------------------------------------------------------
scan_path="${BLASTWALL_INPUT_PATH:-.}"
fail_on="${BLASTWALL_INPUT_FAIL_ON:-present}"
sarif="" new_only="" comment=""
read_bool sarif sarif "${BLASTWALL_INPUT_SARIF:-true}"
category="${BLASTWALL_INPUT_CATEGORY:-blastwall}"
baseline="${BLASTWALL_INPUT_BASELINE:-}"
read_bool new_only new-only "${BLASTWALL_INPUT_NEW_ONLY:-false}"
new_only_auto=""
read_bool new_only_auto new-only "${BLASTWALL_INPUT_NEW_ONLY_AUTO:-false}"
read_bool comment comment "${BLASTWALL_INPUT_COMMENT:-false}"
extra_args_input="${BLASTWALL_INPUT_EXTRA_ARGS:-}"

case "$fail_on" in
  present | unclear | never) ;;
  *) die "input 'fail-on' must be one of present, unclear, never; got '${fail_on}'" ;;
esac

if [[ -z "$scan_path" || "$scan_path" == *$'\n'* || "$scan_path" == *$'\r'* ]]; then
  die "input 'path' must be a single non-empty path"
fi
if [[ ! -e "$scan_path" ]]; then
  die "input 'path': '${scan_path}' does not exist (relative paths start at the workspace; did you run actions/checkout?)"
fi

if [[ ! "$category" =~ ^[A-Za-z0-9][A-Za-z0-9._/:-]{0,99}$ ]]; then
  die "input 'category' may hold letters, digits and . _ / : - (at most 100 characters); got '${category}'"
fi

if [[ -n "$baseline" && ! -f "$baseline" ]]; then
  die "input 'baseline': '${baseline}' is not a file (give the path of a previous blastwall JSON report)"
fi

# extra-args: split on whitespace (no quotes, no globbing, no expansion), then check every
# word against the allow-list. Flags the action sets itself are refused, naming the input to
# use instead. To allow a new blastwall flag, add it to one of the first two tables.
declare -A takes_value=(  # flag -> the pattern its value must match
  [--jobs]='^[0-9]{1,3}$'
  [--min-severity]='^(info|low|medium|high|critical)$'
  [--min-confidence]='^(low|medium|high)$'
  [--exclude]='^[A-Za-z0-9_./*?-][A-Za-z0-9_./*?!-]{0,199}$'
)
declare -A no_value=(
  [--debug]=1
  [--include-tests]=1
)
declare -A owned=(
  [--format]="the action always writes every format"
  [-f]="the action always writes every format"
  [--output]="the action chooses the report files (see the sarif-file and markdown-file outputs)"
  [-o]="the action chooses the report files (see the sarif-file and markdown-file outputs)"
  [--json-output]="the action chooses the report files (see the json-file output)"
  [--sarif-output]="the action chooses the report files (see the sarif-file output)"
  [--markdown-output]="the action chooses the report files (see the markdown-file output)"
  [--fail-on]="use the 'fail-on' input"
  [--baseline]="use the 'baseline' input"
  [--diff-base]="use the 'new-only' input"
  [--no-progress]="the action already turns progress off"
)
extra=()
if [[ -n "$extra_args_input" ]]; then
  if [[ "$extra_args_input" == *[\'\"\`\$\;\&\|\<\>\(\)\\]* ]]; then
    die "input 'extra-args' may not contain quotes, \$, backticks, ; & | < > ( ) or backslashes; got '${extra_args_input}'"
  fi
  read -r -a words <<<"${extra_args_input//$'\n'/ }"
  i=0
  while ((i < ${#words[@]})); do
    word="${words[i]}"
    flag="${word%%=*}"
    if [[ -n "${owned[$flag]:-}" ]]; then
      die "input 'extra-args': ${flag} is not allowed here: ${owned[$flag]}"
    elif [[ -n "${no_value[$flag]:-}" ]]; then
      [[ "$word" == "$flag" ]] || die "input 'extra-args': ${flag} takes no value"
      extra+=("$flag")
    elif [[ -n "${takes_value[$flag]:-}" ]]; then
      if [[ "$word" == *=* ]]; then
        value="${word#*=}"
      else
        i=$((i + 1))
        ((i < ${#words[@]})) || die "input 'extra-args': ${flag} needs a value"
        value="${words[i]}"
      fi
      if [[ ! "$value" =~ ${takes_value[$flag]} ]]; then
        die "input 'extra-args': '${value}' is not a valid value for ${flag} (expected ${takes_value[$flag]})"
      fi
      extra+=("$flag" "$value")
    else
      allowed="$(printf '%s\n' "${!takes_value[@]}" "${!no_value[@]}" | sort | tr '\n' ' ')"
      die "input 'extra-args': '${word}' is not an allowed blastwall flag; allowed: ${allowed% }"
    fi
    i=$((i + 1))
  done
fi

# ---- context: what this token may do ------------------------------------------------------
is_pr=false is_fork=false read_only=false pr_number="" base_sha=""
while IFS='=' read -r key value; do
  case "$key" in
    is_pr) is_pr="$value" ;;
    is_fork) is_fork="$value" ;;
    read_only) read_only="$value" ;;
    pr_number) pr_number="$value" ;;
    base_sha) base_sha="$value" ;;
  esac
done < <("$PYTHON" "${here}/context.py" event)

diff_base=""
if [[ "$new_only" == true ]]; then
  if [[ "$is_pr" != true || -z "$base_sha" ]]; then
    gh_notice "new-only applies to pull requests; this ${GITHUB_EVENT_NAME:-run} is scanned in full"
  else
    git_dir="$scan_path"
    [[ -d "$git_dir" ]] || git_dir="$(dirname -- "$scan_path")"
    # Every git call goes through safe_git (lib.sh): the repository cannot make it run a program.
    problem=""
    if ! refusal="$(safe_git_check "$git_dir" 2>&1)"; then
      problem="${refusal}"
    else
      if ! safe_git "$git_dir" cat-file -e "${base_sha}^{commit}" 2>/dev/null; then
        echo "Fetching the pull request's base commit ${base_sha}"
        safe_git "$git_dir" fetch --quiet --no-tags --no-recurse-submodules --depth=1 origin "$base_sha" || true
      fi
      if ! safe_git "$git_dir" cat-file -e "${base_sha}^{commit}" 2>/dev/null; then
        problem="the base commit ${base_sha} is not in the checkout; use actions/checkout with fetch-depth: 0"
      fi
    fi
    if [[ -z "$problem" ]]; then
      diff_base="$base_sha"
    elif [[ "$new_only_auto" == true ]]; then
      # Defaulted, not asked for: a full scan shows more, never less.
      gh_notice "new-only: ${problem}; scanning in full instead"
    else
      die "new-only: ${problem}"
    fi
  fi
fi

# ---- the scan -----------------------------------------------------------------------------
out_dir="$(mktemp -d "${RUNNER_TEMP}/blastwall.XXXXXX")"
sarif_file="${out_dir}/blastwall.sarif"
markdown_file="${out_dir}/blastwall.md"
json_file="${out_dir}/blastwall.json"

read -r -a blastwall <<<"$BLASTWALL_BIN"
args=(
  scan
  --format text
  --no-progress
  --fail-on "$fail_on"
  --sarif-output "$sarif_file"
  --markdown-output "$markdown_file"
  --json-output "$json_file"
)
[[ -z "$baseline" ]] || args+=(--baseline "$baseline")
[[ -z "$diff_base" ]] || args+=(--diff-base "$diff_base")
args+=("${extra[@]}" -- "$scan_path")

echo "::group::blastwall scan ${scan_path}"
set +e
"${blastwall[@]}" "${args[@]}"
exit_code=$?
set -e
echo "::endgroup::"

if ((exit_code != 0 && exit_code != 1)); then
  die "blastwall stopped with exit code ${exit_code} (usage or internal error); see the log above" "$exit_code"
fi
for report in "$sarif_file" "$markdown_file" "$json_file"; do
  [[ -s "$report" ]] || die "blastwall exited ${exit_code} but did not write ${report##*/}"
done

verdict="" findings=0
while IFS='=' read -r key value; do
  case "$key" in
    verdict) verdict="$value" ;;
    findings) findings="$value" ;;
  esac
done < <("$PYTHON" "${here}/context.py" report "$json_file")
[[ -n "$verdict" ]] || die "the JSON report has no verdict"

# SARIF URIs are relative to the scanned folder; code scanning wants them relative to the
# repository root.
workspace="${GITHUB_WORKSPACE:-$PWD}"
scan_abs="$(cd -- "$( [[ -d "$scan_path" ]] && echo "$scan_path" || dirname -- "$scan_path")" && pwd -P)"
workspace_abs="$(cd -- "$workspace" && pwd -P)"
path_prefix=""
if [[ "$scan_abs" == "$workspace_abs" ]]; then
  :
elif [[ "$scan_abs" == "$workspace_abs"/* ]]; then
  path_prefix="${scan_abs#"$workspace_abs"/}"
  "$PYTHON" "${here}/context.py" rebase-sarif "$sarif_file" "$path_prefix"
else
  gh_warning "'${scan_path}' is outside the workspace; code scanning cannot link its SARIF locations to repository files"
fi

# ---- what the later steps may do ----------------------------------------------------------
upload_sarif=false upload_artifact=false comment_allowed=false note=""
if [[ "$sarif" == true ]]; then
  if [[ "$read_only" == true ]]; then
    # A fork (or Dependabot) PR gets a read-only token: an upload would fail. Never switch to
    # pull_request_target for this; the summary and an artifact carry the results instead.
    upload_artifact=true
    if [[ "$is_fork" == true ]]; then note="fork"; else note="read-only"; fi
    gh_notice "this pull request's token is read-only (fork or Dependabot): SARIF is not uploaded; the reports are in the job summary and the workflow artifact"
  else
    upload_sarif=true
  fi
fi
if [[ "$comment" == true ]]; then
  if [[ "$is_pr" != true || -z "$pr_number" ]]; then
    gh_notice "comment: this ${GITHUB_EVENT_NAME:-run} is not a pull request; no comment is posted"
  elif [[ "$read_only" == true ]]; then
    gh_notice "comment: this pull request's token is read-only (fork or Dependabot); the report is in the job summary instead"
  else
    comment_allowed=true
  fi
fi

artifact_name="blastwall-${category//[^A-Za-z0-9._-]/-}"

set_output verdict "$verdict"
set_output findings "$findings"
set_output exit-code "$exit_code"
set_output sarif-file "$sarif_file"
set_output markdown-file "$markdown_file"
set_output json-file "$json_file"
set_output report-dir "$out_dir"
set_output upload-sarif "$upload_sarif"
set_output upload-artifact "$upload_artifact"
set_output artifact-name "$artifact_name"
set_output comment "$comment_allowed"
set_output pr-number "$pr_number"
set_output note "$note"
set_output path-prefix "$path_prefix"
set_output new-only "$([[ -n "$diff_base" || -n "$baseline" ]] && echo true || echo false)"

echo "blastwall verdict: ${verdict} (${findings} finding(s)); fail-on ${fail_on} gives exit code ${exit_code}"
