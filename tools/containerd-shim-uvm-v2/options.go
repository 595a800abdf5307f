package main

// Runtime options. containerd hands a shim its runtime's options as a
// runtimeoptions.v1.Options (from the CRI plugin's
// `[...containerd.runtimes.uvm.options] ConfigPath = "..."`, or from
// `ctr run --runtime-config-path`) on the stdin of `containerd-shim-uvm-v2
// start`, and again in CreateTaskRequest.Options when the client gives task
// options. Only ConfigPath is used: it names this shim's TOML file
// (docs/kubernetes.md, tools/containerd-shim-uvm-v2/uvm-shim.toml).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	runtimeoptions "github.com/containerd/containerd/pkg/runtimeoptions/v1"
	"github.com/containerd/typeurl"
	"github.com/gogo/protobuf/proto"
	ptypes "github.com/gogo/protobuf/types"
)

// defaultConfigPath is read when containerd gives no ConfigPath.
const defaultConfigPath = "/etc/uvm/containerd-shim-uvm-v2.toml"

// configPathEnv carries the ConfigPath from `start` to the shim's server
// process (the one containerd talks to), which does not see the options.
const configPathEnv = "UVM_SHIM_CONFIG"

// Config is the shim's TOML file.
type Config struct {
	// Uvm is the `uvm` binary (default: `uvm` on PATH).
	Uvm string `toml:"uvm"`
	// LaunchArgs go to `uvm run` as --launch-arg each, e.g.
	// ["--image=/usr/share/uvm/image", "--snp"] on an SNP host or
	// ["--image=out/image-test"] for the test flavour under TCG.
	LaunchArgs []string `toml:"launch_args"`
	// LayerCache is `uvm run --layer-cache` (chain-keyed, shared by sandboxes).
	LayerCache string `toml:"layer_cache"`
	// RunDir holds one directory per sandbox: the OCI layout, the policy, the
	// control socket and `uvm run`'s work directory (short: unix socket paths
	// are limited to 107 bytes).
	RunDir string `toml:"run_dir"`
	// ContentDir is containerd's content store
	// (ROOT/io.containerd.content.v1.content). Layer blobs found there are
	// hard-linked into the layout instead of copied through the content API.
	ContentDir string `toml:"content_dir"`
	// CreateTimeout bounds boot, layer conversion, binding and create.
	CreateTimeout duration `toml:"create_timeout"`
	// ShutdownTimeout bounds `shutdown` until `uvm run` has exited; then it is killed.
	ShutdownTimeout duration `toml:"shutdown_timeout"`
}

type duration struct{ time.Duration }

func (d *duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func defaultConfig() Config {
	return Config{
		Uvm:             "uvm",
		LayerCache:      "/var/cache/uvm/layers",
		RunDir:          "/run/uvm-shim",
		ContentDir:      "/var/lib/containerd/io.containerd.content.v1.content",
		CreateTimeout:   duration{5 * time.Minute},
		ShutdownTimeout: duration{2 * time.Minute},
	}
}

// loadConfig reads path (or the default path, if it exists) over the
// defaults. Unknown keys are an error, so a typo does not go unnoticed.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	if path == "" {
		if _, err := os.Stat(defaultConfigPath); err != nil {
			return cfg, nil
		}
		path = defaultConfigPath
	}
	md, err := toml.DecodeFile(path, &cfg)
	if err != nil {
		return cfg, fmt.Errorf("shim config %s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("shim config %s: unknown keys %s", path, strings.Join(keys, ", "))
	}
	for _, p := range []*string{&cfg.LayerCache, &cfg.RunDir, &cfg.ContentDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			return cfg, fmt.Errorf("shim config %s: %q is not an absolute path", path, *p)
		}
	}
	if cfg.RunDir == "" {
		return cfg, fmt.Errorf("shim config %s: run_dir is empty", path)
	}
	return cfg, nil
}

// configPathOf returns the ConfigPath of runtime options, "" if there are none.
func configPathOf(opts *ptypes.Any) (string, error) {
	if opts == nil || len(opts.Value) == 0 {
		return "", nil
	}
	v, err := typeurl.UnmarshalAny(opts)
	if err != nil {
		return "", fmt.Errorf("runtime options of type %s: %w", opts.TypeUrl, err)
	}
	o, ok := v.(*runtimeoptions.Options)
	if !ok {
		return "", fmt.Errorf("runtime options of type %s: want runtimeoptions.v1.Options (ConfigPath)", opts.TypeUrl)
	}
	return o.ConfigPath, nil
}

// configPathOfBytes decodes the protobuf Any that `start` reads on stdin.
func configPathOfBytes(data []byte) (string, error) {
	if len(data) == 0 {
		return "", nil
	}
	var any ptypes.Any
	if err := proto.Unmarshal(data, &any); err != nil {
		return "", fmt.Errorf("runtime options on stdin: %w", err)
	}
	return configPathOf(&any)
}
