#!/usr/bin/env bash
# Builds the chat container image: wheels of chat and its dependencies are made on this host
# into ./wheelhouse, then `docker build` installs from them with no network access at all.
#
# Usage: deploy/build-image.sh [TAG]              (default tag: chat:latest)
# Environment:
#   BASE_IMAGE  image to build on (default: chat-base:<codename>, built by
#               deploy/build-base-image.sh when missing; with a registry: python:3.12-slim)
#   PYTHON      host Python whose pip makes the wheels (default: .venv/bin/python, else python3)
#   CHAT_BUILD_LOCK  lock file serialising builds (default: $TMPDIR/chat-build-image.lock)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "build-image: $*" >&2; exit 1; }

tag="${1:-chat:latest}"
# shellcheck disable=SC1091
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
base="${BASE_IMAGE:-chat-base:${codename:-bookworm}}"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
wheelhouse=wheelhouse

docker info >/dev/null 2>&1 || die "no Docker engine (docker info fails)"
start=$SECONDS

# Two builds at once (say, two test runs) would empty each other's wheelhouse: take turns.
# The integration tests take the same lock while compose builds from the wheelhouse.
lock="${CHAT_BUILD_LOCK:-${TMPDIR:-/tmp}/chat-build-image.lock}"
exec 9>"$lock"
flock 9

if ! docker image inspect "$base" >/dev/null 2>&1; then
    case "$base" in
        chat-base:*) bash deploy/build-base-image.sh "$base" ;;
        *) docker pull "$base" >/dev/null || die "cannot pull $base; without a registry use the default base (make base-image)" ;;
    esac
fi

# The wheels must fit the image's Python, not the host's: ask the base which one it has.
read -r target_version target_machine < <(
    docker run --rm --entrypoint python3 "$base" \
        -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.machine())'
) || die "$base has no working python3"
host_version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"

rm -rf "$wheelhouse"
mkdir -p "$wheelhouse"
# Fixed timestamps inside the wheels: unchanged code gives byte-identical wheels, so Docker's
# layer cache sees nothing new and the rebuild is a no-op.
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 315532800)"
export SOURCE_DATE_EPOCH
pip=("$PYTHON" -m pip --disable-pip-version-check --quiet)
if [ "$target_version" = "$host_version" ]; then
    # Same Python: build everything here, sdists included.
    "${pip[@]}" wheel --wheel-dir "$wheelhouse" .
else
    # Another Python (e.g. python:3.12-slim from a 3.11 host): chat itself is pure Python; the
    # dependencies come as ready-made wheels for the image's Python and CPU (PyYAML has C code).
    "${pip[@]}" wheel --no-deps --wheel-dir "$wheelhouse" .
    "${pip[@]}" download --dest "$wheelhouse" --only-binary=:all: \
        --python-version "$target_version" --implementation cp \
        --platform "manylinux2014_$target_machine" --platform "manylinux_2_17_$target_machine" \
        --platform "manylinux_2_28_$target_machine" \
        "$wheelhouse"/chat-*.whl
fi
echo "build-image: $(ls "$wheelhouse" | wc -l) wheels for Python $target_version in $wheelhouse/" >&2

# The image is stamped with the version and commit so `docker inspect` tells what runs.
version="$("$PYTHON" -c 'import re, pathlib; print(re.search(r"__version__ = \"(.+)\"", pathlib.Path("chat/__init__.py").read_text()).group(1))')"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# The build stage gets a tag of its own: it is the cache that makes a rebuild without code
# changes take a second, and once a newer one replaces it the old one is untagged and can be
# removed below, instead of piling up as anonymous 150 MB images after every change.
stage="${tag%%:*}:build-stage"
docker build --quiet --build-arg "BASE_IMAGE=$base" --target build --tag "$stage" . >/dev/null
docker build --quiet \
    --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    --tag "$tag" . >/dev/null
docker image prune --force --filter label=chat.stage=build >/dev/null

size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "build-image: $tag ($base) built in $((SECONDS - start)) s, $((size / 1000000)) MB" >&2
