// Command external-secrets is a STAND-IN for External Secrets Operator
// v2.9.0's image (ghcr.io/external-secrets/external-secrets:v2.9.0): the Go
// module proxy refuses github.com/external-secrets/external-secrets v2.9.0,
// so the real binary cannot be built offline. It does only what the chart's
// three Deployments need to become Ready and what the API server needs from
// them; it never syncs a secret.
//
//	external-secrets [--metrics-addr=:8080 ...]   the controller: serves
//	    /metrics, syncs nothing (ExternalSecrets stay as they are)
//	external-secrets certcontroller --service-name=S --service-namespace=N
//	    --secret-name=X --secret-namespace=N --healthz-addr=:8081
//	    as the real one: keeps a CA and a serving certificate for S.N.svc in
//	    Secret N/X (ca.crt, ca.key, tls.crt, tls.key) and injects the CA as
//	    caBundle into the ValidatingWebhookConfigurations labelled
//	    external-secrets.io/component=webhook whose webhooks call S in N;
//	    /readyz answers 200 once both are done
//	external-secrets webhook --port=10250 --cert-dir=/tmp/certs
//	    --dns-name=D --healthz-addr=:8081
//	    serves HTTPS with cert-dir's tls.crt/tls.key (reloaded when they
//	    change) and ALLOWS every AdmissionReview on any path (no validation);
//	    /readyz answers 200 once the certificate is valid for D
//
// Unknown flags are accepted and ignored, so the chart's arguments work as
// they are. Only the Go standard library: the Kubernetes API is called with
// the pod's service account token.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const banner = "external-secrets STAND-IN (kindops real-kind lane; not External Secrets Operator v2.9.0)"

func main() {
	args := os.Args[1:]
	mode := "controller"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	flags := parseFlags(args)
	if _, ok := flags["help"]; ok {
		mode = "help"
	}
	if _, ok := flags["version"]; ok {
		mode = "version"
	}
	log.SetFlags(log.LstdFlags | log.LUTC)
	switch mode {
	case "controller":
		log.Printf("%s: controller; syncs nothing", banner)
		serveMetrics(flags.get("metrics-addr", ":8080"))
		select {}
	case "certcontroller":
		runCertController(flags)
	case "webhook":
		runWebhook(flags)
	case "version":
		fmt.Println(banner)
	case "help":
		fmt.Println(banner)
		fmt.Println("usage: external-secrets [certcontroller|webhook|version] [--flag=value ...]")
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", banner, mode)
		os.Exit(2)
	}
}

type flagMap map[string]string

// parseFlags reads --name=value, --name value and bare --name; it knows no
// flag, so it accepts every flag the real binary has.
func parseFlags(args []string) flagMap {
	f := flagMap{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(a, "="); ok {
			f[k] = v
		} else if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			f[a] = args[i+1]
			i++
		} else {
			f[a] = "true"
		}
	}
	return f
}

func (f flagMap) get(k, def string) string {
	if v, ok := f[k]; ok && v != "" {
		return v
	}
	return def
}

func serveMetrics(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# external-secrets STAND-IN: no metrics")
	})
	go serve(addr, mux)
}

func serve(addr string, h http.Handler) {
	log.Fatal((&http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe())
}

// healthz serves /readyz and /healthz: 200 while ok() holds.
func healthz(addr string, ok func() error) {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, _ *http.Request) {
		if err := ok(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	mux.HandleFunc("/readyz", h)
	mux.HandleFunc("/healthz", h)
	go serve(addr, mux)
}

// ---------------------------------------------------------------- certcontroller

func runCertController(flags flagMap) {
	svc := flags.get("service-name", "external-secrets-webhook")
	svcNS := flags.get("service-namespace", "default")
	secret := flags.get("secret-name", "external-secrets-webhook")
	secretNS := flags.get("secret-namespace", "default")
	log.Printf("%s: certcontroller for service %s/%s, secret %s/%s", banner, svcNS, svc, secretNS, secret)
	type state struct{ err error }
	var ready atomic.Pointer[state]
	ready.Store(&state{errors.New("not reconciled yet")})
	healthz(flags.get("healthz-addr", ":8081"), func() error { return ready.Load().err })
	serveMetrics(flags.get("metrics-addr", ":8080"))
	kc, err := inCluster()
	if err != nil {
		log.Fatal(err)
	}
	for {
		err := reconcileCerts(kc, svc, svcNS, secret, secretNS)
		if err != nil {
			log.Printf("reconcile: %v", err)
		}
		ready.Store(&state{err})
		time.Sleep(10 * time.Second)
	}
}

func reconcileCerts(kc *kube, svc, svcNS, secret, secretNS string) error {
	path := fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", secretNS, secret)
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := kc.do("GET", path, "", nil, &s); err != nil {
		return fmt.Errorf("get secret %s/%s: %w", secretNS, secret, err)
	}
	dns := svc + "." + svcNS + ".svc"
	if err := checkCert(s.Data["tls.crt"], s.Data["tls.key"], s.Data["ca.crt"], dns); err != nil {
		log.Printf("secret %s/%s: %v: writing a new CA and serving certificate", secretNS, secret, err)
		data, err := newCerts(svc, svcNS)
		if err != nil {
			return err
		}
		patch, _ := json.Marshal(map[string]any{"data": data})
		if err := kc.do("PATCH", path, "application/merge-patch+json", patch, nil); err != nil {
			return fmt.Errorf("patch secret %s/%s: %w", secretNS, secret, err)
		}
		s.Data = data
	}
	return injectCA(kc, s.Data["ca.crt"], svc, svcNS)
}

// checkCert: the pair parses, chains to ca and is valid for dns for at least a day.
func checkCert(certPEM, keyPEM, caPEM []byte, dns string) error {
	if len(certPEM) == 0 || len(keyPEM) == 0 || len(caPEM) == 0 {
		return errors.New("no certificate")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return errors.New("no CA certificate")
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: dns, Roots: roots, CurrentTime: time.Now().Add(24 * time.Hour)})
	return err
}

func newCerts(svc, ns string) (map[string][]byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "external-secrets STAND-IN CA", Organization: []string{"kindops"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: svc + "." + ns + ".svc"},
		DNSNames:     []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caKeyDER, _ := x509.MarshalECPrivateKey(caKey)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return map[string][]byte{
		"ca.crt":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"ca.key":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKeyDER}),
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}

// injectCA sets caBundle on every webhook of the labelled
// ValidatingWebhookConfigurations that calls svc in ns (a JSON patch per
// webhook, guarded by a test of its name).
func injectCA(kc *kube, caPEM []byte, svc, ns string) error {
	const base = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Webhooks []struct {
				Name         string `json:"name"`
				ClientConfig struct {
					CABundle []byte `json:"caBundle"`
					Service  *struct {
						Name      string `json:"name"`
						Namespace string `json:"namespace"`
					} `json:"service"`
				} `json:"clientConfig"`
			} `json:"webhooks"`
		} `json:"items"`
	}
	q := url.Values{"labelSelector": {"external-secrets.io/component=webhook"}}
	if err := kc.do("GET", base+"?"+q.Encode(), "", nil, &list); err != nil {
		return fmt.Errorf("list validatingwebhookconfigurations: %w", err)
	}
	if len(list.Items) == 0 {
		return errors.New("no ValidatingWebhookConfiguration labelled external-secrets.io/component=webhook yet")
	}
	for _, vwc := range list.Items {
		var ops []map[string]any
		for i, wh := range vwc.Webhooks {
			s := wh.ClientConfig.Service
			if s == nil || s.Name != svc || s.Namespace != ns || bytes.Equal(wh.ClientConfig.CABundle, caPEM) {
				continue
			}
			ops = append(ops,
				map[string]any{"op": "test", "path": fmt.Sprintf("/webhooks/%d/name", i), "value": wh.Name},
				map[string]any{"op": "add", "path": fmt.Sprintf("/webhooks/%d/clientConfig/caBundle", i), "value": base64.StdEncoding.EncodeToString(caPEM)})
		}
		if len(ops) == 0 {
			continue
		}
		patch, _ := json.Marshal(ops)
		if err := kc.do("PATCH", base+"/"+vwc.Metadata.Name, "application/json-patch+json", patch, nil); err != nil {
			return fmt.Errorf("inject caBundle into %s: %w", vwc.Metadata.Name, err)
		}
		log.Printf("injected the CA into validatingwebhookconfiguration %s (%d webhooks)", vwc.Metadata.Name, len(ops)/2)
	}
	return nil
}

// kube: the API server as seen from a pod (service account token, its CA).
type kube struct {
	host   string
	client *http.Client
}

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func inCluster() (*kube, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not in a pod: KUBERNETES_SERVICE_HOST/PORT unset")
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("service account ca.crt holds no certificate")
	}
	return &kube{
		host:   "https://" + net.JoinHostPort(host, port),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}, nil
}

func (k *kube) do(method, path, ctype string, body []byte, out any) error {
	tok, err := os.ReadFile(filepath.Join(saDir, "token")) // re-read: projected tokens rotate
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, k.host+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "external-secrets-standin")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// ---------------------------------------------------------------- webhook

// certFiles serves cert-dir's tls.crt/tls.key, re-read when they change
// (the kubelet updates the mounted Secret after the certcontroller wrote it).
type certFiles struct {
	dir, dns string
	mu       sync.Mutex
	mod      time.Time
	cert     *tls.Certificate
}

func (c *certFiles) load() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	crt, key := filepath.Join(c.dir, "tls.crt"), filepath.Join(c.dir, "tls.key")
	st, err := os.Stat(crt)
	if err != nil {
		return nil, err
	}
	if c.cert != nil && st.ModTime().Equal(c.mod) {
		return c.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	if err := leaf.VerifyHostname(c.dns); err != nil {
		return nil, err
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, errors.New("certificate expired")
	}
	pair.Leaf = leaf
	c.cert, c.mod = &pair, st.ModTime()
	log.Printf("serving certificate for %v loaded (valid until %s)", leaf.DNSNames, leaf.NotAfter.Format(time.RFC3339))
	return c.cert, nil
}

func runWebhook(flags flagMap) {
	cf := &certFiles{dir: flags.get("cert-dir", "/tmp/k8s-webhook-server/serving-certs"), dns: flags.get("dns-name", "localhost")}
	port := flags.get("port", "10250")
	log.Printf("%s: webhook on :%s (allows every AdmissionReview), certificates from %s", banner, port, cf.dir)
	healthz(flags.get("healthz-addr", ":8081"), func() error { _, err := cf.load(); return err })
	serveMetrics(flags.get("metrics-addr", ":8080"))
	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           http.HandlerFunc(admit),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cf.load() },
		},
	}
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// admit answers an AdmissionReview (v1 or v1beta1) with allowed: true.
func admit(w http.ResponseWriter, r *http.Request) {
	var review struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Request    *struct {
			UID       string `json:"uid"`
			Kind      any    `json:"kind"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Operation string `json:"operation"`
		} `json:"request"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&review) != nil || review.Request == nil {
		http.Error(w, "expected a POSTed AdmissionReview", http.StatusBadRequest)
		return
	}
	log.Printf("%s %s %s/%s: allowed (STAND-IN, no validation)", r.URL.Path, review.Request.Operation, review.Request.Namespace, review.Request.Name)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": review.APIVersion,
		"kind":       "AdmissionReview",
		"response": map[string]any{
			"uid":      review.Request.UID,
			"allowed":  true,
			"warnings": []string{"external-secrets webhook STAND-IN (kindops lane): not validated"},
		},
	})
}
