#!/bin/sh
# STAND-IN for dex (ghcr.io/dexidp/dex), not the real thing: the Go module
# proxy refuses github.com/dexidp/dex v2.45. argocd-dex-server only needs a
# `dex` on PATH until SSO is configured (it runs `dex serve /tmp/dex.yaml`
# only then); kindops configures no SSO. Asked to serve, this fails loudly.
case "${1:-}" in
  version) echo "dex stand-in (kindops kind lane), not dex v2.45.0";;
  serve) echo "dex stand-in: dex is not available in the kindops kind lane (SSO cannot be served)" >&2; exit 1;;
  *) echo "dex stand-in: usage: dex version|serve CONFIG" >&2; exit 2;;
esac
