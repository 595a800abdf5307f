package main

// containerd's task API. One shim serves one sandbox: a plain container, or
// a Kubernetes pod (pod.go) whose sandbox container is played here and
// whose workload container has the UVM. A workload task's calls become
// requests to its `uvm run --control` (docs/sandbox.md). All sequencing
// (layers, launch, binding, mounts, create) is in `uvm run`; this file only
// translates, tracks what containerd must be told, and cleans up.

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/log"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/runtime"
	"github.com/containerd/containerd/runtime/v2/shim"
	taskAPI "github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/typeurl"
	ptypes "github.com/gogo/protobuf/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The OCI annotations the shim reads (docs/kubernetes.md).
const (
	// policyAnnotation: base64 of the policy file's exact bytes. HOST_DATA
	// at launch is their SHA-256.
	policyAnnotation = "io.uvm.policy"
	// containerAnnotation: the policy container's name (`uvm run --container`)
	// when several of the policy's containers have this image's layers.
	containerAnnotation = "io.uvm.container"
)

// pollInterval: how often a running process's state is asked for
// (`uvm run` answers `state` without waiting, docs/sandbox.md).
const pollInterval = 100 * time.Millisecond

var empty = &ptypes.Empty{}

type process struct {
	execID string
	spec   *specs.Process // exec only
	stdin  string
	stdout string
	stderr string
	pid    uint32

	status   tasktypes.Status
	exitCode uint32
	exitedAt time.Time
	done     chan struct{} // closed once stopped
	outputs  []*os.File    // the pause's stdout and stderr, closed when it stops
}

func (p *process) setExited(code uint32) {
	p.status = tasktypes.StatusStopped
	p.exitCode = code
	p.exitedAt = time.Now()
	close(p.done)
	for _, f := range p.outputs {
		f.Close()
	}
	p.outputs = nil
}

// task is one containerd task this shim serves.
type task struct {
	id     string
	bundle string
	pod    string              // the pod's id; "" outside a pod
	pause  bool                // the pod's sandbox container: played here, no UVM
	sb     *sandbox            // a workload's UVM (nil for the pause)
	procs  map[string]*process // "" is the init
}

type service struct {
	mu       sync.Mutex
	ctx      context.Context
	id       string
	events   chan interface{}
	shutdown shutdown.Service

	// layout makes the image's OCI layout (containerd's, or a test's)
	layout func(cfg Config, id string) func(context.Context, string) error

	creating map[string]bool // ids being created: true for a workload
	tasks    map[string]*task
}

var _ taskAPI.TaskService = (*service)(nil)

// newService is the shim library's Init function.
func newService(ctx context.Context, id string, publisher shim.Publisher, fn func()) (shim.Shim, error) {
	sd, ok := ctx.(shutdown.Service)
	if !ok {
		ctx, sd = shutdown.WithShutdown(ctx)
		sd.RegisterCallback(func(context.Context) error { fn(); return nil })
	}
	s := &service{ctx: ctx, id: id, events: make(chan interface{}, 128), shutdown: sd,
		creating: map[string]bool{}, tasks: map[string]*task{},
		layout: func(cfg Config, id string) func(context.Context, string) error {
			return containerdLayout(containerdAddress(), cfg.ContentDir, id)
		}}
	go s.forward(ctx, publisher)
	sd.RegisterCallback(func(context.Context) error { close(s.events); return nil })
	if address, err := shim.ReadAddress("address"); err == nil {
		sd.RegisterCallback(func(context.Context) error { return shim.RemoveSocket(address) })
	}
	return s, nil
}

func (s *service) forward(ctx context.Context, publisher shim.Publisher) {
	ns, _ := namespaces.Namespace(ctx)
	ctx = namespaces.WithNamespace(context.Background(), ns)
	for e := range s.events {
		if err := publisher.Publish(ctx, topicOf(e), e); err != nil {
			log.G(ctx).WithError(err).Error("post event")
		}
	}
	publisher.Close()
}

func topicOf(e interface{}) string {
	switch e.(type) {
	case *eventstypes.TaskCreate:
		return runtime.TaskCreateEventTopic
	case *eventstypes.TaskStart:
		return runtime.TaskStartEventTopic
	case *eventstypes.TaskExit:
		return runtime.TaskExitEventTopic
	case *eventstypes.TaskDelete:
		return runtime.TaskDeleteEventTopic
	case *eventstypes.TaskExecAdded:
		return runtime.TaskExecAddedEventTopic
	case *eventstypes.TaskExecStarted:
		return runtime.TaskExecStartedEventTopic
	}
	return runtime.TaskUnknownTopic
}

func (s *service) send(e interface{}) { s.events <- e }

// process returns the task of an id and its process of an exec id, or a
// NotFound error.
func (s *service) process(id, execID string) (*task, *process, error) {
	t := s.tasks[id]
	if t == nil {
		return nil, nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "task %s", id)
	}
	p := t.procs[execID]
	if p == nil {
		return nil, nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process %s of task %s", execID, id)
	}
	return t, p, nil
}

// workload returns the id of a workload task, served or being created, other than id.
func (s *service) workload(id string) string {
	for other, t := range s.tasks {
		if !t.pause && other != id {
			return other
		}
	}
	for other, workload := range s.creating {
		if workload && other != id {
			return other
		}
	}
	return ""
}

// ------------------------------------------------------------------ create

func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	if r.Terminal {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "task %s: a terminal is not supported (the agent gives a container pipes, not a pty); run without -t", r.ID)
	}
	if r.Checkpoint != "" {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "task %s: restoring a checkpoint is not supported", r.ID)
	}
	spec, err := readBundleSpec(r.Bundle)
	if err != nil {
		return nil, err
	}
	pause, pod := isPause(spec.Annotations), podOf(spec.Annotations)
	s.mu.Lock()
	if s.tasks[r.ID] != nil || s.creating[r.ID] {
		s.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "task %s", r.ID)
	}
	if other := s.workload(r.ID); !pause && other != "" {
		s.mu.Unlock()
		if pod != "" {
			return nil, oneWorkloadPerPod(r.ID, pod, other)
		}
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "this shim already runs sandbox %s (one UVM per sandbox)", other)
	}
	if pause {
		// the pod's sandbox container: nothing to start, nothing to check
		p := &process{stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, pid: uint32(os.Getpid()),
			status: tasktypes.StatusCreated, done: make(chan struct{}), outputs: openOutputs(r.Stdout, r.Stderr)}
		s.tasks[r.ID] = &task{id: r.ID, bundle: r.Bundle, pod: pod, pause: true, procs: map[string]*process{"": p}}
		s.sendCreate(r, p.pid)
		s.mu.Unlock()
		return &taskAPI.CreateTaskResponse{Pid: p.pid}, nil
	}
	s.creating[r.ID] = true
	s.mu.Unlock()
	sb, err := s.create(r, spec)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creating, r.ID)
	if err != nil {
		log.G(s.ctx).WithError(err).Error("create")
		return nil, err
	}
	t := &task{id: r.ID, bundle: r.Bundle, pod: pod, sb: sb, procs: map[string]*process{
		"": {stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, pid: uint32(sb.pid()),
			status: tasktypes.StatusCreated, done: make(chan struct{})}}}
	s.tasks[r.ID] = t
	s.sendCreate(r, uint32(sb.pid()))
	go s.monitor(t)
	return &taskAPI.CreateTaskResponse{Pid: uint32(sb.pid())}, nil
}

func (s *service) sendCreate(r *taskAPI.CreateTaskRequest, pid uint32) {
	s.send(&eventstypes.TaskCreate{ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs,
		IO:         &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Checkpoint: r.Checkpoint, Pid: pid})
}

// create starts a workload's UVM: `uvm run` with the policy of its annotation.
func (s *service) create(r *taskAPI.CreateTaskRequest, spec *bundleSpec) (*sandbox, error) {
	encoded, ok := spec.Annotations[policyAnnotation]
	if !ok {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition,
			"refusing to start sandbox %s without a policy: set the OCI annotation %s to the base64 of the policy file "+
				"(uvm policy gen --image ... makes one; e.g. ctr run --annotation %s=$(base64 -w0 policy.json))",
			r.ID, policyAnnotation, policyAnnotation)
	}
	policy, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(policy) == 0 {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "sandbox %s: annotation %s is not base64 of a policy file: %v", r.ID, policyAnnotation, err)
	}
	configPath, err := configPathOf(r.Options)
	if err != nil {
		return nil, err
	}
	if configPath == "" {
		configPath = os.Getenv(configPathEnv)
	}
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	var args []string
	if spec.Process != nil {
		args = spec.Process.Args
	}
	return startSandbox(s.ctx, sandboxRequest{
		id: r.ID, namespace: namespaceOf(s.ctx), bundle: r.Bundle, cfg: cfg, policy: policy,
		container: spec.Annotations[containerAnnotation], args: args,
		stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr, layout: s.layout(cfg, r.ID),
	})
}

func namespaceOf(ctx context.Context) string {
	ns, _ := namespaces.Namespace(ctx)
	return ns
}

// containerdAddress is the -address flag containerd started the shim with
// (parsed by the shim library into the global flag set).
func containerdAddress() string {
	if f := flag.Lookup("address"); f != nil {
		return f.Value.String()
	}
	return ""
}

// monitor polls the state of every started process of a workload until it
// stops, and publishes its exit. If `uvm run` itself exits, every process is
// over.
func (s *service) monitor(t *task) {
	sb := t.sb
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-sb.exited:
			s.mu.Lock()
			for _, p := range t.procs {
				if p.status != tasktypes.StatusStopped && s.tasks[t.id] == t {
					s.exit(t, p, 255)
				}
			}
			s.mu.Unlock()
			return
		case <-tick.C:
		}
		s.mu.Lock()
		var running []*process
		for _, p := range t.procs {
			if p.status == tasktypes.StatusRunning {
				running = append(running, p)
			}
		}
		s.mu.Unlock()
		for _, p := range running {
			st, err := sb.ctl.State(p.execID)
			if err != nil || st.Status != "stopped" {
				continue
			}
			code := 255
			if st.ExitCode != nil {
				code = *st.ExitCode
			} else if st.Signal != nil {
				code = 128 + *st.Signal
			}
			s.mu.Lock()
			if p.status == tasktypes.StatusRunning {
				s.exit(t, p, uint32(code))
			}
			s.mu.Unlock()
		}
	}
}

// exit records a process's exit and publishes it (s.mu held).
func (s *service) exit(t *task, p *process, code uint32) {
	p.setExited(code)
	id := p.execID
	if id == "" {
		id = t.id
	}
	s.send(&eventstypes.TaskExit{ContainerID: t.id, ID: id, Pid: p.pid, ExitStatus: code, ExitedAt: p.exitedAt})
}

// ------------------------------------------------------------------ start, exec

func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if p.status != tasktypes.StatusCreated {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "process %q of task %s is %s, not created", r.ExecID, r.ID, p.status)
	}
	if t.pause {
		p.status = tasktypes.StatusRunning // and so it stays until killed
		s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: p.pid})
		return &taskAPI.StartResponse{Pid: p.pid}, nil
	}
	sb := t.sb
	if r.ExecID == "" {
		pid, err := sb.ctl.Start()
		if err != nil {
			return nil, fmt.Errorf("start task %s: %w", r.ID, err)
		}
		if pid > 0 {
			p.pid = uint32(pid)
		}
		p.status = tasktypes.StatusRunning
		s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: p.pid})
		return &taskAPI.StartResponse{Pid: p.pid}, nil
	}
	req := execRequest{ExecID: r.ExecID, Argv: p.spec.Args, Env: p.spec.Env, Cwd: p.spec.Cwd,
		Stdin: p.stdin, Stdout: p.stdout, Stderr: p.stderr}
	if err := sb.ctl.Exec(req); err != nil {
		return nil, fmt.Errorf("exec %s in task %s: %w", r.ExecID, r.ID, err)
	}
	p.status = tasktypes.StatusRunning
	s.send(&eventstypes.TaskExecStarted{ContainerID: r.ID, ExecID: r.ExecID, Pid: p.pid})
	return &taskAPI.StartResponse{Pid: p.pid}, nil
}

// Exec records the process; Start sends it (`exec` creates and starts at once).
func (s *service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	if r.Terminal {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "exec %s: a terminal is not supported (the agent gives a process pipes, not a pty); run without -t", r.ExecID)
	}
	v, err := typeurl.UnmarshalAny(r.Spec)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "exec %s: process spec: %v", r.ExecID, err)
	}
	spec, ok := v.(*specs.Process)
	if !ok || len(spec.Args) == 0 {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "exec %s: process spec has no args", r.ExecID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _, err := s.process(r.ID, "")
	if err != nil {
		return nil, err
	}
	if t.pause {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented,
			"exec %s: task %s is the sandbox container of pod %s, which runs nothing here (no UVM): exec in the pod's workload container",
			r.ExecID, r.ID, t.pod)
	}
	if r.ExecID == "" || t.procs[r.ExecID] != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "exec id %q of task %s", r.ExecID, r.ID)
	}
	t.procs[r.ExecID] = &process{execID: r.ExecID, spec: spec, stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr,
		pid: uint32(t.sb.pid()), status: tasktypes.StatusCreated, done: make(chan struct{})}
	s.send(&eventstypes.TaskExecAdded{ContainerID: r.ID, ExecID: r.ExecID})
	return empty, nil
}

// ------------------------------------------------------------------ state, wait, signals

func (s *service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	return &taskAPI.StateResponse{ID: r.ID, Bundle: t.bundle, Pid: p.pid, Status: p.status,
		Stdin: p.stdin, Stdout: p.stdout, Stderr: p.stderr, ExitStatus: p.exitCode, ExitedAt: p.exitedAt,
		ExecID: r.ExecID}, nil
}

func (s *service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	s.mu.Lock()
	_, p, err := s.process(r.ID, r.ExecID)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &taskAPI.WaitResponse{ExitStatus: p.exitCode, ExitedAt: p.exitedAt}, nil
}

func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if p.status == tasktypes.StatusStopped {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process %q of task %s already finished", r.ExecID, r.ID)
	}
	if r.Signal < 1 || r.Signal > 64 {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "signal %d", r.Signal)
	}
	if t.pause {
		if !pauseIgnores(r.Signal) {
			s.exit(t, p, 128+r.Signal)
		}
		return empty, nil
	}
	if p.status == tasktypes.StatusCreated && r.ExecID != "" {
		// never sent to the sandbox: nothing to signal
		s.exit(t, p, 128+r.Signal)
		return empty, nil
	}
	if err := t.sb.ctl.Kill(r.ExecID, r.Signal); err != nil {
		return nil, fmt.Errorf("kill process %q of task %s: %w", r.ExecID, r.ID, err)
	}
	return empty, nil
}

func (s *service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, err := s.process(r.ID, "")
	if err != nil {
		return nil, err
	}
	out := &taskAPI.PidsResponse{}
	if t.pause {
		if p.status == tasktypes.StatusRunning {
			out.Processes = append(out.Processes, &tasktypes.ProcessInfo{Pid: p.pid})
		}
		return out, nil
	}
	pids, err := t.sb.ctl.Pids()
	if err != nil {
		return nil, fmt.Errorf("pids of task %s: %w", r.ID, err)
	}
	for _, pid := range pids {
		out.Processes = append(out.Processes, &tasktypes.ProcessInfo{Pid: uint32(pid)})
	}
	return out, nil
}

func (s *service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	if t.pause || !r.Stdin || p.stdin == "" || p.status == tasktypes.StatusStopped {
		return empty, nil
	}
	if err := t.sb.ctl.CloseStdin(r.ExecID); err != nil {
		return nil, fmt.Errorf("close stdin of process %q of task %s: %w", r.ExecID, r.ID, err)
	}
	return empty, nil
}

func (s *service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _, err := s.process(r.ID, "")
	if err != nil {
		return nil, err
	}
	var st sandboxStats // the pause container uses nothing
	if !t.pause {
		if st, err = t.sb.ctl.Stats(); err != nil {
			return nil, fmt.Errorf("stats of task %s: %w", r.ID, err)
		}
	}
	data, err := typeurl.MarshalAny(sandboxMetrics(st))
	if err != nil {
		return nil, err
	}
	return &taskAPI.StatsResponse{Stats: data}, nil
}

// ------------------------------------------------------------------ delete, shutdown

func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	s.mu.Lock()
	t, p, err := s.process(r.ID, r.ExecID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if p.status == tasktypes.StatusRunning {
		s.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "process %q of task %s is running: kill it first", r.ExecID, r.ID)
	}
	resp := &taskAPI.DeleteResponse{Pid: p.pid, ExitStatus: p.exitCode, ExitedAt: p.exitedAt}
	if r.ExecID != "" {
		delete(t.procs, r.ExecID)
		s.mu.Unlock()
		return resp, nil
	}
	s.mu.Unlock()
	if !t.pause {
		// the init: tear the sandbox down (uvm run unmounts, shuts the VM
		// down, removes the disks) and remove what the shim made.
		if err := t.sb.teardown(s.ctx); err != nil {
			return nil, fmt.Errorf("delete task %s: %w", r.ID, err)
		}
	}
	s.mu.Lock()
	if p.status != tasktypes.StatusStopped {
		p.setExited(p.exitCode) // created, never started
		resp.ExitedAt = p.exitedAt
	}
	delete(s.tasks, r.ID)
	s.send(&eventstypes.TaskDelete{ContainerID: r.ID, Pid: resp.Pid, ExitStatus: resp.ExitStatus, ExitedAt: resp.ExitedAt})
	s.mu.Unlock()
	return resp, nil
}

// Shutdown is called by containerd after each task's delete: the shim exits
// once it serves no task (a pod's shim, when the pod's last task is gone).
func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tasks) > 0 || len(s.creating) > 0 {
		return empty, nil // still serving
	}
	s.shutdown.Shutdown()
	return empty, nil
}

func (s *service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pid uint32
	if t := s.tasks[r.ID]; t != nil {
		pid = t.procs[""].pid
	}
	return &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), TaskPid: pid}, nil
}

// ------------------------------------------------------------------ not in a UVM

func (s *service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "pause")
}

func (s *service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "resume")
}

func (s *service) Checkpoint(ctx context.Context, r *taskAPI.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "checkpoint: a confidential VM's memory does not leave it")
}

func (s *service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "update: the sandbox's resources are fixed at launch")
}

func (s *service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "resize pty: no terminal")
}

// ------------------------------------------------------------------ shim binary calls

// StartShim is `containerd-shim-uvm-v2 start`: it starts the shim's server
// (this binary again, without the action) and prints its socket address.
func (s *service) StartShim(ctx context.Context, opts shim.StartOpts) (string, error) {
	return startShim(ctx, opts)
}

// Cleanup is `containerd-shim-uvm-v2 delete`, run by containerd in the
// bundle when the shim's server is gone: it stops what the server left.
func (s *service) Cleanup(ctx context.Context) (*taskAPI.DeleteResponse, error) {
	cleanupLeftovers(ctx)
	return &taskAPI.DeleteResponse{ExitedAt: time.Now(), ExitStatus: 128 + uint32(syscall.SIGKILL)}, nil
}

// readPidFile reads a decimal pid.
func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, errors.New("bad pid file " + path)
	}
	return pid, nil
}
