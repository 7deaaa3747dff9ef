package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"runtime/debug"
)

// secretFile is where the mini-service base mounts the service's Secret
// (`<name>-secret`, key `api-key`; manifests bases/mini-service).
const secretFile = "/var/run/secrets/coffee/api-key"

// server answers who it is; it reads the secret's file on every request, so a
// Secret that appears or changes later is seen without a restart.
type server struct {
	name, version, secretFile string
}

// answer is the body of GET /.
type answer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Secret  string `json:"secret"`
	// SecretSHA256 is the first 12 hex digits of the SHA-256 of the
	// secret's value, "" when it is absent: it changes when the value does
	// (a rotation has arrived), and it is not the value.
	SecretSHA256 string `json:"secret_sha256"`
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return mux
}

func (s *server) root(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	state, sum := s.secret()
	json.NewEncoder(w).Encode(answer{Name: s.name, Version: s.version, Secret: state, SecretSHA256: sum})
}

// secret is "present" and the value's short SHA-256 when the secret's file
// exists and is not empty, else "absent" and "". Never the value.
func (s *server) secret() (string, string) {
	b, err := os.ReadFile(s.secretFile)
	if err != nil || len(b) == 0 {
		return "absent", ""
	}
	sum := sha256.Sum256(b)
	return "present", hex.EncodeToString(sum[:])[:12]
}

// version is the git commit this binary was built from (Go's build info,
// `vcs.revision`, with "-dirty" when the checkout had local changes), or
// "unknown" for a build outside a git checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
