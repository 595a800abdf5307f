package main

// The task service against a fake `uvm run --control` (this test binary
// again, FAKE_UVM_RUN=1): the requests the shim sends, in order, and what
// containerd is told (responses and events). The real `uvm run` with a real
// UVM under containerd is tests/test_containerd.py.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/events"
	"github.com/containerd/containerd/namespaces"
	taskAPI "github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/containerd/sys/reaper"
	"github.com/containerd/typeurl"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMain(m *testing.M) {
	if os.Getenv("FAKE_UVM_RUN") == "1" {
		os.Exit(fakeUvmRun(os.Args[1:]))
	}
	// the shim library's signal loop reaps children on SIGCHLD; here the test does
	chld := make(chan os.Signal, 32)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			reaper.Reap()
		}
	}()
	os.Exit(m.Run())
}

// fakeUvmRun plays `uvm run --control ... --no-start [-- ARGS]`. ARGS[0]
// picks the container: "exit3" prints and exits 3 once started; "sleep"
// runs until killed; "fail" refuses before the socket exists (exit 125).
// An exec whose argv[0] is "denied" is refused with a policy denial. Every
// request is appended to $FAKE_LOG.
func fakeUvmRun(args []string) int {
	var control, stdout, mode string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--control":
			control = args[i+1]
		case "--stdout":
			stdout = args[i+1]
		case "--":
			mode = args[i+1]
			i = len(args)
		}
	}
	reqLog, _ := os.OpenFile(os.Getenv("FAKE_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	fmt.Fprintf(reqLog, "argv %s\n", strings.Join(args, " "))
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "uvm run: launch: out/image-test/bzImage: No such file or directory")
		return 125
	}
	l, err := net.Listen("unix", control)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 125
	}
	var mu sync.Mutex
	state := map[string]map[string]interface{}{"": {"status": "created"}}
	done := make(chan struct{})
	handle := func(req map[string]interface{}) (interface{}, string, interface{}) {
		mu.Lock()
		defer mu.Unlock()
		id, _ := req["exec_id"].(string)
		switch req["op"] {
		case "state":
			if st, ok := state[id]; ok {
				return st, "", nil
			}
			return nil, "no process " + id, nil
		case "start":
			state[""] = map[string]interface{}{"status": "running"}
			if stdout != "" {
				os.WriteFile(stdout, []byte("hello\n"), 0o600)
			}
			if mode == "exit3" {
				state[""] = map[string]interface{}{"status": "stopped", "exit_code": 3}
			}
			return map[string]interface{}{"pid": os.Getpid()}, "", nil
		case "exec":
			argv, _ := req["argv"].([]interface{})
			if len(argv) > 0 && argv[0] == "denied" {
				return nil, "exec_in_container denied", map[string]string{"reason": "argv [denied] is not allowed for container sample"}
			}
			state[id] = map[string]interface{}{"status": "stopped", "exit_code": 0}
			return map[string]interface{}{"exec_id": id}, "", nil
		case "kill":
			sig := int(req["signal"].(float64))
			state[id] = map[string]interface{}{"status": "stopped", "exit_code": 128 + sig, "signal": sig}
			return map[string]interface{}{}, "", nil
		case "pids":
			return map[string]interface{}{"pids": []int{os.Getpid()}}, "", nil
		case "stats":
			return map[string]interface{}{"memory_kib": 1000, "agent_vmrss_kib": 900}, "", nil
		case "close_stdin":
			return map[string]interface{}{}, "", nil
		case "shutdown":
			select {
			case <-done:
			default:
				close(done)
			}
			return map[string]interface{}{}, "", nil
		}
		return nil, "unknown op", nil
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					var req map[string]interface{}
					json.Unmarshal(line, &req)
					if req["op"] != "state" {
						fmt.Fprintf(reqLog, "%s", line)
					}
					result, errText, denial := handle(req)
					resp := map[string]interface{}{"ok": errText == ""}
					if errText == "" {
						resp["result"] = result
					} else {
						resp["error"] = errText
						if denial != nil {
							resp["denial"] = denial
						}
					}
					b, _ := json.Marshal(resp)
					c.Write(append(b, '\n'))
				}
			}(c)
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sigs:
	}
	time.Sleep(50 * time.Millisecond) // the shutdown response is out
	l.Close()
	os.Remove(control)
	return 0
}

type recorder struct {
	mu     sync.Mutex
	events []interface{}
}

func (r *recorder) Publish(ctx context.Context, topic string, event events.Event) error {
	r.mu.Lock()
	r.events = append(r.events, event)
	r.mu.Unlock()
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) has(t *testing.T, want func(interface{}) bool) {
	t.Helper()
	for i := 0; i < 50; i++ {
		r.mu.Lock()
		for _, e := range r.events {
			if want(e) {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no such event among %#v", r.events)
}

type fixture struct {
	s      *service
	pub    *recorder
	bundle string
	runDir string
	log    string
}

func newFixture(t *testing.T, annotations map[string]string, args ...string) *fixture {
	t.Helper()
	tmp := t.TempDir()
	f := &fixture{pub: &recorder{}, bundle: filepath.Join(tmp, "bundle"), runDir: filepath.Join(tmp, "run"),
		log: filepath.Join(tmp, "requests.log")}
	os.Mkdir(f.bundle, 0o700)
	spec := map[string]interface{}{"annotations": annotations, "process": map[string]interface{}{"args": args}}
	b, _ := json.Marshal(spec)
	os.WriteFile(filepath.Join(f.bundle, "config.json"), b, 0o600)
	self, _ := os.Executable()
	conf := filepath.Join(tmp, "shim.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("uvm = %q\nrun_dir = %q\nlayer_cache = %q\nlaunch_args = [\"--image=x\"]\ncreate_timeout = \"20s\"\nshutdown_timeout = \"5s\"\n",
		self, f.runDir, filepath.Join(tmp, "cache"))), 0o600)
	t.Setenv(configPathEnv, conf)
	t.Setenv("FAKE_UVM_RUN", "1")
	t.Setenv("FAKE_LOG", f.log)
	ctx := namespaces.WithNamespace(context.Background(), "test")
	sh, err := newService(ctx, "c1", f.pub, func() {})
	if err != nil {
		t.Fatal(err)
	}
	f.s = sh.(*service)
	f.s.layout = func(Config, string) func(context.Context, string) error {
		return func(_ context.Context, dir string) error { return os.Mkdir(dir, 0o700) }
	}
	return f
}

func (f *fixture) requests(t *testing.T) string {
	b, _ := os.ReadFile(f.log)
	return string(b)
}

var policy = map[string]string{policyAnnotation: base64.StdEncoding.EncodeToString([]byte(`{"version":"1"}`))}

func TestRunToExit(t *testing.T) {
	f := newFixture(t, policy, "exit3")
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "stdout")
	cr, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests(t)
	for _, want := range []string{"run --image ", "--control " + f.runDir, "--no-start", "--stdout " + out,
		"--launch-arg --image=x", "-- exit3"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("uvm run argv lacks %q: %s", want, reqs)
		}
	}
	st, _ := f.s.State(ctx, &taskAPI.StateRequest{ID: "c1"})
	if st.Status != tasktypes.StatusCreated || st.Pid != cr.Pid {
		t.Errorf("state after create: %v", st)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "c1"})
	if err != nil || w.ExitStatus != 3 {
		t.Fatalf("wait: %v %v", w, err)
	}
	if b, _ := os.ReadFile(out); string(b) != "hello\n" {
		t.Errorf("stdout %q", b)
	}
	f.pub.has(t, func(e interface{}) bool {
		x, ok := e.(*eventstypes.TaskExit)
		return ok && x.ExitStatus == 3 && x.ID == "c1"
	})
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "c1", Signal: 9}); err == nil {
		t.Error("kill of a finished process succeeded")
	}
	d, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "c1"})
	if err != nil || d.ExitStatus != 3 {
		t.Fatalf("delete: %v %v", d, err)
	}
	if !strings.Contains(f.requests(t), `"op":"shutdown"`) {
		t.Error("delete sent no shutdown")
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v after delete", ents)
	}
	if _, err := os.Stat(filepath.Join(f.bundle, pidFile)); err == nil {
		t.Error("the pid file stays in the bundle")
	}
	f.pub.has(t, func(e interface{}) bool { _, ok := e.(*eventstypes.TaskDelete); return ok })
	if _, err := f.s.Shutdown(ctx, &taskAPI.ShutdownRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
}

func TestNoPolicyRefused(t *testing.T) {
	f := newFixture(t, nil, "exit3")
	_, err := f.s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle})
	if err == nil || !strings.Contains(err.Error(), "without a policy") || !strings.Contains(err.Error(), policyAnnotation) {
		t.Fatalf("create without a policy: %v", err)
	}
	if _, err := os.Stat(f.log); err == nil {
		t.Error("uvm run was started without a policy")
	}
}

func TestUvmRunFailureReported(t *testing.T) {
	f := newFixture(t, policy, "fail")
	_, err := f.s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle})
	if err == nil || !strings.Contains(err.Error(), "status 125") || !strings.Contains(err.Error(), "No such file") {
		t.Fatalf("create with a failing uvm run: %v", err)
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v after a failed create", ents)
	}
	// the shim may go: nothing to serve
	if len(f.s.tasks) != 0 || len(f.s.creating) != 0 {
		t.Error("a failed create left a task")
	}
}

func TestExecKillPids(t *testing.T) {
	f := newFixture(t, policy, "sleep")
	ctx := context.Background()
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	spec := func(args ...string) *taskAPI.ExecProcessRequest {
		a, _ := typeurl.MarshalAny(&specs.Process{Args: args, Env: []string{"A=1"}, Cwd: "/"})
		return &taskAPI.ExecProcessRequest{ID: "c1", ExecID: args[0], Spec: a, Stdout: "/dev/null"}
	}
	// a denied exec: the policy's reason reaches containerd
	if _, err := f.s.Exec(ctx, spec("denied")); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "c1", ExecID: "denied"})
	if err == nil || !strings.Contains(err.Error(), "argv [denied] is not allowed") {
		t.Fatalf("denied exec: %v", err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "c1", ExecID: "denied"}); err != nil {
		t.Fatal(err)
	}
	// an allowed exec runs to its exit
	if _, err := f.s.Exec(ctx, spec("true")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Start(ctx, &taskAPI.StartRequest{ID: "c1", ExecID: "true"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "c1", ExecID: "true"}); err != nil || w.ExitStatus != 0 {
		t.Fatalf("exec wait: %v %v", w, err)
	}
	f.pub.has(t, func(e interface{}) bool { x, ok := e.(*eventstypes.TaskExit); return ok && x.ID == "true" })
	reqs := f.requests(t)
	if !strings.Contains(reqs, `"argv":["true"]`) || !strings.Contains(reqs, `"env":["A=1"]`) || !strings.Contains(reqs, `"stdout":"/dev/null"`) {
		t.Errorf("exec request: %s", reqs)
	}
	p, err := f.s.Pids(ctx, &taskAPI.PidsRequest{ID: "c1"})
	if err != nil || len(p.Processes) != 1 {
		t.Fatalf("pids: %v %v", p, err)
	}
	if _, err := f.s.Stats(ctx, &taskAPI.StatsRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CloseIO(ctx, &taskAPI.CloseIORequest{ID: "c1", Stdin: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "c1"}); err == nil {
		t.Fatal("delete of a running task succeeded")
	}
	if _, err := f.s.Kill(ctx, &taskAPI.KillRequest{ID: "c1", Signal: uint32(syscall.SIGKILL)}); err != nil {
		t.Fatal(err)
	}
	w, err := f.s.Wait(wctx, &taskAPI.WaitRequest{ID: "c1"})
	if err != nil || w.ExitStatus != 137 {
		t.Fatalf("wait after kill: %v %v", w, err)
	}
	if _, err := f.s.Delete(ctx, &taskAPI.DeleteRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v after delete", ents)
	}
}

func TestTerminalRefused(t *testing.T) {
	f := newFixture(t, policy, "exit3")
	_, err := f.s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle, Terminal: true})
	if err == nil || !strings.Contains(err.Error(), "terminal") {
		t.Fatalf("create with a terminal: %v", err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("uvm = \"/x\"\nlaunch_arg = [\"--snp\"]\n"), 0o600)
	if _, err := loadConfig(bad); err == nil || !strings.Contains(err.Error(), "launch_arg") {
		t.Errorf("a misspelt key: %v", err)
	}
	rel := filepath.Join(dir, "rel.toml")
	os.WriteFile(rel, []byte("run_dir = \"run\"\n"), 0o600)
	if _, err := loadConfig(rel); err == nil {
		t.Error("a relative run_dir was accepted")
	}
	if p, err := configPathOfBytes(nil); err != nil || p != "" {
		t.Errorf("no options: %q %v", p, err)
	}
}

func TestSandboxDirIsShort(t *testing.T) {
	d := sandboxDir("/run/uvm-shim", strings.Repeat("n", 76), strings.Repeat("i", 76))
	if len(filepath.Join(d, "work", "agent.sock")) > 60 {
		t.Errorf("%s is long", d)
	}
}

func TestShippedConfigParses(t *testing.T) {
	cfg, err := loadConfig("uvm-shim.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Uvm != "/usr/local/bin/uvm" || len(cfg.LaunchArgs) == 0 || cfg.LaunchArgs[1] != "--snp" || cfg.CreateTimeout.Duration != 5*time.Minute {
		t.Errorf("uvm-shim.toml: %+v", cfg)
	}
}

// After a crash of the shim's server, containerd runs `delete` in the
// bundle: the `uvm run` left behind is stopped and the sandbox directory goes.
func TestCleanupAfterCrash(t *testing.T) {
	f := newFixture(t, policy, "sleep")
	ctx := context.Background()
	if _, err := f.s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "c1", Bundle: f.bundle}); err != nil {
		t.Fatal(err)
	}
	sb := f.s.tasks["c1"].sb
	pid := sb.pid()
	wd, _ := os.Getwd()
	if err := os.Chdir(f.bundle); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	d, err := f.s.Cleanup(ctx)
	if err != nil || d.ExitStatus != 137 {
		t.Fatalf("cleanup: %v %v", d, err)
	}
	select {
	case <-sb.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("uvm run %d still runs after cleanup", pid)
	}
	if ents, _ := os.ReadDir(f.runDir); len(ents) != 0 {
		t.Errorf("run_dir keeps %v after cleanup", ents)
	}
	for _, name := range []string{pidFile, dirFile} {
		if _, err := os.Stat(filepath.Join(f.bundle, name)); err == nil {
			t.Errorf("%s stays in the bundle", name)
		}
	}
}
