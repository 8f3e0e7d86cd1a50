//go:build e2e

package tests

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The node agent's benchmark (issue 3): `make bench` runs it after the
// server-only table of scripts/bench.sh. It reports; it never fails on a
// figure, only when the node cannot be driven through the steps.
const (
	benchNS       = "default" // where a user's first pod goes
	benchSelector = "app=kedge-bench"
	benchPods     = 30

	aimNodeReady  = 15 * time.Second
	aimPodsAll    = 40 * time.Second
	aimIdleRSS    = 450 * 1000 * 1000 // bytes: 450 MB
	aimIdleWrites = 300 * 1000        // bytes per minute: 300 KB/min
)

// TestAgentBenchmark times one node from an empty data dir to Ready, to a
// first pod Running and through 30 pods created at once, then deletes the
// pods and measures the idle node: RSS after RSS_AFTER seconds (default
// 60) and disk writes over IDLE_MINUTES (default 5, scripts/bench.sh's
// knob). The node runs in a test-made network namespace with no route out,
// with the packaged components off (TestPackagedBenchmark measures them);
// the pods use the busybox archive from KEDGE_IMAGES_DIR.
func TestAgentBenchmark(t *testing.T) {
	if os.Getenv("KEDGE_BENCH") != "1" {
		t.Skip("benchmark: set KEDGE_BENCH=1 (`make bench` does)")
	}
	rssAfter := envInt(t, "RSS_AFTER", 60)
	idleMinutes := envInt(t, "IDLE_MINUTES", 5)
	if idleMinutes < 1 {
		t.Fatalf("IDLE_MINUTES=%d: want whole minutes, at least 1", idleMinutes)
	}

	a := newAgentNode(t, noPackaged...)
	a.addImage(t, "busybox.tar")
	// The first Spawn sets up the node's mount namespace; do that before
	// the clock starts, so cold start times kedge and not the harness.
	begin := time.Now()
	if _, err := a.net.Spawn("true"); err != nil {
		t.Fatal(err)
	}
	t.Logf("node mount namespace ready in %s (not counted)", time.Since(begin).Round(time.Millisecond))
	start := time.Now()
	a.start(t)
	kedgePID := a.cmd.Process.Pid

	// Cold start to Ready: the Ready condition plus a lease renewed by this
	// run (nodeState), polled every 100 ms rather than waitNodeReady's 2 s.
	var c, watchC *kubernetes.Clientset
	var last string
	var serverReady time.Duration
	ok := poll(180*time.Second, 100*time.Millisecond, func() bool {
		if !a.running() {
			t.Fatalf("kedge exited before node Ready:\n%s", tail(a.runLog(), 60))
		}
		if serverReady == 0 && strings.Contains(a.runLog(), readyLine) {
			serverReady = time.Since(start)
		}
		if c == nil {
			if c, watchC = benchClients(a); c == nil {
				last = "no kubeconfig yet"
				return false
			}
		}
		last = a.nodeState(c, start)
		return last == ""
	})
	if !ok {
		t.Fatalf("node not Ready within 180s: %s", last)
	}
	nodeReady := time.Since(start)
	if serverReady == 0 { // not seen yet: a late log line, timed coarsely
		a.waitForLog(t, readyLine, 60*time.Second)
		serverReady = time.Since(start)
	}
	t.Logf("node Ready %s after start", nodeReady.Round(time.Millisecond))
	a.net.HasNoRouteOut(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rw := watchRunning(ctx, t, watchC, benchNS, benchSelector)

	// First pod, created as soon as the node is Ready. The namespace's
	// default ServiceAccount may not exist yet; creation is retried until
	// the apiserver admits the pod, and latency counts from that attempt.
	var firstSent time.Time
	ok = poll(120*time.Second, 100*time.Millisecond, func() bool {
		firstSent = time.Now()
		_, err := c.CoreV1().Pods(benchNS).Create(ctx, benchPod("bench-first"), metav1.CreateOptions{})
		if err != nil {
			last = err.Error()
		}
		return err == nil
	})
	if !ok {
		t.Fatalf("creating the first pod: %s", last)
	}
	firstRunning := rw.wait(t, a, []string{"bench-first"}, 180*time.Second)["bench-first"]
	t.Logf("first pod Running %s after start", firstRunning.Sub(start).Round(time.Millisecond))

	// 30 pods at once: one goroutine each, released together. Latency is
	// client-side and per pod: from just before its Create request is sent
	// to the watch event that first shows it in phase Running, both on the
	// test's clock (creationTimestamp and startedAt have 1 s resolution).
	names := make([]string, benchPods)
	sent := make([]time.Time, benchPods)
	errs := make([]error, benchPods)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range names {
		names[i] = fmt.Sprintf("bench-%02d", i)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			sent[i] = time.Now()
			_, errs[i] = c.CoreV1().Pods(benchNS).Create(ctx, benchPod(names[i]), metav1.CreateOptions{})
		}(i)
	}
	batchStart := time.Now()
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("creating %s: %v", names[i], err)
		}
	}
	running := rw.wait(t, a, names, 300*time.Second)
	var lat []time.Duration
	var allRunning time.Time
	for i, n := range names {
		lat = append(lat, running[n].Sub(sent[i]))
		if running[n].After(allRunning) {
			allRunning = running[n]
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	batchAll := allRunning.Sub(batchStart)
	t.Logf("%d pods Running %s after the first Create", benchPods, batchAll.Round(time.Millisecond))
	busy := sampleProcs(t, kedgePID)

	// Back to no workload: delete every bench pod and wait until the API
	// lists none and their shims (and so their containers) are gone.
	err := c.CoreV1().Pods(benchNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: benchSelector})
	if err != nil {
		t.Fatalf("deleting the bench pods: %v", err)
	}
	deleted := time.Now()
	ok = poll(180*time.Second, time.Second, func() bool {
		list, err := c.CoreV1().Pods(benchNS).List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
		if err != nil {
			last = err.Error()
			return false
		}
		last = podSummary(list.Items)
		return len(list.Items) == 0
	})
	if !ok {
		t.Fatalf("bench pods still listed 180s after deleting them: %s", last)
	}
	ok = poll(120*time.Second, time.Second, func() bool {
		s := sampleProcs(t, kedgePID)
		last = fmt.Sprintf("%d shims, %d pod processes", s.count(roleShim), s.count(rolePod))
		return s.count(roleShim)+s.count(rolePod) == 0
	})
	if !ok {
		t.Fatalf("120s after the pods left the API: %s remain", last)
	}
	// The exited sandboxes stay in containerd until the kubelet's container
	// GC (once a minute) removes them, and that removal (CNI DEL,
	// snapshot and metadata writes) is a burst of several MB: wait it out,
	// or the idle window measures the aftermath of the workload.
	ok = poll(180*time.Second, 2*time.Second, func() bool {
		out, err := a.crictl("pods", "-q")
		ids := sandboxIDs(out)
		last = fmt.Sprintf("%v: %d sandboxes %v", err, len(ids), ids)
		return err == nil && len(ids) == 0
	})
	if !ok {
		t.Fatalf("180s after the pods left the API, crictl pods -q: %s", last)
	}
	t.Logf("pods, shims and sandboxes gone %s after the delete; idling %ds before sampling RSS",
		time.Since(deleted).Round(time.Millisecond), rssAfter)

	time.Sleep(time.Duration(rssAfter) * time.Second)
	idle := sampleProcs(t, kedgePID)

	db := filepath.Join(a.dataDir, "server", "db", "state.db")
	rowsBefore, rowsErr := kineMaxID(db)
	t.Logf("measuring disk writes for %d min", idleMinutes)
	time.Sleep(time.Duration(idleMinutes) * time.Minute)
	idleEnd := sampleProcs(t, kedgePID)
	rowsAfter, err := kineMaxID(db)
	if rowsErr == nil {
		rowsErr = err
	}
	if !a.running() {
		t.Fatalf("kedge exited while idle:\n%s", tail(a.runLog(), 60))
	}
	written := idleEnd.writtenSince(idle)

	fmt.Printf("\nnode agent: one node, empty data dir, in a test network namespace with no route out\n")
	fmt.Printf("\n%-44s %-16s %s\n", "figure", "value", "aim")
	row := func(figure, value, aim string) { fmt.Printf("%-44s %-16s %s\n", figure, value, aim) }
	row("cold start to 'kedge server is ready'", ms(serverReady), "")
	row("cold start to node Ready", ms(nodeReady), aimDur(nodeReady, aimNodeReady))
	row("cold start to first pod Running", ms(firstRunning.Sub(start)), "")
	row("  first pod: create to Running", ms(firstRunning.Sub(firstSent)), "")
	row(fmt.Sprintf("%d pods created at once: all Running", benchPods), ms(batchAll), aimDur(batchAll, aimPodsAll))
	row("  create to Running, median", ms(median(lat)), "")
	row("  create to Running, p95", ms(percentile(lat, 95)), "")
	row("  create to Running, max", ms(lat[len(lat)-1]), "")
	row(fmt.Sprintf("RSS with %d pods: kedge+containerd+shims", benchPods+1), mib(busy.rss(roleKedge, roleContainerd, roleOther, roleShim)), "")
	row("  kedge", mib(busy.rss(roleKedge)), "")
	row("  containerd", mib(busy.rss(roleContainerd)), "")
	row(fmt.Sprintf("  containerd shims (%d)", busy.count(roleShim)), mib(busy.rss(roleShim)), "")
	row("  shims as PSS (shared pages split)", mib(busy.pss(roleShim)), "")
	row(fmt.Sprintf("  pod processes, not counted (%d)", busy.count(rolePod)), mib(busy.rss(rolePod)), "")
	idleRSS := idle.rss(roleKedge, roleContainerd, roleOther, roleShim)
	row(fmt.Sprintf("idle RSS %ds after pods gone: total", rssAfter), mib(idleRSS), aimBytes(idleRSS, aimIdleRSS))
	row("  kedge", mib(idle.rss(roleKedge)), "")
	row("  containerd", mib(idle.rss(roleContainerd)), "")
	row(fmt.Sprintf("  containerd shims (%d)", idle.count(roleShim)), mib(idle.rss(roleShim)), "")
	if n := idle.count(roleOther); n > 0 {
		row(fmt.Sprintf("  other children of kedge (%d)", n), mib(idle.rss(roleOther)), "")
	}
	row("  of which anonymous (heap, stacks)", mib(idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	row("  of which file-backed (binary pages)", mib(idleRSS-idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	total := written[roleKedge] + written[roleContainerd] + written[roleShim] + written[roleOther]
	row(fmt.Sprintf("bytes written while idle (%d min)", idleMinutes), fmt.Sprintf("%d B", total), "")
	perMin := total / int64(idleMinutes)
	row("bytes written per idle minute", fmt.Sprintf("%d KiB/min", perMin/1024), aimBytes(perMin, aimIdleWrites))
	row("  kedge (with the children it reaped)", fmt.Sprintf("%d KiB/min", written[roleKedge]/int64(idleMinutes)/1024), "")
	row("  containerd", fmt.Sprintf("%d KiB/min", written[roleContainerd]/int64(idleMinutes)/1024), "")
	row("  containerd shims and other children", fmt.Sprintf("%d KiB/min", (written[roleShim]+written[roleOther])/int64(idleMinutes)/1024), "")
	if rowsErr == nil {
		row("kine rows written while idle", fmt.Sprint(rowsAfter-rowsBefore), "")
	} else {
		t.Logf("kine rows not counted: %v", rowsErr)
	}
	fmt.Print(`
create to Running: test's clock, from just before each Create request to
  the watch event that first shows the pod in phase Running.
idle: the bench pods, their shims and their sandboxes are gone (kubelet GC),
  then RSS after RSS_AFTER s and write_bytes (/proc/<pid>/io) over
  IDLE_MINUTES. RSS sums VmRSS of kedge, its descendants and the shims:
  pages shared by several processes count once per process.
`)
	if rowsErr == nil {
		if out, err := kineRowsByKey(db, rowsBefore); err == nil {
			fmt.Printf("\nkine rows written while idle, by key:\n%s", out)
		}
	}
	fmt.Println()
}

// sandboxIDs picks the IDs out of `crictl pods -q` output, which also
// holds crictl's warnings (stderr).
func sandboxIDs(out string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 12 && strings.Trim(line, "0123456789abcdef") == "" {
			ids = append(ids, line)
		}
	}
	return ids
}

// benchClients returns a client with a 15 s request timeout for calls and
// one without for the watch, both over the test bridge like client(), with
// rate limits high enough that 30 concurrent creates are not queued in the
// test. nil until kedge has written a usable kubeconfig.
func benchClients(a *agentNode) (*kubernetes.Clientset, *kubernetes.Clientset) {
	cfg, err := clientcmd.BuildConfigFromFlags("", a.kubeconfig)
	if err != nil {
		return nil, nil
	}
	cfg.Host = fmt.Sprintf("https://%s:%d", a.net.IP, apiPort)
	cfg.QPS, cfg.Burst = 200, 400
	watchC, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil
	}
	cfg.Timeout = 15 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil
	}
	return c, watchC
}

// benchPod is a busybox that sleeps, from the node's imported archive.
func benchPod(name string) *corev1.Pod {
	grace := int64(1) // sleep as PID 1 ignores SIGTERM
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "kedge-bench"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name:            "sleep",
				Image:           "kedge.local/busybox:1.35.0",
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"sleep", "3600"},
			}},
		},
	}
}

// runningWatch records, on the test's clock, when a watch first showed
// each pod in phase Running.
type runningWatch struct {
	mu      sync.Mutex
	running map[string]time.Time
}

// watchRunning lists and watches the pods of selector in ns until ctx
// ends, re-listing whenever the watch closes.
func watchRunning(ctx context.Context, t *testing.T, c *kubernetes.Clientset, ns, selector string) *runningWatch {
	rw := &runningWatch{running: map[string]time.Time{}}
	note := func(p *corev1.Pod, at time.Time) {
		if p.Status.Phase != corev1.PodRunning {
			return
		}
		rw.mu.Lock()
		defer rw.mu.Unlock()
		if _, seen := rw.running[p.Name]; !seen {
			rw.running[p.Name] = at
		}
	}
	go func() {
		for ctx.Err() == nil {
			list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			now := time.Now()
			for i := range list.Items {
				note(&list.Items[i], now)
			}
			w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
				LabelSelector: selector, ResourceVersion: list.ResourceVersion})
			if err != nil {
				continue
			}
			for ev := range w.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok {
					note(p, time.Now())
				}
			}
			w.Stop()
			if ctx.Err() == nil {
				t.Logf("pod watch closed; listing again")
			}
		}
	}()
	return rw
}

// wait returns when every pod of names has been seen Running, with the
// times; it fails the test after timeout or if kedge exits.
func (rw *runningWatch) wait(t *testing.T, a *agentNode, names []string, timeout time.Duration) map[string]time.Time {
	t.Helper()
	var missing []string
	ok := poll(timeout, 50*time.Millisecond, func() bool {
		if !a.running() {
			t.Fatalf("kedge exited while waiting for pods:\n%s", tail(a.runLog(), 60))
		}
		rw.mu.Lock()
		defer rw.mu.Unlock()
		missing = missing[:0]
		for _, n := range names {
			if _, ok := rw.running[n]; !ok {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0
	})
	if !ok {
		t.Fatalf("pods not Running within %s: %v", timeout, missing)
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	out := map[string]time.Time{}
	for _, n := range names {
		out[n] = rw.running[n]
	}
	return out
}

// A node process's part in the figures.
type procRole string

const (
	roleKedge      procRole = "kedge"      // the `kedge server` process
	roleContainerd procRole = "containerd" // kedge's child
	roleShim       procRole = "shim"       // containerd-shim-runc-v2, wherever reparented
	roleOther      procRole = "other"      // any other descendant of kedge (iptables, ctr, mount, ...)
	rolePod        procRole = "pod"        // below a shim: containers, never in the node's totals
)

type procInfo struct {
	role    procRole
	start   string // starttime from /proc/<pid>/stat: tells a reused PID apart
	rssKB   int64
	anonKB  int64
	pssKB   int64 // proportional: pages shared by n processes count 1/n each
	written int64 // write_bytes from /proc/<pid>/io
}

// procSample is one look at the node's processes, by PID.
type procSample map[int]procInfo

// sampleProcs finds kedge's processes: kedge itself, its descendants, and
// the shims in its mount namespace. Shims daemonize, so they are reparented
// away from containerd (to init, or to a subreaper); their descendants are
// the pods' processes. Other processes in that mount namespace (the
// harness's holder, `kedge kubectl` runs) are not the node's and are left
// out.
func sampleProcs(t *testing.T, kedgePID int) procSample {
	t.Helper()
	type proc struct {
		ppid        int
		comm, start string
	}
	procs := map[int]proc{}
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(stat)
		end := strings.LastIndexByte(s, ')')
		begin := strings.IndexByte(s, '(')
		if begin < 0 || end < begin {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = proc{ppid: ppid, comm: s[begin+1 : end], start: f[19]}
		children[ppid] = append(children[ppid], pid)
	}
	if _, ok := procs[kedgePID]; !ok {
		t.Fatalf("kedge (pid %d) is gone", kedgePID)
	}
	isShim := func(pid int) bool { return strings.HasPrefix(procs[pid].comm, "containerd-shim") }

	roles := map[int]procRole{}
	var mark func(pid int, role procRole)
	mark = func(pid int, role procRole) {
		if _, done := roles[pid]; done {
			return
		}
		switch {
		case role == rolePod:
		case isShim(pid):
			role = roleShim
		case pid == kedgePID:
			role = roleKedge
		case procs[pid].comm == "containerd":
			role = roleContainerd
		default:
			role = roleOther
		}
		roles[pid] = role
		below := role
		if role == roleShim {
			below = rolePod
		}
		for _, c := range children[pid] {
			mark(c, below)
		}
	}
	mark(kedgePID, roleKedge)
	if mnt, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", kedgePID)); err == nil {
		for pid := range procs {
			if !isShim(pid) {
				continue
			}
			if m, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && m == mnt {
				mark(pid, roleShim)
			}
		}
	}

	out := procSample{}
	for pid, role := range roles {
		info := procInfo{role: role, start: procs[pid].start}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue // exited meanwhile
		}
		info.rssKB = procField(string(status), "VmRSS:")
		if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
			info.anonKB = procField(string(rollup), "Anonymous:")
			info.pssKB = procField(string(rollup), "Pss:")
		}
		if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
			info.written = procField(string(io), "write_bytes:")
		}
		out[pid] = info
	}
	return out
}

// procField is the first number after key at the start of a line.
func procField(text, key string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func (s procSample) count(role procRole) int {
	n := 0
	for _, p := range s {
		if p.role == role {
			n++
		}
	}
	return n
}

// rss is the summed VmRSS, in bytes, of roles. Pages shared between
// processes (the shims' binary) count once per process.
func (s procSample) rss(roles ...procRole) int64 {
	var kb int64
	for _, p := range s {
		if containsRole(roles, p.role) {
			kb += p.rssKB
		}
	}
	return kb * 1024
}

func (s procSample) anon(roles ...procRole) int64 {
	var kb int64
	for _, p := range s {
		if containsRole(roles, p.role) {
			kb += p.anonKB
		}
	}
	return kb * 1024
}

func (s procSample) pss(roles ...procRole) int64 {
	var kb int64
	for _, p := range s {
		if containsRole(roles, p.role) {
			kb += p.pssKB
		}
	}
	return kb * 1024
}

func containsRole(roles []procRole, r procRole) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// writtenSince is the bytes each role wrote between before and s, from
// write_bytes (bytes the process caused to be sent to storage). What is
// counted: the growth of every process alive at both samples, which
// includes the children it reaped meanwhile (the kernel adds a reaped
// child's I/O to its parent: kedge's iptables and ctr runs count as kedge,
// containerd's short-lived shim starters as containerd); and the whole
// write_bytes of a process started after before and still alive. Lost: a
// process that exited without being reaped by one of these (a shim
// reparented to init), and writes that never reach storage (tmpfs).
func (s procSample) writtenSince(before procSample) map[procRole]int64 {
	out := map[procRole]int64{}
	for pid, p := range s {
		w := p.written
		if b, ok := before[pid]; ok && b.start == p.start {
			w -= b.written
		}
		out[p.role] += w
	}
	return out
}

// kineMaxID is the newest kine row id, read with the sqlite3 tool as
// scripts/bench.sh does.
func kineMaxID(db string) (int64, error) {
	out, err := exec.Command("sqlite3", "file:"+db+"?mode=ro", "SELECT max(id) FROM kine").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("sqlite3: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func kineRowsByKey(db string, after int64) (string, error) {
	out, err := exec.Command("sqlite3", "file:"+db+"?mode=ro", fmt.Sprintf(
		"SELECT count(*), name FROM kine WHERE id > %d GROUP BY name ORDER BY 1 DESC LIMIT 15", after)).Output()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			b.WriteString("  " + line + "\n")
		}
	}
	return b.String(), nil
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

func median(d []time.Duration) time.Duration {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// percentile is the nearest-rank percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func mib(b int64) string { return fmt.Sprintf("%d MiB", b/(1<<20)) }

// aimDur and aimBytes print an aim and whether the figure met it.
func aimDur(got, aim time.Duration) string {
	return fmt.Sprintf("< %s (%s)", aim, metOrMissed(got < aim))
}

// aimBytes prints aim (bytes) in decimal units, as issue 3 states it, and
// in the binary units of the value column.
func aimBytes(got, aim int64) string {
	if aim >= 1000*1000 {
		return fmt.Sprintf("< %d MB = %d MiB (%s)", aim/1000/1000, aim>>20, metOrMissed(got < aim))
	}
	return fmt.Sprintf("< %d KB/min = %d KiB/min (%s)", aim/1000, aim>>10, metOrMissed(got < aim))
}

func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
