package containerd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/atomicfile"
)

// Containerd is the containerd child process as a component.
type Containerd struct {
	cfg    Config
	env    func() []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{} // of the current process
	stop   chan struct{}
	done   chan struct{}
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
	data, err := Render(c.cfg)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(c.cfg.ConfigPath(), data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", c.cfg.ConfigPath(), err)
	}
	return nil
}

// Start launches containerd and returns once its socket answers.
func (c *Containerd) Start(ctx context.Context) error {
	exited, err := c.launch()
	if err != nil {
		return err
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
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

// Ready reports whether containerd's socket accepts connections.
func (c *Containerd) Ready(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.cfg.Socket())
	if err != nil {
		return fmt.Errorf("containerd socket: %w", err)
	}
	return conn.Close()
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
