package main

// The client of `uvm run --control` (docs/sandbox.md "The control socket"):
// one JSON request per line, one response line each, in order, on one
// connection. Requests never block, so one connection under a mutex serves
// every caller.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// maxLine is the protocol's bound on a line (64 KiB).
const maxLine = 64 << 10

// controlError is a refusal of `uvm run` (ok: false): its error text and,
// when the agent's policy engine refused, the denial as given.
type controlError struct {
	Op      string
	Message string
	Denial  json.RawMessage
}

func (e *controlError) Error() string {
	if len(e.Denial) > 0 {
		return fmt.Sprintf("%s: %s (policy denial: %s)", e.Op, e.Message, e.Denial)
	}
	return fmt.Sprintf("%s: %s", e.Op, e.Message)
}

type controlClient struct {
	mu   sync.Mutex
	path string
	conn net.Conn
	r    *bufio.Reader
}

func newControlClient(path string) *controlClient {
	return &controlClient{path: path}
}

// dial connects once; a failed request drops the connection so the next one
// reconnects.
func (c *controlClient) dial() error {
	if c.conn != nil {
		return nil
	}
	conn, err := net.DialTimeout("unix", c.path, 5*time.Second)
	if err != nil {
		return err
	}
	c.conn = conn
	c.r = bufio.NewReaderSize(conn, 4096)
	return nil
}

func (c *controlClient) drop() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
		c.r = nil
	}
}

// Close drops the connection.
func (c *controlClient) Close() {
	c.mu.Lock()
	c.drop()
	c.mu.Unlock()
}

// do sends {"op": op, ...args} and decodes the result into out (may be nil).
// A refusal is a *controlError; anything else is a transport error.
func (c *controlClient) do(op string, args map[string]interface{}, out interface{}) error {
	req := map[string]interface{}{"op": op}
	for k, v := range args {
		req[k] = v
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if len(line) >= maxLine {
		return fmt.Errorf("%s: request of %d bytes exceeds the control socket's %d byte line", op, len(line), maxLine)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.dial(); err != nil {
		return fmt.Errorf("%s: connect to %s: %w", op, c.path, err)
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(append(line, '\n')); err != nil {
		c.drop()
		return fmt.Errorf("%s: write to %s: %w", op, c.path, err)
	}
	resp, err := readLine(c.r)
	if err != nil {
		c.drop()
		return fmt.Errorf("%s: read from %s: %w", op, c.path, err)
	}
	var r struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
		Denial json.RawMessage `json:"denial"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		c.drop()
		return fmt.Errorf("%s: response is not JSON: %w", op, err)
	}
	if !r.OK {
		return &controlError{Op: op, Message: r.Error, Denial: r.Denial}
	}
	if out != nil && len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, out); err != nil {
			return fmt.Errorf("%s: unexpected result %s: %w", op, r.Result, err)
		}
	}
	return nil
}

// readLine reads one line of at most maxLine bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("response line longer than %d bytes", maxLine)
		}
		if err == nil {
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// procState is the result of `state`.
type procState struct {
	Status   string `json:"status"` // created, running, stopped
	ExitCode *int   `json:"exit_code"`
	Signal   *int   `json:"signal"`
}

func execArgs(execID string) map[string]interface{} {
	args := map[string]interface{}{}
	if execID != "" {
		args["exec_id"] = execID
	}
	return args
}

func (c *controlClient) State(execID string) (procState, error) {
	var st procState
	err := c.do("state", execArgs(execID), &st)
	return st, err
}

func (c *controlClient) Start() (int, error) {
	var r struct {
		Pid int `json:"pid"`
	}
	err := c.do("start", nil, &r)
	return r.Pid, err
}

// execRequest is what `exec` takes (paths are containerd's FIFOs).
type execRequest struct {
	ExecID string   `json:"exec_id"`
	Argv   []string `json:"argv"`
	Env    []string `json:"env,omitempty"`
	Cwd    string   `json:"cwd,omitempty"`
	Stdin  string   `json:"stdin,omitempty"`
	Stdout string   `json:"stdout,omitempty"`
	Stderr string   `json:"stderr,omitempty"`
}

func (c *controlClient) Exec(e execRequest) error {
	args := map[string]interface{}{"exec_id": e.ExecID, "argv": e.Argv}
	if len(e.Env) > 0 {
		args["env"] = e.Env
	}
	for k, v := range map[string]string{"cwd": e.Cwd, "stdin": e.Stdin, "stdout": e.Stdout, "stderr": e.Stderr} {
		if v != "" {
			args[k] = v
		}
	}
	return c.do("exec", args, nil)
}

func (c *controlClient) Kill(execID string, signal uint32) error {
	args := execArgs(execID)
	args["signal"] = signal
	return c.do("kill", args, nil)
}

func (c *controlClient) CloseStdin(execID string) error {
	return c.do("close_stdin", execArgs(execID), nil)
}

func (c *controlClient) Pids() ([]int, error) {
	var r struct {
		Pids []int `json:"pids"`
	}
	err := c.do("pids", nil, &r)
	return r.Pids, err
}

type sandboxStats struct {
	MemoryKiB     uint64 `json:"memory_kib"`
	AgentVmRSSKiB uint64 `json:"agent_vmrss_kib"`
}

func (c *controlClient) Stats() (sandboxStats, error) {
	var s sandboxStats
	err := c.do("stats", nil, &s)
	return s, err
}

func (c *controlClient) Shutdown() error {
	return c.do("shutdown", nil, nil)
}
