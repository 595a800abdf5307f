package main

// The container's image, from containerd's metadata and content store, as
// the OCI layout `uvm run --image` reads (oci-layout, index.json naming one
// manifest, blobs/sha256/...). Nothing is converted here: `uvm run` turns
// the layer blobs into verity images in its chain-keyed cache.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	contentapi "github.com/containerd/containerd/api/services/content/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/content/proxy"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/pkg/dialer"
	"github.com/containerd/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// maxMetaBlob bounds an index, manifest or config read into memory.
const maxMetaBlob = 4 << 20

// imageSource is where a container's image comes from: containerd's
// containers, images and content services over its gRPC socket.
type imageSource struct {
	conn       *grpc.ClientConn
	containers containersapi.ContainersClient
	images     imagesapi.ImagesClient
	store      content.Store
	contentDir string // containerd's content store on disk, "" if unknown
}

func dialContainerd(ctx context.Context, address, contentDir string) (*imageSource, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, dialer.DialAddress(address),
		grpc.WithInsecure(),
		grpc.WithContextDialer(dialer.ContextDialer),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig}),
		grpc.WithBlock())
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	return &imageSource{
		conn:       conn,
		containers: containersapi.NewContainersClient(conn),
		images:     imagesapi.NewImagesClient(conn),
		store:      proxy.NewContentStore(contentapi.NewContentClient(conn)),
		contentDir: contentDir,
	}, nil
}

func (s *imageSource) Close() { s.conn.Close() }

// imageOf names the image containerd created the container from.
func (s *imageSource) imageOf(ctx context.Context, containerID string) (ocispec.Descriptor, string, error) {
	c, err := s.containers.Get(ctx, &containersapi.GetContainerRequest{ID: containerID})
	if err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("container %s: %w", containerID, errdefs.FromGRPC(err))
	}
	name := c.Container.Image
	if name == "" {
		return ocispec.Descriptor{}, "", fmt.Errorf("container %s has no image (a rootfs without an image cannot run in a UVM: its layers must be measured)", containerID)
	}
	img, err := s.images.Get(ctx, &imagesapi.GetImageRequest{Name: name})
	if err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("image %s of container %s: %w", name, containerID, errdefs.FromGRPC(err))
	}
	t := img.Image.Target
	return ocispec.Descriptor{MediaType: t.MediaType, Digest: t.Digest, Size: t.Size_}, name, nil
}

// manifestOf resolves an index to this platform's manifest.
func (s *imageSource) manifestOf(ctx context.Context, target ocispec.Descriptor) (ocispec.Descriptor, error) {
	for depth := 0; depth < 4; depth++ {
		switch target.MediaType {
		case ocispec.MediaTypeImageManifest, images.MediaTypeDockerSchema2Manifest:
			return target, nil
		case ocispec.MediaTypeImageIndex, images.MediaTypeDockerSchema2ManifestList:
			b, err := s.readSmall(ctx, target)
			if err != nil {
				return target, err
			}
			var idx ocispec.Index
			if err := json.Unmarshal(b, &idx); err != nil {
				return target, fmt.Errorf("index %s: %w", target.Digest, err)
			}
			match := platforms.Default()
			found := false
			for _, m := range idx.Manifests {
				if m.Platform == nil || match.Match(*m.Platform) {
					target, found = m, true
					break
				}
			}
			if !found {
				return target, fmt.Errorf("index %s has no manifest for %s", target.Digest, platforms.DefaultString())
			}
		default:
			return target, fmt.Errorf("image target %s has media type %q, not a manifest or an index", target.Digest, target.MediaType)
		}
	}
	return target, fmt.Errorf("image target %s: indexes nested too deep", target.Digest)
}

func (s *imageSource) readSmall(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size < 0 || desc.Size > maxMetaBlob {
		return nil, fmt.Errorf("blob %s of %d bytes: more than the %d allowed for an index, manifest or config", desc.Digest, desc.Size, maxMetaBlob)
	}
	b, err := content.ReadBlob(ctx, s.store, desc)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", desc.Digest, err)
	}
	if digest.FromBytes(b) != desc.Digest {
		return nil, fmt.Errorf("blob %s: content does not match its digest", desc.Digest)
	}
	return b, nil
}

// writeLayout writes the image of containerID as an OCI layout in dir (which
// must not exist) and returns the image's name.
func (s *imageSource) writeLayout(ctx context.Context, containerID, dir string) (string, error) {
	target, name, err := s.imageOf(ctx, containerID)
	if err != nil {
		return "", err
	}
	mdesc, err := s.manifestOf(ctx, target)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", name, err)
	}
	mbytes, err := s.readSmall(ctx, mdesc)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", name, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mbytes, &m); err != nil {
		return "", fmt.Errorf("image %s: manifest %s: %w", name, mdesc.Digest, err)
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return "", err
	}
	if err := writeBlob(blobs, mdesc.Digest, mbytes); err != nil {
		return "", err
	}
	cbytes, err := s.readSmall(ctx, m.Config)
	if err != nil {
		return "", fmt.Errorf("image %s: config: %w", name, err)
	}
	if err := writeBlob(blobs, m.Config.Digest, cbytes); err != nil {
		return "", err
	}
	for _, l := range m.Layers {
		if err := s.placeLayer(ctx, blobs, l); err != nil {
			return "", fmt.Errorf("image %s: layer %s: %w", name, l.Digest, err)
		}
	}
	index := ocispec.Index{Manifests: []ocispec.Descriptor{{
		MediaType: ocispec.MediaTypeImageManifest, Digest: mdesc.Digest, Size: int64(len(mbytes)),
	}}}
	index.SchemaVersion = 2
	ib, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), ib, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o600); err != nil {
		return "", err
	}
	return name, nil
}

// containerdLayout writes the layout of a container's image, fetched from
// the containerd at address.
func containerdLayout(address, contentDir, containerID string) func(context.Context, string) error {
	return func(ctx context.Context, dir string) error {
		src, err := dialContainerd(ctx, address, contentDir)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = src.writeLayout(ctx, containerID, dir)
		return err
	}
}

func writeBlob(blobs string, d digest.Digest, b []byte) error {
	if err := d.Validate(); err != nil || d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("digest %q: not sha256", d)
	}
	return os.WriteFile(filepath.Join(blobs, d.Encoded()), b, 0o400)
}

// placeLayer hard-links the layer from containerd's content store when it
// is on the same file system (no copy: the blob is immutable, named by its
// digest, and `uvm run` checks the digest as it converts), else copies it
// through the content API, checking its digest.
func (s *imageSource) placeLayer(ctx context.Context, blobs string, l ocispec.Descriptor) error {
	if err := l.Digest.Validate(); err != nil || l.Digest.Algorithm() != digest.SHA256 {
		return fmt.Errorf("digest %q: not sha256", l.Digest)
	}
	dst := filepath.Join(blobs, l.Digest.Encoded())
	if s.contentDir != "" {
		src := filepath.Join(s.contentDir, "blobs", "sha256", l.Digest.Encoded())
		if err := os.Link(src, dst); err == nil {
			return nil
		}
	}
	ra, err := s.store.ReaderAt(ctx, l)
	if err != nil {
		return err
	}
	defer ra.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return err
	}
	h := digest.SHA256.Digester()
	n, err := io.Copy(io.MultiWriter(f, h.Hash()), io.NewSectionReader(ra, 0, ra.Size()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != l.Size || h.Digest() != l.Digest {
		return fmt.Errorf("copied %d bytes with digest %s; the manifest says %d bytes, %s", n, h.Digest(), l.Size, l.Digest)
	}
	return nil
}
