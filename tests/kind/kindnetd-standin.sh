#!/bin/sh
# STAND-IN for kindnetd (kind's CNI daemon), not the real thing: the Go module
# proxy refuses sigs.k8s.io/kindnet, so the kind lane runs this instead under
# the image name kind's manifest uses. One node only: it writes the ptp +
# host-local + portmap conflist kindnetd writes, for POD_SUBNET (set by kind's
# manifest; its first IPv4 range), then waits. It does not route between
# nodes, masquerade, or enforce NetworkPolicy.
set -eu
subnet="$(echo "${POD_SUBNET:-10.244.0.0/16}" | tr ',' '\n' | grep -v : | head -n 1)"
dir=/etc/cni/net.d
mkdir -p "$dir"
cat >"$dir/.10-kindnet.conflist.tmp" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "$subnet" }]]
      },
      "mtu": 1500
    },
    {
      "type": "portmap",
      "capabilities": { "portMappings": true }
    }
  ]
}
CONF
mv "$dir/.10-kindnet.conflist.tmp" "$dir/10-kindnet.conflist"
echo "kindnetd stand-in: wrote $dir/10-kindnet.conflist for $subnet (node ${HOST_IP:-?})"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
