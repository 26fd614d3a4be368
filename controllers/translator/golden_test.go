package translator

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/internal/testpki"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the current output")

// goldenNow is the translation time of every golden scenario.
var goldenNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestGolden translates each testdata/NAME.in.yaml and compares the result
// with testdata/NAME.out.yaml.
//
// Inputs never hold key material: they name certificates with template
// functions, and the test generates them (see pkiFuncs). In the output,
// every generated certificate, key and pin is replaced by its name again,
// so the expected files read as configuration, not base64.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden scenarios in testdata/")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			got := translateFile(t, in)
			want := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test ./controllers/translator -update to create it)", err)
			}
			if !bytes.Equal(got, expected) {
				t.Errorf("%s differs from the translation (run with -update to accept); -want +got:\n%s", want, goldenDiff(t, expected, got))
			}
		})
	}
}

// translateFile renders, decodes and translates one scenario, and returns
// the result as YAML with generated material replaced by names.
func translateFile(t *testing.T, path string) []byte {
	t.Helper()
	p := newGoldenPKI(t)
	res := goldenResources(t, path, p)
	opts := goldenOptions(t, path)
	result := Translate(res, opts)
	// Twice, to prove the output does not depend on anything but the input.
	again := Translate(res, opts)
	first, _ := json.Marshal(result)
	second, _ := json.Marshal(again)
	if !bytes.Equal(first, second) {
		t.Fatal("two translations of the same input differ")
	}
	omitSupportedFeatures(result)
	out, err := yaml.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(p.redact(string(out)))
}

// omitSupportedFeatures blanks every GatewayClass's supportedFeatures that
// is the full list: it is the same for every accepted class, and
// TestGatewayClassReportsTheSupportedFeatures checks it once instead of
// every golden output repeating it. A class reporting any other list keeps
// it, so the golden output shows the difference.
func omitSupportedFeatures(result *Result) {
	for i := range result.Status.GatewayClasses {
		st := &result.Status.GatewayClasses[i].Status
		if gocmp.Equal(st.SupportedFeatures, supportedFeatureList()) {
			st.SupportedFeatures = nil
		}
	}
}

// TestGatewayClassReportsTheSupportedFeatures checks the supportedFeatures
// an accepted GatewayClass reports, sorted by name, the list the golden
// outputs leave out. Claiming a feature changes what the conformance suite
// runs, so the list is spelled out here and a change to it shows in review.
func TestGatewayClassReportsTheSupportedFeatures(t *testing.T) {
	res := &resources.Resources{}
	for _, o := range withBase(t, nil) {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	classes := Translate(res, Options{Now: goldenNow}).Status.GatewayClasses
	if len(classes) != 1 {
		t.Fatalf("got %d GatewayClass statuses, want the base class's only", len(classes))
	}
	var got []string
	for _, f := range classes[0].Status.SupportedFeatures {
		got = append(got, string(f.Name))
	}
	want := []string{
		"BackendTLSPolicy",
		"BackendTLSPolicySANValidation",
		"GRPCRoute",
		"GRPCRouteNamedRouteRule",
		"Gateway",
		"GatewayBackendClientCertificate",
		"GatewayFrontendClientCertificateValidation",
		"GatewayFrontendClientCertificateValidationInsecureFallback",
		"GatewayHTTPListenerIsolation",
		"GatewayPort8080",
		"HTTPRoute",
		"HTTPRoute303RedirectStatusCode",
		"HTTPRoute307RedirectStatusCode",
		"HTTPRoute308RedirectStatusCode",
		"HTTPRouteBackendProtocolH2C",
		"HTTPRouteBackendProtocolWebSocket",
		"HTTPRouteBackendTimeout",
		"HTTPRouteCORS",
		"HTTPRouteHostRewrite",
		"HTTPRouteMethodMatching",
		"HTTPRouteNamedRouteRule",
		"HTTPRouteParentRefPort",
		"HTTPRoutePathRedirect",
		"HTTPRoutePathRewrite",
		"HTTPRoutePortRedirect",
		"HTTPRouteQueryParamMatching",
		"HTTPRouteRequestMirror",
		"HTTPRouteRequestMultipleMirrors",
		"HTTPRouteRequestPercentageMirror",
		"HTTPRouteRequestTimeout",
		"HTTPRouteResponseHeaderModification",
		"HTTPRouteRetry",
		"HTTPRouteRetryBackendTimeout",
		"HTTPRouteRetryConnectionError",
		"HTTPRouteSchemeRedirect",
		"ReferenceGrant",
		"TLSRoute",
		"TLSRouteModeMixed",
		"TLSRouteModeTerminate",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("supportedFeatures (-want +got):\n%s", diff)
	}
}

// goldenOptions are the translation options of one scenario: Now is
// goldenNow, and the settings in NAME.options.yaml, when that file exists,
// say which mode the scenario translates in.
func goldenOptions(t *testing.T, in string) Options {
	t.Helper()
	opts := Options{Now: goldenNow}
	raw, err := os.ReadFile(strings.TrimSuffix(in, ".in.yaml") + ".options.yaml")
	if errors.Is(err, os.ErrNotExist) {
		return opts
	}
	var settings struct {
		ServicePerGateway bool   `json:"servicePerGateway"`
		ServiceNamespace  string `json:"serviceNamespace"`
	}
	if err == nil {
		err = yaml.UnmarshalStrict(raw, &settings)
	}
	if err != nil {
		t.Fatal(err)
	}
	opts.ServicePerGateway = settings.ServicePerGateway
	opts.ServiceNamespace = settings.ServiceNamespace
	return opts
}

// goldenResources renders one golden input with p's certificates and
// decodes it into sorted resources.
func goldenResources(t *testing.T, path string, p *goldenPKI) *resources.Resources {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(filepath.Base(path)).Funcs(p.funcs()).Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var rendered bytes.Buffer
	if err := tmpl.Execute(&rendered, nil); err != nil {
		t.Fatal(err)
	}
	objs, err := resources.Decode(path, rendered.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	res := &resources.Resources{}
	for _, o := range withBase(t, objs) {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	return res
}

// goldenBase is the file every scenario extends.
const goldenBase = "testdata/base.yaml"

// withBase adds to a scenario's objects those of goldenBase whose kind
// the scenario does not declare: a scenario that declares a GatewayClass
// of its own (another controller, another name, no generation) replaces
// the base's, and one that does not gets it.
func withBase(t *testing.T, objs []client.Object) []client.Object {
	t.Helper()
	raw, err := os.ReadFile(goldenBase)
	if err != nil {
		t.Fatal(err)
	}
	base, err := resources.Decode(goldenBase, raw)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, o := range objs {
		declared[fmt.Sprintf("%T", o)] = true
	}
	for _, o := range base {
		if !declared[fmt.Sprintf("%T", o)] {
			objs = append(objs, o)
		}
	}
	return objs
}

// goldenPKI generates the certificates a scenario names, once each.
type goldenPKI struct {
	t     *testing.T
	cas   map[string]*testpki.CA
	certs map[string]*testpki.Cert
	// names maps generated text (PEM, base64 PEM, pins) back to a name.
	names map[string]string
}

func newGoldenPKI(t *testing.T) *goldenPKI {
	return &goldenPKI{t: t, cas: map[string]*testpki.CA{}, certs: map[string]*testpki.Cert{}, names: map[string]string{}}
}

// funcs are the template functions of golden inputs:
//
//	{{ certPEM "name" }}   base64 PEM of a leaf issued by CA "ca" (for Secret data)
//	{{ keyPEM "name" }}    base64 PEM private key of that leaf (for Secret data)
//	{{ caPEM "name" }}     a quoted YAML string with CA "name"'s PEM (for ConfigMap data)
//	{{ caPEM64 "name" }}   base64 of CA "name"'s PEM (for Secret data)
//	{{ leafPEM "name" }}   a quoted YAML string with leaf "name"'s PEM (for ConfigMap data)
//	{{ leafAndKeyPEM "name" }}, {{ leafAndCAPEM "name" }} the same followed by
//	                       its private key, or by the PEM of CA "ca"
//	{{ pin "alg" "name" }} the pin line of leaf "name": alg is sha256, sha1 or spki-sha256
//	{{ digest "alg" "name" }} the digest alone, as a policy's pins field takes it
//	{{ colons X }}, {{ spaced X }}, {{ upper X }} format a hex digest as
//	                       browsers ("9F:86:…") and Windows ("9f 86 …") show it
//	{{ windows X }}        X spaced, behind the invisible U+200E mark that the
//	                       Windows certificate dialog puts in front of a copied thumbprint
//
// A leaf whose name starts with "expired" expired before goldenNow.
func (p *goldenPKI) funcs() template.FuncMap {
	return template.FuncMap{
		"certPEM": func(name string) string { p.pinNames(name); return p.b64(p.cert(name).CertPEM, "cert "+name) },
		"leafPEM": func(name string) string { p.pinNames(name); return quoted(p.cert(name).CertPEM) },
		"leafAndKeyPEM": func(name string) string {
			p.pinNames(name)
			return quoted(append(slices.Clone(p.cert(name).CertPEM), p.cert(name).KeyPEM...))
		},
		"leafAndCAPEM": func(name string) string {
			p.pinNames(name)
			return quoted(append(slices.Clone(p.cert(name).CertPEM), p.ca("ca").PEM...))
		},
		"keyPEM": func(name string) string { return p.b64(p.cert(name).KeyPEM, "key "+name) },
		"caPEM": func(name string) string {
			pemText := string(p.ca(name).PEM)
			p.names[base64.StdEncoding.EncodeToString(p.ca(name).PEM)] = "[ca " + name + "]"
			quoted, _ := json.Marshal(pemText)
			return string(quoted)
		},
		"caPEM64": func(name string) string { return p.b64(p.ca(name).PEM, "ca "+name) },
		"digest": func(alg, name string) string {
			_, digest, _ := strings.Cut(p.pinLine(alg, name), ":")
			return digest
		},
		"colons":  func(hex string) string { return strings.ToUpper(pairs(hex, ":")) },
		"spaced":  func(hex string) string { return pairs(hex, " ") },
		"upper":   strings.ToUpper,
		"windows": func(hex string) string { return "\u200e" + pairs(hex, " ") },
		"pin":     p.pinLine,
	}
}

// pinLine returns the pin line of leaf name and remembers its text for
// redaction.
func (p *goldenPKI) pinLine(alg, name string) string {
	for _, pp := range pin.Of(p.cert(name).Leaf).Pins() {
		if string(pp.Algorithm) == alg {
			p.names[pp.String()] = string(pp.Algorithm) + ":[" + name + "]"
			p.names[hex.EncodeToString(pp.Digest)] = "[" + alg + " " + name + "]"
			return pp.String()
		}
	}
	p.t.Fatalf("unknown pin algorithm %q", alg)
	return ""
}

// pinNames remembers the pins of leaf name for redaction, for inputs that
// give its certificate and let the translator compute the pins.
func (p *goldenPKI) pinNames(name string) {
	for _, alg := range []string{"sha256", "sha1", "spki-sha256"} {
		p.pinLine(alg, name)
	}
}

// quoted writes text as a quoted YAML (JSON) string.
func quoted(text []byte) string {
	out, _ := json.Marshal(string(text))
	return string(out)
}

// pairs writes a hex digest as two-digit groups joined by sep.
func pairs(hex, sep string) string {
	var groups []string
	for i := 0; i+1 < len(hex); i += 2 {
		groups = append(groups, hex[i:i+2])
	}
	return strings.Join(groups, sep)
}

func (p *goldenPKI) b64(data []byte, name string) string {
	enc := base64.StdEncoding.EncodeToString(data)
	p.names[enc] = "[" + name + "]"
	return enc
}

func (p *goldenPKI) ca(name string) *testpki.CA {
	if ca, ok := p.cas[name]; ok {
		return ca
	}
	ca := testpki.NewCAWith(p.t, testpki.CAOptions{Name: name, NotBefore: goldenNow.AddDate(-1, 0, 0), NotAfter: goldenNow.AddDate(5, 0, 0)})
	p.cas[name] = ca
	return ca
}

func (p *goldenPKI) cert(name string) *testpki.Cert {
	if c, ok := p.certs[name]; ok {
		return c
	}
	opts := testpki.Options{CommonName: name, DNSNames: []string{name + ".example.com"}, NotBefore: goldenNow.AddDate(0, -1, 0), NotAfter: goldenNow.AddDate(1, 0, 0)}
	if strings.HasPrefix(name, "expired") {
		opts.NotBefore, opts.NotAfter = goldenNow.AddDate(-1, 0, 0), goldenNow.AddDate(0, -1, 0)
	}
	c := p.ca("ca").Issue(p.t, opts)
	p.certs[name] = c
	return c
}

// redact replaces every generated text in out by its name. The snapshot
// holds PEM as base64 (JSON's encoding of []byte), which is what the
// b64 entries match.
//
// Longer texts are replaced first, in a fixed order: a pin line
// ("sha1:<hex>") contains its hex digest, which has a name of its own, so
// map order would otherwise decide between "sha1:[x]" and "sha1:[sha1 x]"
// and the expected files would differ from run to run.
func (p *goldenPKI) redact(out string) string {
	texts := make([]string, 0, len(p.names))
	for text := range p.names {
		texts = append(texts, text)
	}
	slices.SortFunc(texts, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b)) })
	for _, text := range texts {
		out = strings.ReplaceAll(out, text, p.names[text])
	}
	return out
}

// goldenDiff is a structural diff of two golden outputs: the path to each
// field that differs, not a list of shifted lines.
func goldenDiff(t *testing.T, want, got []byte) string {
	t.Helper()
	var w, g any
	if err := yaml.Unmarshal(want, &w); err != nil {
		t.Fatalf("the expected output is not YAML: %v", err)
	}
	if err := yaml.Unmarshal(got, &g); err != nil {
		t.Fatalf("the translation is not YAML: %v", err)
	}
	if diff := gocmp.Diff(w, g); diff != "" {
		return diff
	}
	return gocmp.Diff(string(want), string(got)) // same data, different text
}
