package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestSameInputsSameDigest: building twice from the same binary and flags
// writes layouts with the same image digest, and the image carries the
// Dockerfile's entrypoint, command and user.
func TestSameInputsSameDigest(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "certgate")
	if err := os.WriteFile(bin, []byte("#!not really a binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, out := range []string{"a", "b"} {
		o := options{binary: bin, ref: "ghcr.io/certgate/certgate:0.1.0", layout: filepath.Join(dir, out),
			arch: "amd64", version: "v0.1.0", created: time.Unix(1700000000, 0).UTC()}
		if err := run(o); err != nil {
			t.Fatal(err)
		}
		idx, err := layout.ImageIndexFromPath(o.layout)
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != 1 || m.Manifests[0].Annotations["io.containerd.image.name"] != o.ref {
			t.Fatalf("index %+v, want one image named %s", m.Manifests, o.ref)
		}
		digests = append(digests, m.Manifests[0].Digest.String())
		img, err := idx.Image(m.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if c := cf.Config; len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/certgate" || len(c.Cmd) != 1 || c.Cmd[0] != "controller" ||
			c.User != "65532:65532" || c.Labels["org.opencontainers.image.version"] != "v0.1.0" || !cf.Created.Equal(o.created) {
			t.Errorf("config %+v created %v", c, cf.Created)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds gave %s and %s", digests[0], digests[1])
	}
}
