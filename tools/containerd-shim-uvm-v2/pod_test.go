package main

// Pods (pod.go): the grouping of a pod's tasks in one shim, the sandbox
// container played by the shim, and the one-workload limit, against the
// fake `uvm run` of service_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"
	taskAPI "github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/typeurl"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func cri(kind, pod string, extra map[string]string) map[string]string {
	a := map[string]string{containerTypeAnnotation: kind, sandboxIDAnnotation: pod}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func TestShimGroup(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "k8s.io")
	const containerd = "/run/containerd/containerd.sock"
	address := func(annotations map[string]string, id string) (string, bool) {
		t.Helper()
		group, join, err := shimGroup(annotations, id)
		if err != nil {
			t.Fatalf("%s %v: %v", id, annotations, err)
		}
		a, err := shim.SocketAddress(ctx, containerd, group)
		if err != nil {
			t.Fatal(err)
		}
		return a, join
	}
	pause, pauseJoins := address(cri(containerTypeSandbox, "pod1", nil), "pod1")
	app, appJoins := address(cri(containerTypeContainer, "pod1", map[string]string{policyAnnotation: "x"}), "app1")
	if pause != app {
		t.Errorf("a pod's sandbox container has shim %s, its app container %s", pause, app)
	}
	if pauseJoins || !appJoins {
		t.Errorf("join: sandbox container %v, app container %v", pauseJoins, appJoins)
	}
	// the shim library's own address for the pod's id (runc's shim groups alike)
	if want, _ := shim.SocketAddress(ctx, containerd, "pod1"); pause != want {
		t.Errorf("pod address %s, want %s", pause, want)
	}
	if other, _ := address(cri(containerTypeContainer, "pod2", nil), "app1"); other == app {
		t.Error("two pods share a shim address")
	}
	// not CRI: a container is its own sandbox, with the address of its own id, as before
	plain, join := address(map[string]string{policyAnnotation: "x"}, "c1")
	if want, _ := shim.SocketAddress(ctx, containerd, "c1"); plain != want || join {
		t.Errorf("plain container: %s %v, want %s and a shim of its own", plain, join, want)
	}
	if _, _, err := shimGroup(map[string]string{containerTypeAnnotation: containerTypeContainer}, "app1"); err == nil ||
		!strings.Contains(err.Error(), sandboxIDAnnotation) {
		t.Errorf("an app container without a pod: %v", err)
	}
	if _, _, err := shimGroup(map[string]string{containerTypeAnnotation: "podsandbox"}, "x"); err == nil {
		t.Error("an unknown container type was accepted")
	}
}

// An app container joins the shim serving its pod's address, and writes
// that address in its bundle; without a shim there it is refused.
func TestJoinShim(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	address := "unix://" + filepath.Join(dir, "s")
	if _, err := joinShim(address, "pod1", "app1"); err == nil || !strings.Contains(err.Error(), "sandbox container") {
		t.Fatalf("join without a shim: %v", err)
	}
	if _, err := os.Stat("address"); err == nil {
		t.Error("a refused join wrote an address")
	}
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	got, err := joinShim(address, "pod1", "app1")
	if err != nil || got != address {
		t.Fatalf("join: %q %v", got, err)
	}
	if b, _ := os.ReadFile("address"); string(b) != address {
		t.Errorf("bundle address %q", b)
	}
}

// writeBundle makes a task's bundle with a config.json of annotations and args.
func writeBundle(t *testing.T, annotations map[string]string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]interface{}{"annotations": annotations, "process": map[string]interface{}{"args": args}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shutDown says whether the service asked the shim library to exit.
func shutDown(s *service) func() bool {
	done := make(chan struct{})
	s.shutdown.RegisterCallback(func(context.Context) error { close(done); return nil })
	return func() bool {
		select {
		case <-done:
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	}
}

// The sandbox container: no policy, no `uvm run`; created, running from
// Start until a signal that ends it, then stopped with 128+signal.
func TestPauseTask(t *testing.T) {
	f := newFixture(t, nil)
	done := shutDown(f.s)
	ctx := context.Background()
	bundle := writeBundle(t, cri(containerTypeSandbox, "pod1", nil), "/pause")
	cr, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "pod1", Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.log); err == nil {
		t.Error("the sandbox container started uvm run")
	}
	if cr.Pid != uint32(os.Getpid()) {
		t.Errorf("pid %d, want the shim's %d", cr.Pid, os.Getpid())
	}
	state := func() *taskAPI.StateResponse {
		t.Helper()
		st, err := f.s.State(ctx, &taskAPI.StateRequest{ID: "pod1"})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st.Status != tasktypes.StatusCreated || st.Bundle != bundle {
		t.Errorf("after create: %v", st)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "pod1"}); err == nil {
		t.Error("a second start succeeded")
	}
	if st := state(); st.Status != tasktypes.StatusRunning {
		t.Errorf("after start: %v", st)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "pod1"}); err == nil {
		t.Error("wait returned while the sandbox container runs")
	}
	cancel()
	if p, err := f.s.Pids(ctx, &taskAPI.PidsRequest{ID: "pod1"}); err != nil || len(p.Processes) != 1 {
		t.Errorf("pids: %v %v", p, err)
	}
	if _, err := f.s.Stats(ctx, &taskAPI.StatsRequest{ID: "pod1"}); err != nil {
		t.Errorf("stats: %v", err)
	}
	spec, _ := typeurl.MarshalAny(&specs.Process{Args: []string{"/bin/sh"}})
	if _, err := f.s.Exec(ctx, &taskAPI.ExecProcessRequest{ID: "pod1", ExecID: "e", Spec: spec}); err == nil ||
		!strings.Contains(err.Error(), "runs nothing") {
		t.Errorf("exec in the sandbox container: %v", err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"}); err == nil {
		t.Error("delete of the running sandbox container succeeded")
	}
	// a signal whose default is to ignore it leaves it running
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: uint32(syscall.SIGWINCH)}); err != nil {
		t.Fatal(err)
	}
	if st := state(); st.Status != tasktypes.StatusRunning {
		t.Errorf("after SIGWINCH: %v", st)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "pod1"}); err != nil || done() {
		t.Fatalf("the shim went while the sandbox container runs: %v", err)
	}
	waited := make(chan *taskAPI.WaitResponse, 1)
	go func() {
		w, _ := f.s.Wait(ctx, &taskAPI.WaitRequest{ID: "pod1"})
		waited <- w
	}()
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: uint32(syscall.SIGTERM)}); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-waited:
		if w == nil || w.ExitStatus != 143 {
			t.Fatalf("wait after SIGTERM: %v", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after SIGTERM")
	}
	if st := state(); st.Status != tasktypes.StatusStopped || st.ExitStatus != 143 {
		t.Errorf("after SIGTERM: %v", st)
	}
	f.pub.has(t, func(e interface{}) bool {
		x, ok := e.(*eventstypes.TaskExit)
		return ok && x.ContainerID == "pod1" && x.ExitStatus == 143
	})
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: 9}); !errdefs.IsNotFound(errdefs.FromGRPC(err)) {
		t.Errorf("kill of the stopped sandbox container: %v", err)
	}
	d, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"})
	if err != nil || d.ExitStatus != 143 {
		t.Fatalf("delete: %v %v", d, err)
	}
	f.pub.has(t, func(e interface{}) bool { x, ok := e.(*eventstypes.TaskDelete); return ok && x.ContainerID == "pod1" })
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "pod1"}); err != nil || !done() {
		t.Fatalf("the shim stays with no task: %v", err)
	}
}

// A pause killed before it started is stopped too (CRI's clean-up of a
// failed pod start).
func TestPauseKilledBeforeStart(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	bundle := writeBundle(t, cri(containerTypeSandbox, "pod1", nil))
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "pod1", Bundle: bundle}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: 9}); err != nil {
		t.Fatal(err)
	}
	if d, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"}); err != nil || d.ExitStatus != 137 {
		t.Fatalf("delete: %v %v", d, err)
	}
}

// A pod in one shim: the sandbox container, the workload container in its
// UVM (its policy from the pod's annotation), a second workload refused
// with the reason; the shim goes when the last task is deleted, whichever
// it is.
func TestPodOneWorkload(t *testing.T) {
	f := newFixture(t, nil)
	done := shutDown(f.s)
	ctx := context.Background()
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "pod1",
		Bundle: writeBundle(t, cri(containerTypeSandbox, "pod1", policy))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "nopolicy",
		Bundle: writeBundle(t, cri(containerTypeContainer, "pod1", nil), "sleep")}); err == nil ||
		!strings.Contains(err.Error(), "without a policy") {
		t.Fatalf("an app container without a policy: %v", err)
	}
	appBundle := writeBundle(t, cri(containerTypeContainer, "pod1", policy), "sleep")
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "app1", Bundle: appBundle}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.requests(t), "argv run ") {
		t.Fatalf("no uvm run for the app container: %s", f.requests(t))
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "app1"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "app2",
		Bundle: writeBundle(t, cri(containerTypeContainer, "pod1", policy), "sleep")})
	if err == nil || !strings.Contains(err.Error(), "one workload container") || !strings.Contains(err.Error(), "app1") ||
		!errdefs.IsFailedPrecondition(errdefs.FromGRPC(err)) {
		t.Fatalf("a second app container: %v", err)
	}
	if n := strings.Count(f.requests(t), "argv run "); n != 1 {
		t.Errorf("%d uvm run for the pod", n)
	}
	// containerd deletes the refused task and asks the shim to shut down: the pod stays
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "app2"}); !errdefs.IsNotFound(errdefs.FromGRPC(err)) {
		t.Errorf("delete of the refused task: %v", err)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "app2"}); err != nil || done() {
		t.Fatalf("the pod's shim went with a refused task: %v", err)
	}
	if st, err := f.s.State(ctx, &taskAPI.StateRequest{ID: "app1"}); err != nil || st.Status != tasktypes.StatusRunning {
		t.Fatalf("app1 after the refusal: %v %v", st, err)
	}
	// the app container exits; the sandbox container runs on
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "app1", Signal: 9}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "app1"}); err != nil || w.ExitStatus != 137 {
		t.Fatalf("wait app1: %v %v", w, err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "app1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.requests(t), `"op":"shutdown"`) {
		t.Error("the app container's delete sent no shutdown")
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v after the app container's delete", ents)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "app1"}); err != nil || done() {
		t.Fatalf("the pod's shim went with its sandbox container running: %v", err)
	}
	if st, err := f.s.State(ctx, &taskAPI.StateRequest{ID: "pod1"}); err != nil || st.Status != tasktypes.StatusRunning {
		t.Fatalf("the sandbox container after the app's delete: %v %v", st, err)
	}
	// a restarted app container (kubelet's, after CRI deleted the exited task) gets a new UVM
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "app3", Bundle: appBundle}); err != nil {
		t.Fatalf("the pod's next app container: %v", err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "app3"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "pod1"}); err != nil || !done() {
		t.Fatalf("the pod's shim stays with no task: %v", err)
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v", ents)
	}
}

// A client attached to the pause's stdout (a FIFO) reads nothing while it
// runs and its end once it is killed, as from a pause process.
func TestPauseOutputEndsWhenKilled(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	fifo := filepath.Join(t.TempDir(), "stdout")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := writeBundle(t, cri(containerTypeSandbox, "pod1", nil))
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "pod1", Bundle: bundle, Stdout: fifo}); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	read := make(chan error, 1)
	go func() {
		n, err := r.Read(make([]byte, 16))
		if n > 0 {
			err = fmt.Errorf("read %d bytes", n)
		}
		read <- err
	}()
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-read:
		t.Fatalf("the running pause's stdout ended: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: 15}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-read:
		if err != io.EOF {
			t.Fatalf("read after kill: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the killed pause's stdout did not end")
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
}

// The sandbox container deleted before the workload: the workload's UVM
// stays until its own delete, and the shim goes after that.
func TestPodSandboxDeletedFirst(t *testing.T) {
	f := newFixture(t, nil)
	done := shutDown(f.s)
	ctx := context.Background()
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "pod1",
		Bundle: writeBundle(t, cri(containerTypeSandbox, "pod1", nil))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "app1",
		Bundle: writeBundle(t, cri(containerTypeContainer, "pod1", policy), "exit3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "pod1", Signal: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "pod1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "pod1"}); err != nil || done() {
		t.Fatalf("the shim went with a workload left: %v", err)
	}
	if strings.Contains(f.requests(t), `"op":"shutdown"`) {
		t.Error("the sandbox container's delete shut the workload's UVM down")
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "app1"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "app1"}); err != nil || w.ExitStatus != 3 {
		t.Fatalf("wait app1: %v %v", w, err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "app1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "app1"}); err != nil || !done() {
		t.Fatalf("the shim stays with no task: %v", err)
	}
}
