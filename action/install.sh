#!/usr/bin/env bash
# Step (a): install blastwall into a private virtual environment under $RUNNER_TEMP.
#
# Source of the install, from the `version` input:
#   ""  (default)  the action's own checkout, $GITHUB_ACTION_PATH: the code you pinned by SHA
#   "X.Y.Z"        exactly that release from the package index (blastwall==X.Y.Z)
# Anything else is rejected: the input never reaches pip as a free-form requirement.
#
# Output: `bin`, the blastwall executable to call.
set -euo pipefail
# shellcheck source=action/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

require_env GITHUB_OUTPUT

# Test and development switch: use an existing blastwall instead of installing one.
if [[ "${BLASTWALL_SKIP_INSTALL:-}" == "1" ]]; then
  if [[ -z "${BLASTWALL_BIN:-}" ]]; then
    die "BLASTWALL_SKIP_INSTALL=1 also needs BLASTWALL_BIN (the command that runs blastwall)"
  fi
  set_output bin "$BLASTWALL_BIN"
  exit 0
fi

require_env RUNNER_TEMP GITHUB_ACTION_PATH
resolve_python

version="${BLASTWALL_INPUT_VERSION:-}"
version="${version#v}"
if [[ -z "$version" || "$version" == "source" ]]; then
  if [[ ! -f "${GITHUB_ACTION_PATH}/pyproject.toml" ]]; then
    die "the action checkout at GITHUB_ACTION_PATH has no pyproject.toml; set the 'version' input to a released blastwall version"
  fi
  requirement="${GITHUB_ACTION_PATH}"
  described="the action's own checkout"
elif [[ "$version" =~ ^[0-9]+(\.[0-9]+){1,3}((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$ ]]; then
  requirement="blastwall==${version}"
  described="blastwall ${version}"
else
  die "input 'version' must be empty (install from the action checkout) or a release number such as 0.1.0, got '${BLASTWALL_INPUT_VERSION}'"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  die "blastwall needs Python 3.10 or newer; add actions/setup-python before the blastwall step"
fi

venv="$(mktemp -d "${RUNNER_TEMP}/blastwall-venv.XXXXXX")"
echo "Installing ${described} into ${venv}"
"$PYTHON" -m venv "$venv"
if [[ -x "${venv}/bin/python" ]]; then
  venv_python="${venv}/bin/python"
  blastwall="${venv}/bin/blastwall"
else
  # Windows runners lay a venv out differently.
  venv_python="${venv}/Scripts/python.exe"
  blastwall="${venv}/Scripts/blastwall.exe"
fi

# No token or secret is in this step's environment; pip only reads the package index.
"$venv_python" -m pip install --quiet --disable-pip-version-check --no-input "$requirement"

if ! "$blastwall" --version; then
  die "blastwall was installed but does not start (${blastwall} --version failed)"
fi
set_output bin "$blastwall"
