# shellcheck shell=bash
# Helpers shared by the action's step scripts. Sourced, never executed.
#
# Every value a step script handles arrives through the environment (action.yml maps each
# input to a BLASTWALL_* variable); nothing is ever interpolated into the script text.

# Print a workflow command safely: GitHub decodes %25, %0D and %0A in messages, so encode
# them, or a crafted value could end the command early and start another one.
_gh_escape() {
  local s="$1"
  s="${s//'%'/'%25'}"
  s="${s//$'\r'/'%0D'}"
  s="${s//$'\n'/'%0A'}"
  printf '%s' "$s"
}

gh_error() { printf '::error title=blastwall::%s\n' "$(_gh_escape "$1")"; }
gh_warning() { printf '::warning title=blastwall::%s\n' "$(_gh_escape "$1")"; }
gh_notice() { printf '::notice title=blastwall::%s\n' "$(_gh_escape "$1")"; }

# die MESSAGE [CODE]: report an error annotation and stop with CODE (default 2, "usage").
die() {
  gh_error "$1"
  exit "${2:-2}"
}

# require_env NAME...: stop with a clear message when the runner did not provide a variable.
require_env() {
  local name
  for name in "$@"; do
    if [[ -z "${!name:-}" ]]; then
      die "environment variable ${name} is not set; this script runs as a step of the blastwall action"
    fi
  done
}

# set_output NAME VALUE: append to $GITHUB_OUTPUT with a random heredoc delimiter, so a value
# can never inject a second output line.
set_output() {
  local name="$1" value="$2" delimiter
  delimiter="blastwall_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  if [[ "$value" == *"$delimiter"* ]]; then
    die "refusing to write output ${name}: its value contains the delimiter"
  fi
  {
    printf '%s<<%s\n' "$name" "$delimiter"
    printf '%s\n' "$value"
    printf '%s\n' "$delimiter"
  } >>"$GITHUB_OUTPUT"
}

# read_bool VAR INPUT VALUE: set VAR to a normalised true/false input, reject anything else.
read_bool() {
  local -n _target="$1"
  case "${3,,}" in
    true | false) _target="${3,,}" ;;
    *) die "input '${2}' must be 'true' or 'false', got '${3}'" ;;
  esac
}

# resolve_python: set PYTHON to the interpreter for the action's own stdlib-only helpers.
# shellcheck disable=SC2034  # PYTHON is read by the scripts that source this file
resolve_python() {
  if [[ -n "${BLASTWALL_PYTHON:-}" ]]; then
    PYTHON="$BLASTWALL_PYTHON"
  elif command -v python3 >/dev/null 2>&1; then
    PYTHON=python3
  elif command -v python >/dev/null 2>&1; then
    PYTHON=python
  else
    die "no python3 found on this runner; add actions/setup-python before the blastwall step"
  fi
}

# safe_git DIR GIT-ARGS...: run git on the work tree that holds DIR, never as the repository
# would have it. It runs scanner/discover/gitsafe.py, the scanner's own hardened runner, so both apply
# the same rules: the top level found by walking up to a real .git folder and passed explicitly
# (a committed folder that looks like a bare repository is never used), the repository's config
# vetted and refused when it names a program (filters, textconv, diff/merge drivers, ssh command,
# upload-pack, credential helpers, transport helpers, ...), every driver also switched off with
# -c, no system or global config, a throwaway HOME, stdin closed and a timeout. `env -i` keeps the
# runner's environment (tokens, GIT_* variables) away from it; only PATH, TMPDIR and the proxy
# variables (for fetch) pass. Exit status: git's own, or 2 when the repository is refused.
# safe_git_check DIR: only the vetting; prints the one-line reason and fails when refused.
_gitsafe() {
  local gitsafe name
  gitsafe="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)/scanner/discover/gitsafe.py"
  local -a keep=("PATH=${PATH}")
  for name in TMPDIR https_proxy HTTPS_PROXY http_proxy no_proxy NO_PROXY all_proxy ALL_PROXY; do
    [[ -z "${!name:-}" ]] || keep+=("${name}=${!name}")
  done
  env -i "${keep[@]}" "$PYTHON" -I "$gitsafe" "$@"
}
safe_git() { _gitsafe run "$@"; }
safe_git_check() { _gitsafe check "$@"; }
