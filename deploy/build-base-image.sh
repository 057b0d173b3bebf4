#!/usr/bin/env bash
# Builds a minimal Debian base image for chat (Python 3, venv support, tini) without pulling
# anything from a container registry: mmdebstrap installs the packages from the same Debian
# mirror this host's apt uses, and `docker import` turns the tarball into an image.
#
# Usage: deploy/build-base-image.sh [TAG]        (default tag: chat-base:<codename>, e.g. chat-base:bookworm)
#
# Needs root (mmdebstrap's root mode), mmdebstrap and a Docker engine. Takes ~20-60 s and gives
# an image of ~100 MB. The image is for this host's Debian release, so wheels built by the
# host's python3 fit the image's python3.
set -euo pipefail

die() { echo "build-base-image: $*" >&2; exit 1; }

# The release to build is the host's own: its mirror is known to serve it and its Python
# matches the one the wheels are built with.
# shellcheck disable=SC1091
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release (VERSION_CODENAME)"
tag="${1:-chat-base:$codename}"

command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing; run: make sysdeps (or apt-get install mmdebstrap)"
docker info >/dev/null 2>&1 || die "no Docker engine (docker info fails)"
[ "$(id -u)" -eq 0 ] || die "run as root: mmdebstrap needs it to create device nodes and set file owners"

# The host's Debian apt sources for this release, one "deb URI SUITE COMPONENTS" line each.
# Read at run time so no mirror address is written into the repository, and filtered to the
# release's own suites (bookworm, bookworm-updates, bookworm-security) because third-party
# repositories on a developer's machine have keys the chroot does not know.
mapfile -t mirrors < <(python3 - "$codename" <<'EOF'
import glob
import sys

codename = sys.argv[1]


def wanted(suite: str) -> bool:
    return suite == codename or suite.startswith(codename + "-")


def one_line(path: str) -> list[tuple[str, str, list[str]]]:
    entries = []
    for raw in open(path, encoding="utf-8"):
        words = raw.split("#", 1)[0].split()
        if len(words) < 3 or words[0] != "deb":
            continue
        if words[1].startswith("["):  # options such as [signed-by=...] are dropped
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = ["deb", *words[1:]]
        entries.append((words[1], words[2], words[3:]))
    return entries


def deb822(path: str) -> list[tuple[str, str, list[str]]]:
    entries = []
    text = open(path, encoding="utf-8").read()
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                entries.append((uri, suite, fields.get("components", "main").split()))
    return entries


entries = []
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        entries += one_line(path)
    except FileNotFoundError:
        pass
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    entries += deb822(path)
seen = set()
for uri, suite, components in entries:
    line = f"deb {uri} {suite} {' '.join(components or ['main'])}"
    if wanted(suite) and line not in seen:
        seen.add(line)
        print(line)
EOF
)
[ ${#mirrors[@]} -gt 0 ] || die "no apt source for '$codename' in /etc/apt/sources.list{,.d/*.list,.d/*.sources}"

# A proxy the host's apt is told to use applies to mmdebstrap's apt as well.
aptopts=()
for scheme in http https; do
    proxy="$(apt-config dump "Acquire::$scheme::Proxy" 2>/dev/null | sed -n "s/^Acquire::$scheme::Proxy \"\(.*\)\";$/\1/p")"
    if [ -n "$proxy" ]; then
        aptopts+=(--aptopt="Acquire::$scheme::Proxy \"$proxy\"")
    fi
done

echo "build-base-image: building $tag from ${mirrors[*]}" >&2
start=$SECONDS
# essential: only Essential:yes packages plus --include, no apt (the image never installs more).
# merged-usr hook: otherwise the usrmerge package is installed, which pulls in perl.
# The path excludes keep documentation, man pages and translations out (~40 MB).
mmdebstrap \
    --quiet \
    --variant=essential \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include=python3,python3-venv,ca-certificates,tini \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    "${aptopts[@]}" \
    "$codename" - "${mirrors[@]}" |
    docker import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/sh"]' \
        --message "chat base: Debian $codename with python3, python3-venv, tini (mmdebstrap)" \
        - "$tag" >/dev/null

size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "build-base-image: $tag built in $((SECONDS - start)) s, $((size / 1000000)) MB" >&2
