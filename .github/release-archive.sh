#!/usr/bin/env bash
# Packs one release archive, as the release workflow (.github/workflows/release.yml)
# does for each target and as `cargo binstall` expects it (Cargo.toml
# [package.metadata.binstall], the layout of cargo-binstall's SUPPORT.md):
#   dist/kindops-<target>-v<version>.tgz  holding  kindops-<target>-v<version>/{kindops,README.md}
#   dist/kindops-<target>-v<version>.tgz.sha256
# Usage: .github/release-archive.sh TARGET [BINARY]
#   BINARY defaults to target/TARGET/release/kindops (cargo build --release --target TARGET).
# With GITHUB_REF_NAME set (a tag push), the tag must be v<the Cargo.toml version>.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: .github/release-archive.sh TARGET [BINARY]}"
bin="${2:-target/$target/release/kindops}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || { echo "no version in Cargo.toml" >&2; exit 1; }
if [ -n "${GITHUB_REF_NAME:-}" ] && [ "$GITHUB_REF_NAME" != "v$version" ]; then
  echo "tag $GITHUB_REF_NAME is not v$version (Cargo.toml): bump the version or tag again" >&2
  exit 1
fi
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release --target $target)" >&2; exit 1; }
name="kindops-$target-v$version"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" dist
cp "$bin" "$stage/$name/kindops"
cp README.md "$stage/$name/"
tar -C "$stage" -czf "dist/$name.tgz" "$name"
if command -v sha256sum >/dev/null; then
  (cd dist && sha256sum "$name.tgz" > "$name.tgz.sha256")
else
  (cd dist && shasum -a 256 "$name.tgz" > "$name.tgz.sha256")
fi
echo "dist/$name.tgz"
