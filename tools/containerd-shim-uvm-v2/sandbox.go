package main

// One sandbox: its directory under run_dir, the `uvm run --control`
// process that owns the UVM, and their removal.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	v2stats "github.com/containerd/cgroups/v2/stats"
	"github.com/containerd/containerd/log"
	"github.com/containerd/containerd/sys/reaper"
)

// Files the shim keeps in containerd's bundle directory, for `delete`
// (Cleanup) when the shim's server died: the `uvm run` pid and the sandbox
// directory.
const (
	pidFile = "uvm-run.pid"
	dirFile = "uvm-run.dir"
)

type sandboxRequest struct {
	id, namespace, bundle string
	cfg                   Config
	policy                []byte
	container             string
	args                  []string
	stdin, stdout, stderr string
	// layout writes the image's OCI layout in a directory it creates.
	layout func(ctx context.Context, dir string) error
}

type sandbox struct {
	id     string
	bundle string
	dir    string
	cfg    Config
	cmd    *exec.Cmd
	ctl    *controlClient
	log    *tailBuffer

	exited     chan struct{} // closed when `uvm run` has been reaped
	exitStatus int
	logDone    chan struct{} // closed when its stderr reached EOF
}

func (sb *sandbox) pid() int { return sb.cmd.Process.Pid }

// sandboxDir is short (unix socket paths are limited to 107 bytes) and
// unique per namespace and id.
func sandboxDir(runDir, namespace, id string) string {
	h := sha256.Sum256([]byte(namespace + "/" + id))
	return filepath.Join(runDir, hex.EncodeToString(h[:8]))
}

// startSandbox writes the policy and the image's OCI layout, starts
// `uvm run --control ... --no-start` and waits until the container is
// created (or `uvm run` gives up, with its reason).
func startSandbox(ctx context.Context, r sandboxRequest) (_ *sandbox, err error) {
	if err := os.MkdirAll(r.cfg.RunDir, 0o700); err != nil {
		return nil, err
	}
	dir := sandboxDir(r.cfg.RunDir, r.namespace, r.id)
	os.RemoveAll(dir) // a leftover of a shim that died
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	policyPath := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyPath, r.policy, 0o600); err != nil {
		return nil, err
	}
	if err := r.layout(ctx, filepath.Join(dir, "oci")); err != nil {
		return nil, err
	}
	control := filepath.Join(dir, "control.sock")
	args := []string{"run", "--image", filepath.Join(dir, "oci"), "--policy", policyPath,
		"--work-dir", filepath.Join(dir, "work"), "--control", control, "--no-start"}
	if r.cfg.LayerCache != "" {
		args = append(args, "--layer-cache", r.cfg.LayerCache)
	}
	if r.container != "" {
		args = append(args, "--container", r.container)
	}
	for flag, path := range map[string]string{"--stdin": r.stdin, "--stdout": r.stdout, "--stderr": r.stderr} {
		if path != "" {
			args = append(args, flag, path)
		}
	}
	for _, a := range r.cfg.LaunchArgs {
		args = append(args, "--launch-arg", a)
	}
	if len(r.args) > 0 {
		args = append(append(args, "--"), r.args...)
	}
	sb := &sandbox{id: r.id, bundle: r.bundle, dir: dir, cfg: r.cfg, ctl: newControlClient(control),
		log: &tailBuffer{max: 4096}, exited: make(chan struct{}), logDone: make(chan struct{})}
	if err := sb.spawn(ctx, args); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sb.stop(ctx, 10*time.Second)
			os.Remove(filepath.Join(r.bundle, pidFile))
			os.Remove(filepath.Join(r.bundle, dirFile))
		}
	}()
	if err := sb.waitCreated(r.cfg.CreateTimeout.Duration); err != nil {
		return nil, err
	}
	return sb, nil
}

// spawn starts `uvm run` through the shim library's reaper (the shim is a
// subreaper: it reaps whatever is reparented to it) with its stderr, where
// it says what failed, going to containerd's log and a tail kept for errors.
func (sb *sandbox) spawn(ctx context.Context, args []string) error {
	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(sb.cfg.Uvm, args...)
	cmd.Dir = sb.dir
	cmd.Stdout = wr
	cmd.Stderr = wr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sb.cmd = cmd
	ec, err := reaper.Default.Start(cmd)
	wr.Close()
	if err != nil {
		rd.Close()
		return fmt.Errorf("start %s: %w", sb.cfg.Uvm, err)
	}
	// for `delete` after a crash (Cleanup)
	os.WriteFile(filepath.Join(sb.bundle, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	os.WriteFile(filepath.Join(sb.bundle, dirFile), []byte(sb.dir), 0o600)
	logger := log.G(ctx).WithField("uvm-run", cmd.Process.Pid)
	go func() {
		sc := bufio.NewScanner(rd)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			logger.Info(sc.Text())
			sb.log.Write(append(sc.Bytes(), '\n'))
		}
		rd.Close()
		close(sb.logDone)
	}()
	go func() {
		status, _ := reaper.Default.Wait(cmd, ec)
		sb.exitStatus = status
		close(sb.exited)
	}()
	return nil
}

// why is `uvm run`'s exit status and the end of what it said.
func (sb *sandbox) why() string {
	select {
	case <-sb.logDone:
	case <-time.After(2 * time.Second):
	}
	return fmt.Sprintf("uvm run exited with status %d: %s", sb.exitStatus, bytes.TrimSpace(sb.log.Bytes()))
}

func (sb *sandbox) waitCreated(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-sb.exited:
			return fmt.Errorf("sandbox %s: %s", sb.id, sb.why())
		default:
		}
		if st, err := sb.ctl.State(""); err == nil {
			if st.Status == "created" {
				return nil
			}
			return fmt.Errorf("sandbox %s: the container is %s before start", sb.id, st.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox %s: not created within %s (raise create_timeout in the shim config); uvm run said: %s",
				sb.id, timeout, bytes.TrimSpace(sb.log.Bytes()))
		}
		time.Sleep(pollInterval)
	}
}

// stop ends `uvm run`: `shutdown` (it tears the UVM down and exits), then
// SIGTERM, then SIGKILL of its process group, each after timeout.
func (sb *sandbox) stop(ctx context.Context, timeout time.Duration) {
	if err := sb.ctl.Shutdown(); err != nil {
		log.G(ctx).WithError(err).Warn("shutdown request")
	}
	sb.ctl.Close()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-sb.exited:
			return
		case <-time.After(timeout):
		}
		log.G(ctx).Warnf("uvm run %d still running: %s", sb.pid(), sig)
		syscall.Kill(-sb.pid(), sig)
	}
	<-sb.exited
}

// teardown stops the sandbox and removes its directory and the bundle's
// notes.
func (sb *sandbox) teardown(ctx context.Context) error {
	sb.stop(ctx, sb.cfg.ShutdownTimeout.Duration)
	<-sb.logDone
	os.Remove(filepath.Join(sb.bundle, pidFile))
	os.Remove(filepath.Join(sb.bundle, dirFile))
	return os.RemoveAll(sb.dir)
}

// cleanupLeftovers (in the bundle, as `delete`) kills a `uvm run` the dead
// server left, if the pid is still that `uvm run` (its command line names
// the sandbox directory), and removes the sandbox directory.
func cleanupLeftovers(ctx context.Context) {
	dirb, err := os.ReadFile(dirFile)
	if err != nil {
		return
	}
	dir := string(dirb)
	if pid, err := readPidFile(pidFile); err == nil {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(filepath.Join(dir, "control.sock"))) {
			syscall.Kill(-pid, syscall.SIGTERM)
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if filepath.IsAbs(dir) {
		os.RemoveAll(dir)
	}
	os.Remove(pidFile)
	os.Remove(dirFile)
}

// sandboxMetrics: the guest's memory as a cgroup v2 metric, so `ctr task
// metrics` shows it.
func sandboxMetrics(st sandboxStats) *v2stats.Metrics {
	return &v2stats.Metrics{Memory: &v2stats.MemoryStat{Usage: st.MemoryKiB * 1024}}
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}
