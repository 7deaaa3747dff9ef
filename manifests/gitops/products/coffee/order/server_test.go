package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, s *server, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestRootAnswersNameVersionAndSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api-key")
	s := &server{name: name, version: "abc123", secretFile: file}

	var a answer
	rec := get(t, s, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("GET / body %q: %v", rec.Body, err)
	}
	if a != (answer{Name: "order", Version: "abc123", Secret: "absent", SecretSHA256: ""}) {
		t.Fatalf("GET / = %+v", a)
	}

	// The file is read on every request: a Secret mounted later is seen.
	if err := os.WriteFile(file, []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec = get(t, s, "/")
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	// sha256("s3cr3t") starts 4e738ca5563c.
	if a.Secret != "present" || a.SecretSHA256 != "4e738ca5563c" {
		t.Fatalf("secret = %q, %q with the file present", a.Secret, a.SecretSHA256)
	}
	if got := rec.Body.String(); strings.Contains(got, "s3cr3t") {
		t.Fatalf("the answer shows the secret's value: %s", got)
	}

	// A rotated value (the kubelet rewrites the mounted file) is seen on the
	// next request: sha256("r0tated") starts f6fad136fd9e.
	if err := os.WriteFile(file, []byte("r0tated"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec = get(t, s, "/")
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.SecretSHA256 != "f6fad136fd9e" {
		t.Fatalf("secret_sha256 = %q after the rotation", a.SecretSHA256)
	}
}

func TestHealthzIsReady(t *testing.T) {
	if rec := get(t, &server{name: name}, "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz = %d", rec.Code)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	if rec := get(t, &server{name: name}, "/nope"); rec.Code != http.StatusNotFound {
		t.Fatalf("GET /nope = %d", rec.Code)
	}
}
