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
