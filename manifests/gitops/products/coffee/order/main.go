// Command order is the coffee shop's order service: a small HTTP server built
// and shipped by the coffee CI pipeline (ci/coffee/pipeline.yaml) and
// deployed by Argo CD from apps/coffee/order.
//
// GET / answers {"name": "order", "version": <commit>, "secret": "present"|"absent",
// "secret_sha256": <the first 12 hex digits of the secret's SHA-256, or "">}:
// version is the git commit the binary was built from, as Go's build info
// records it (`vcs.revision`, stamped by `go build` inside a git checkout,
// which is what ko runs in the pipeline's clone; "unknown" outside one);
// secret says whether the file /var/run/secrets/coffee/api-key (the Secret
// order-secret, key api-key) is present and not empty, never its value;
// secret_sha256 changes when the value is rotated.
// GET /healthz is the readiness endpoint.
package main

import (
	"log"
	"net/http"
	"os"
)

// name is the service's name, as its Application and Rollout are named.
const name = "order"

func main() {
	addr := ":8080"
	if a := os.Getenv("LISTEN_ADDR"); a != "" {
		addr = a
	}
	s := &server{name: name, version: version(), secretFile: secretFile}
	log.Printf("%s %s listening on %s", s.name, s.version, addr)
	log.Fatal(http.ListenAndServe(addr, s.routes()))
}
