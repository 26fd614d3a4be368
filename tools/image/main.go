// Command image builds certgate's OCI image from a certgate binary, without
// a container engine: one layer holding the binary and the few files a
// non-root static program expects (/etc/passwd, /etc/group, /tmp, the
// user's home), and a config with the Dockerfile's entrypoint, command and
// user. It writes an OCI image layout and, with -tarball, a tarball that
// `docker load` and `kind load image-archive` accept.
//
// Every timestamp (file times, the config's created, the history) is
// -created, so the same binary and flags give the same digest.
//
//	image -binary certgate -ref ghcr.io/certgate/certgate:0.1.0 -layout .cache/image/certgate
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// options are the command line.
type options struct {
	binary   string
	ref      string
	layout   string
	tarball  string
	arch     string
	version  string
	revision string
	source   string
	created  time.Time
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	var created int64
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "the static linux certgate binary to put at /certgate")
	fs.StringVar(&o.ref, "ref", "", "image reference (repository:tag) recorded in the layout and tarball")
	fs.StringVar(&o.layout, "layout", "", "directory to write the OCI image layout to (replaced)")
	fs.StringVar(&o.tarball, "tarball", "", "also write an image tarball here (docker load)")
	fs.StringVar(&o.arch, "arch", "amd64", "GOARCH of the binary")
	fs.StringVar(&o.version, "version", "dev", "certgate version (label org.opencontainers.image.version)")
	fs.StringVar(&o.revision, "revision", "", "source revision (label org.opencontainers.image.revision)")
	fs.StringVar(&o.source, "source", "https://github.com/certgate/certgate", "source repository URL")
	fs.Int64Var(&created, "created", 0, "creation time, Unix seconds (e.g. the commit's, as SOURCE_DATE_EPOCH)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.binary == "" || o.ref == "" || o.layout == "" {
		return o, fmt.Errorf("-binary, -ref and -layout are required")
	}
	o.created = time.Unix(created, 0).UTC()
	return o, nil
}

func run(o options) error {
	ref, err := name.NewTag(o.ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("-ref %q: %w (want repository:tag)", o.ref, err)
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return err
	}
	img, err := build(o, bin)
	if err != nil {
		return err
	}
	if err := writeLayout(o.layout, ref, img); err != nil {
		return err
	}
	if o.tarball != "" {
		if err := tarball.WriteToFile(o.tarball, ref, img); err != nil {
			return fmt.Errorf("writing %s: %w", o.tarball, err)
		}
	}
	return report(ref, img)
}

// writeLayout replaces dir with a layout holding img alone, annotated with
// its reference: org.opencontainers.image.ref.name is the tag (as skopeo's
// oci:DIR:TAG reads it), io.containerd.image.name the whole reference (as
// `ctr import` and the local cluster's node agent read it).
func writeLayout(dir string, ref name.Tag, img v1.Image) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	err = p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          ref.Name(),
	}))
	if err != nil {
		return fmt.Errorf("writing the layout: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func report(ref name.Tag, img v1.Image) error {
	d, err := img.Digest()
	if err != nil {
		return err
	}
	size := int64(0)
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		s, err := l.Size()
		if err != nil {
			return err
		}
		size += s
	}
	fmt.Printf("%s@%s (%s compressed)\n", ref.Name(), d, strings.TrimSpace(humanBytes(size)))
	return nil
}

func humanBytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
