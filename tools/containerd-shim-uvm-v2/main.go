// containerd-shim-uvm-v2: containerd's runtime v2 shim for io.containerd.uvm.v2.
// One confidential UVM per sandbox, run by `uvm run --control`
// (docs/sandbox.md); this program translates containerd's task API into
// that socket's requests (docs/kubernetes.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"
)

const runtimeName = "io.containerd.uvm.v2"

func main() {
	shim.Run(runtimeName, newService)
}

// startShim starts this binary as the shim's server, listening on the
// socket containerd expects for the sandbox, and returns the address. A
// pod's app container joins the shim its pod's sandbox container started
// (pod.go): that shim's address is returned and nothing is started. The
// runtime options containerd writes on stdin (ConfigPath) reach the server
// in its environment.
func startShim(ctx context.Context, opts shim.StartOpts) (_ string, retErr error) {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		return "", err
	}
	configPath, err := configPathOfBytes(data)
	if err != nil {
		return "", err
	}
	if configPath == "" {
		configPath = os.Getenv(configPathEnv) // containerd's own environment
	}
	if _, err := loadConfig(configPath); err != nil {
		return "", err // say it now, not at the first create
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	spec, err := readBundleSpec(cwd) // containerd runs `start` in the task's bundle
	if err != nil {
		return "", err
	}
	group, join, err := shimGroup(spec.Annotations, opts.ID)
	if err != nil {
		return "", err
	}
	address, err := shim.SocketAddress(ctx, opts.Address, group)
	if err != nil {
		return "", err
	}
	if join {
		return joinShim(address, group, opts.ID)
	}
	socket, err := shim.NewSocket(address)
	if err != nil {
		if !shim.SocketEaddrinuse(err) {
			return "", fmt.Errorf("create shim socket %s: %w", address, err)
		}
		if shim.CanConnect(address) {
			return "", fmt.Errorf("a shim already serves %s for task %s", address, opts.ID)
		}
		if err := shim.RemoveSocket(address); err != nil {
			return "", fmt.Errorf("remove stale shim socket %s: %w", address, err)
		}
		if socket, err = shim.NewSocket(address); err != nil {
			return "", fmt.Errorf("create shim socket %s: %w", address, err)
		}
	}
	defer func() {
		if retErr != nil {
			socket.Close()
			_ = shim.RemoveSocket(address)
		}
	}()
	if err := shim.WriteAddress("address", address); err != nil {
		return "", err
	}
	f, err := socket.File()
	if err != nil {
		return "", err
	}
	defer f.Close()
	args := []string{"-namespace", ns, "-id", opts.ID, "-address", opts.Address}
	if opts.Debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), configPathEnv+"="+configPath)
	cmd.ExtraFiles = []*os.File{f} // fd 3: the ttrpc socket
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go cmd.Wait()
	if err := shim.AdjustOOMScore(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return "", fmt.Errorf("adjust the shim's OOM score: %w", err)
	}
	return address, nil
}
