package containerd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/atomicfile"
)

// Containerd is the containerd child process as a component.
type Containerd struct {
	cfg     Config
	env     func() []string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  <-chan struct{} // of the current process
	stop    chan struct{}
	restart chan chan error // asks supervise to relaunch now
	done    chan struct{}
}

// New returns a component that runs containerd with cfg; env gives the
// child's environment (its PATH starts with the bundle dir so it finds the
// shim) each time it is launched, so it has what earlier parts' Start set.
func New(cfg Config, env func() []string) *Containerd {
	return &Containerd{cfg: cfg, env: env}
}

// Name implements component.Component.
func (c *Containerd) Name() string { return "containerd" }

// Init creates containerd's directories, picks the snapshotter when the
// config leaves it open, and writes the config file.
func (c *Containerd) Init(context.Context) error {
	for _, d := range []string{c.cfg.Root, c.cfg.State} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if c.cfg.Snapshotter == "" {
		c.cfg.Snapshotter = ChooseSnapshotter(c.cfg.Root)
	}
	_, err := c.writeConfig()
	return err
}

// writeConfig renders the config and writes it when it changed.
func (c *Containerd) writeConfig() (changed bool, err error) {
	data, err := Render(c.cfg)
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(c.cfg.ConfigPath()); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := atomicfile.Write(c.cfg.ConfigPath(), data, 0o600); err != nil {
		return false, fmt.Errorf("writing %s: %w", c.cfg.ConfigPath(), err)
	}
	return true, nil
}

// SetRegistry replaces the config's CRI registry section. Before Init it
// only records it. Once containerd runs, a changed config is written and
// containerd restarted, since the CRI plugin reads credentials only at
// start; running pods stay up in their shims. A config that does not
// render leaves the running one untouched.
func (c *Containerd) SetRegistry(ctx context.Context, section string) (restarted bool, err error) {
	c.mu.Lock()
	old := c.cfg.Registry
	c.cfg.Registry = section
	running := c.cmd != nil
	c.mu.Unlock()
	if !running || old == section {
		return false, nil
	}
	changed, err := c.writeConfig()
	if err != nil {
		c.mu.Lock()
		c.cfg.Registry = old
		c.mu.Unlock()
		return false, err
	}
	if !changed {
		return false, nil
	}
	klog.Infof("registry credentials changed: restarting containerd to load them (running pods keep running)")
	return true, c.Restart(ctx)
}

// Restart stops containerd and launches it again at once, returning when
// the new process answers.
func (c *Containerd) Restart(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case c.restart <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-reply; err != nil {
		return err
	}
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	return c.waitReady(ctx, exited)
}

// Start launches containerd and returns once its socket answers.
func (c *Containerd) Start(ctx context.Context) error {
	exited, err := c.launch()
	if err != nil {
		return err
	}
	c.stop, c.done, c.restart = make(chan struct{}), make(chan struct{}), make(chan chan error)
	go c.supervise(exited)
	return c.waitReady(ctx, exited)
}

// launch starts one containerd process and returns a channel closed when it
// exits.
func (c *Containerd) launch() (<-chan struct{}, error) {
	log, err := os.OpenFile(c.cfg.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening containerd log: %w", err)
	}
	cmd := exec.Command(c.cfg.BinDir+"/containerd", "--config", c.cfg.ConfigPath())
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env(), log, log
	// Its own process group: a Ctrl-C meant for kedge must not kill
	// containerd before kedge stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	exited := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		klog.V(1).Infof("containerd (pid %d) exited: %v", cmd.Process.Pid, err)
		close(exited)
	}()
	return exited, nil
}

// supervise restarts containerd with exponential backoff (1 s to 1 min)
// until Stop. Running pods survive: their shims outlive containerd.
func (c *Containerd) supervise(exited <-chan struct{}) {
	defer close(c.done)
	backoff := time.Second
	for {
		select {
		case <-c.stop:
			return
		case reply := <-c.restart:
			var err error
			exited, err = c.relaunch(exited)
			reply <- err
			backoff = time.Second
			continue
		case <-exited:
		}
		klog.Errorf("containerd exited unexpectedly; restarting in %s (see %s)", backoff, c.cfg.LogPath())
		select {
		case <-c.stop:
			return
		case <-time.After(backoff):
		}
		var err error
		if exited, err = c.launch(); err != nil {
			klog.Errorf("restarting containerd: %v", err)
			closed := make(chan struct{})
			close(closed)
			exited = closed
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// relaunch ends the process whose exit closes exited and starts another.
func (c *Containerd) relaunch(exited <-chan struct{}) (<-chan struct{}, error) {
	c.mu.Lock()
	cmd := c.cmd
	c.mu.Unlock()
	if err := terminate(cmd, exited, 10*time.Second); err != nil {
		return exited, err
	}
	next, err := c.launch()
	if err != nil {
		closed := make(chan struct{})
		close(closed)
		return closed, fmt.Errorf("restarting containerd: %w", err)
	}
	return next, nil
}

// terminate sends SIGTERM and, after grace, SIGKILL.
func terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
		return fmt.Errorf("containerd (pid %d) did not exit", cmd.Process.Pid)
	}
}

func (c *Containerd) waitReady(ctx context.Context, exited <-chan struct{}) error {
	for {
		if c.Ready(ctx) == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("containerd exited during start-up; see %s", c.cfg.LogPath())
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", c.cfg.Socket(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ready reports whether containerd's CRI service answers. The socket
// accepts connections before the CRI plugin has loaded its state, and a
// kubelet started then exits with "server is not initialized yet".
func (c *Containerd) Ready(ctx context.Context) error {
	// A plain dial first: gRPC logs every failed connection attempt.
	var d net.Dialer
	sock, err := d.DialContext(ctx, "unix", c.cfg.Socket())
	if err != nil {
		return fmt.Errorf("containerd socket: %w", err)
	}
	sock.Close()
	conn, err := grpc.NewClient("unix://"+c.cfg.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("containerd socket: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := runtimeapi.NewRuntimeServiceClient(conn).Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		return fmt.Errorf("containerd CRI: %w", err)
	}
	return nil
}

// Stop ends supervision and sends containerd SIGTERM, then SIGKILL after
// the context's deadline. Containers keep running in their shims.
func (c *Containerd) Stop(ctx context.Context) error {
	if c.stop == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("containerd (pid %d) did not stop: %w", cmd.Process.Pid, ctx.Err())
	}
}
