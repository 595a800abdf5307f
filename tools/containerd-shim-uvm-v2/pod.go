package main

// Kubernetes pods (docs/kubernetes.md "Pods"). The CRI plugin runs a pod as
// a sandbox container (the pause container) and then the pod's app
// containers, each a task of its own, all carrying the pod's id in the
// annotation io.kubernetes.cri.sandbox-id. As runc's and Kata's shims do,
// one shim process serves a whole pod: `start` of an app container returns
// the address of the shim its pod's sandbox container started, computed
// from the pod's id. A task without the CRI annotations (a plain `ctr run`)
// is its own group, as before.
//
// The sandbox container is a task of this process only: no UVM, no image,
// no policy. It is "running" from Start until a signal ends it (Wait then
// returns 128+signal), which is all the CRI plugin's pod lifecycle needs.
// This is safe: it runs nothing anywhere, so it needs nothing the tenant's
// policy would have to allow; every process that runs, runs in the pod's
// UVM under that policy (the app container, launched by `uvm run` with
// HOST_DATA = the policy's hash, exactly as a plain container); and the
// host, which plays this task, can stop any pod anyway (it owns QEMU), so a
// fake pause process gives it no power it lacks.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/runtime/v2/shim"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The CRI plugin's annotations (containerd's pkg/cri/annotations).
const (
	containerTypeAnnotation = "io.kubernetes.cri.container-type"
	sandboxIDAnnotation     = "io.kubernetes.cri.sandbox-id"
	containerTypeSandbox    = "sandbox"
	containerTypeContainer  = "container"
)

type bundleSpec struct {
	Annotations map[string]string `json:"annotations"`
	Process     *specs.Process    `json:"process"`
}

// readBundleSpec reads what the shim uses of a bundle's config.json.
func readBundleSpec(bundle string) (*bundleSpec, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, err
	}
	var spec bundleSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("bundle %s: config.json: %w", bundle, err)
	}
	return &spec, nil
}

// isPause says whether a task is a pod's sandbox container.
func isPause(annotations map[string]string) bool {
	return annotations[containerTypeAnnotation] == containerTypeSandbox
}

// podOf is the pod a task belongs to ("" for a task outside any pod).
func podOf(annotations map[string]string) string {
	if annotations[containerTypeAnnotation] == "" {
		return ""
	}
	return annotations[sandboxIDAnnotation]
}

// shimGroup says which shim serves task id: group is the id its socket
// address is computed from (shim.SocketAddress), and join says the task
// joins a shim that must already be running (an app container joins its
// pod's), rather than starting one.
func shimGroup(annotations map[string]string, id string) (group string, join bool, err error) {
	sandboxID := annotations[sandboxIDAnnotation]
	switch annotations[containerTypeAnnotation] {
	case "":
		return id, false, nil // not CRI: a container is its own sandbox
	case containerTypeSandbox:
		if sandboxID == "" {
			sandboxID = id
		}
		return sandboxID, false, nil
	case containerTypeContainer:
		if sandboxID == "" {
			return "", false, fmt.Errorf("task %s: annotation %s=%s without %s: which pod is it in?",
				id, containerTypeAnnotation, containerTypeContainer, sandboxIDAnnotation)
		}
		return sandboxID, true, nil
	default:
		return "", false, fmt.Errorf("task %s: unknown %s %q (want %s or %s)", id, containerTypeAnnotation,
			annotations[containerTypeAnnotation], containerTypeSandbox, containerTypeContainer)
	}
}

// joinShim returns the address of the running shim of pod for task id, and
// notes it in the task's bundle (the working directory), as a shim started
// for it would.
func joinShim(address, pod, id string) (string, error) {
	if !shim.CanConnect(address) {
		return "", fmt.Errorf("task %s: pod %s has no shim at %s: its sandbox container (%s=%s) must be created first",
			id, pod, address, containerTypeAnnotation, containerTypeSandbox)
	}
	if err := shim.WriteAddress("address", address); err != nil {
		return "", err
	}
	return address, nil
}

// pauseIgnores says whether a signal leaves the pause container running:
// those whose default action is to ignore them. Any other signal ends it,
// as it ends the pause process (which exits on SIGINT and SIGTERM).
func pauseIgnores(sig uint32) bool {
	switch syscall.Signal(sig) {
	case syscall.SIGCHLD, syscall.SIGCONT, syscall.SIGURG, syscall.SIGWINCH:
		return true
	}
	return false
}

// openOutputs opens the pause's stdout and stderr (containerd's FIFOs, when
// a client gives them: CRI gives none) and keeps them open while it runs, as
// a pause process would: a client that reads them sees their end when it
// stops. A FIFO is opened read-write, so this never blocks.
func openOutputs(paths ...string) []*os.File {
	var files []*os.File
	for _, path := range paths {
		if path == "" {
			continue
		}
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// oneWorkloadPerPod is the refusal of a pod's second workload container.
func oneWorkloadPerPod(id, pod, other string) error {
	return errdefs.ToGRPCf(errdefs.ErrFailedPrecondition,
		"refusing container %s in pod %s: the pod already has the workload container %s, and a pod holds one "+
			"workload container at a time (uvm run runs one container per UVM; multi-container pods are not supported yet)",
		id, pod, other)
}
