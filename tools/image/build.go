package main

import (
	"archive/tar"
	"bytes"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is the user the Dockerfile's distroless base names "nonroot";
// the chart's securityContext runs as the same uid and gid.
const (
	nonrootID   = 65532
	nonrootUser = "65532:65532"
)

// entry is one file of the layer.
type entry struct {
	name string
	mode int64
	uid  int
	body []byte // nil for a directory
}

// rootfs is the layer: the binary, and what distroless/static gives a
// non-root program that matters to certgate (no shell, no package manager).
func rootfs(bin []byte) []entry {
	return []entry{
		{name: "certgate", mode: 0o755, body: bin},
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, body: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootID},
		{name: "tmp/", mode: 0o1777},
	}
}

// layerTar writes the entries in order with every time set to o.created.
func layerTar(o options, entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: o.created, Format: tar.FormatPAX,
			Typeflag: tar.TypeDir}
		if e.body != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// build assembles the image: OCI media types, one gzip layer, and the
// Dockerfile's ENTRYPOINT ["/certgate"], CMD ["controller"], USER 65532:65532.
func build(o options, bin []byte) (v1.Image, error) {
	raw, err := layerTar(o, rootfs(bin))
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: o.created}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created: created, CreatedBy: "make image (tools/image)", Comment: "certgate " + o.version,
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created, cf.OS, cf.Architecture = created, "linux", o.arch
	cf.Config = v1.Config{
		Entrypoint: []string{"/certgate"},
		Cmd:        []string{"controller"},
		User:       nonrootUser,
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels:     labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotation keys of the image spec, as image labels.
func labels(o options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "certgate",
		"org.opencontainers.image.description": "Kubernetes Gateway API implementation with per-route client certificate pinning",
		"org.opencontainers.image.source":      o.source,
		"org.opencontainers.image.url":         o.source,
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     o.created.Format("2006-01-02T15:04:05Z"),
	}
	if o.revision != "" {
		l["org.opencontainers.image.revision"] = o.revision
	}
	return l
}
