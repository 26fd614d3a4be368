package node

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// OCIImage is an image from an OCI image layout (`make image` writes
// certgate's), unpacked once into a root filesystem that every container
// of the image shares read-only (each gets an overlay over it).
type OCIImage struct {
	// Name is the repository ("ghcr.io/certgate/certgate") and Tag its tag,
	// from the manifest's io.containerd.image.name annotation.
	Name, Tag string
	// Digest is the manifest's digest ("sha256:…"); a Pod naming the image
	// by digest must name this one.
	Digest string
	// Rootfs is the unpacked filesystem.
	Rootfs string
	// Config is the image's runtime configuration.
	Config ImageConfig
}

// ImageConfig is the part of an OCI image config a container runs by.
type ImageConfig struct {
	User       string   `json:"User"`
	Env        []string `json:"Env"`
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
	WorkingDir string   `json:"WorkingDir"`
}

// Ref is the image's repository:tag.
func (im *OCIImage) Ref() string { return im.Name + ":" + im.Tag }

// Matches reports whether ref names this image: its repository with its
// tag, its digest, or both (which must then agree). A bare repository
// means the tag "latest", as for a registry.
func (im *OCIImage) Matches(ref string) bool {
	name, digest, _ := strings.Cut(ref, "@")
	tag := "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	if name != im.Name || (digest != "" && digest != im.Digest) {
		return false
	}
	return digest != "" || tag == im.Tag
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
}

const imageNameAnnotation = "io.containerd.image.name"

// LoadOCIImages reads every image of the layout at dir that carries an
// io.containerd.image.name annotation and unpacks it under unpackDir
// (once per digest: a directory already unpacked is reused).
func LoadOCIImages(dir, unpackDir string) ([]*OCIImage, error) {
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := readJSON(filepath.Join(dir, "index.json"), &index); err != nil {
		return nil, fmt.Errorf("OCI layout %s (build it with make image): %w", dir, err)
	}
	var out []*OCIImage
	for _, d := range index.Manifests {
		ref := d.Annotations[imageNameAnnotation]
		if ref == "" {
			continue
		}
		im, err := loadImage(dir, d, ref, unpackDir)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s, image %s: %w", dir, ref, err)
		}
		out = append(out, im)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("OCI layout %s has no image annotated %s", dir, imageNameAnnotation)
	}
	return out, nil
}

func loadImage(dir string, d descriptor, ref, unpackDir string) (*OCIImage, error) {
	i := strings.LastIndex(ref, ":")
	if i < strings.LastIndex(ref, "/") || i < 0 {
		return nil, fmt.Errorf("reference %q has no tag", ref)
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := readBlobJSON(dir, d, &manifest); err != nil {
		return nil, err
	}
	var config struct {
		Config ImageConfig `json:"config"`
	}
	if err := readBlobJSON(dir, manifest.Config, &config); err != nil {
		return nil, err
	}
	im := &OCIImage{Name: ref[:i], Tag: ref[i+1:], Digest: d.Digest, Config: config.Config,
		Rootfs: filepath.Join(unpackDir, strings.ReplaceAll(d.Digest, ":", "-"), "rootfs")}
	done := filepath.Join(filepath.Dir(im.Rootfs), "unpacked")
	if _, err := os.Stat(done); err == nil {
		return im, nil
	}
	if err := unpack(dir, manifest.Layers, im.Rootfs); err != nil {
		return nil, err
	}
	return im, os.WriteFile(done, nil, 0o644)
}

// blobPath is where a layout keeps a blob; the digest is checked when read.
func blobPath(dir, digest string) (string, error) {
	alg, hexd, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || len(hexd) != 64 || strings.ContainsAny(hexd, "/.") {
		return "", fmt.Errorf("unsupported digest %q (only sha256)", digest)
	}
	return filepath.Join(dir, "blobs", alg, hexd), nil
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func readBlobJSON(dir string, d descriptor, v any) error {
	p, err := blobPath(dir, d.Digest)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(b); "sha256:"+hex.EncodeToString(sum[:]) != d.Digest {
		return fmt.Errorf("blob %s does not match its digest", d.Digest)
	}
	return json.Unmarshal(b, v)
}

// unpack applies the layers in order into a fresh rootfs, honouring
// whiteouts, each layer checked against its digest.
func unpack(dir string, layers []descriptor, rootfs string) error {
	tmp := rootfs + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, l := range layers {
		if err := applyLayer(dir, l, tmp); err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	if err := os.RemoveAll(rootfs); err != nil {
		return err
	}
	return os.Rename(tmp, rootfs)
}

func applyLayer(dir string, l descriptor, rootfs string) error {
	p, err := blobPath(dir, l.Digest)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sum := sha256.New()
	r := io.TeeReader(f, sum)
	switch {
	case strings.HasSuffix(l.MediaType, "+gzip") || strings.HasSuffix(l.MediaType, ".gzip"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = zr
	case strings.HasSuffix(l.MediaType, ".tar") || strings.HasSuffix(l.MediaType, "tar"):
	default:
		return fmt.Errorf("unsupported layer media type %q", l.MediaType)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }()
	if err := extract(tar.NewReader(r), root); err != nil {
		return err
	}
	return checkDigest(f, sum, l.Digest)
}

// checkDigest reads what the decompressor left and compares the digest.
func checkDigest(f io.Reader, sum hash.Hash, digest string) error {
	if _, err := io.Copy(sum, f); err != nil {
		return err
	}
	if "sha256:"+hex.EncodeToString(sum.Sum(nil)) != digest {
		return errors.New("content does not match its digest")
	}
	return nil
}

// extract writes a layer's entries through root, which keeps every path
// (and symlink target followed) inside the rootfs.
func extract(tr *tar.Reader, root *os.Root) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		if err := extractEntry(tr, root, h, name); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

func extractEntry(tr *tar.Reader, root *os.Root, h *tar.Header, name string) error {
	base, parent := path.Base(name), path.Dir(name)
	if parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	switch {
	case base == ".wh..wh..opq":
		return clearDir(root, parent)
	case strings.HasPrefix(base, ".wh."):
		return root.RemoveAll(path.Join(parent, strings.TrimPrefix(base, ".wh.")))
	}
	mode := fs.FileMode(h.Mode).Perm()
	if h.Mode&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if h.Mode&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if h.Mode&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	var err error
	switch h.Typeflag {
	case tar.TypeDir:
		err = root.Mkdir(name, 0o755)
		if errors.Is(err, fs.ErrExist) {
			err = nil
		}
	case tar.TypeReg:
		err = writeEntry(root, name, tr)
	case tar.TypeSymlink:
		_ = root.RemoveAll(name)
		return root.Symlink(h.Linkname, name)
	case tar.TypeLink:
		_ = root.RemoveAll(name)
		return root.Link(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"), name)
	default:
		return nil // devices and fifos: a container gets its own /dev
	}
	if err != nil {
		return err
	}
	if err := root.Lchown(name, h.Uid, h.Gid); err != nil {
		return err
	}
	return root.Chmod(name, mode)
}

func writeEntry(root *os.Root, name string, r io.Reader) error {
	_ = root.RemoveAll(name)
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func clearDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := root.RemoveAll(path.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}
