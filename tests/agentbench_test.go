//go:build e2e

package tests

import (
	"context"
	"fmt"
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
)

// The node agent's benchmark (issue 3): `make bench` runs it after the
// server-only table of scripts/bench.sh.
const (
	benchNS       = "default" // where a user's first pod goes
	benchSelector = "app=kedge-bench"
	benchPods     = 30

	aimNodeReady  = 6 * time.Second // issue 13: no system images to import
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
	requireBench(t)
	rssAfter := envInt(t, "RSS_AFTER", 60)
	idleMinutes := envInt(t, "IDLE_MINUTES", 5)
	if idleMinutes < 1 {
		t.Fatalf("IDLE_MINUTES=%d: want whole minutes, at least 1", idleMinutes)
	}

	a := newNetnsServer(t, noPackaged...)
	a.addImage(t, "busybox.tar")
	a.prepareMountNS(t)
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
		if serverReady == 0 && strings.Contains(a.runLog(), serverReadyLine) {
			serverReady = time.Since(start)
		}
		if c == nil {
			if c, watchC = benchClients(a); c == nil {
				last = "no kubeconfig yet"
				return false
			}
		}
		last = nodeState(c, a.name, start)
		return last == ""
	})
	if !ok {
		t.Fatalf("node not Ready within 180s: %s", last)
	}
	nodeReady := time.Since(start)
	if serverReady == 0 { // not seen yet: a late log line, timed coarsely
		a.waitForLog(t, serverReadyLine, 60*time.Second)
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

	benchHeader("node agent: one node, empty data dir, in a test network namespace with no route out")
	benchRow("cold start to 'kedge server is ready'", ms(serverReady), "")
	benchRow("cold start to node Ready", ms(nodeReady), aimDur(nodeReady, aimNodeReady))
	benchRow("cold start to first pod Running", ms(firstRunning.Sub(start)), "")
	benchRow("  first pod: create to Running", ms(firstRunning.Sub(firstSent)), "")
	benchRow(fmt.Sprintf("%d pods created at once: all Running", benchPods), ms(batchAll), aimDur(batchAll, aimPodsAll))
	benchRow("  create to Running, median", ms(median(lat)), "")
	benchRow("  create to Running, p95", ms(percentile(lat, 95)), "")
	benchRow("  create to Running, max", ms(lat[len(lat)-1]), "")
	benchRow(fmt.Sprintf("RSS with %d pods: kedge+containerd+shims", benchPods+1), mib(busy.rss(roleKedge, roleContainerd, roleOther, roleShim)), "")
	benchRow("  kedge", mib(busy.rss(roleKedge)), "")
	benchRow("  containerd", mib(busy.rss(roleContainerd)), "")
	benchRow(fmt.Sprintf("  containerd shims (%d)", busy.count(roleShim)), mib(busy.rss(roleShim)), "")
	benchRow("  shims as PSS (shared pages split)", mib(busy.pss(roleShim)), "")
	benchRow(fmt.Sprintf("  pod processes, not counted (%d)", busy.count(rolePod)), mib(busy.rss(rolePod)), "")
	idleRSS := idle.rss(roleKedge, roleContainerd, roleOther, roleShim)
	benchRow(fmt.Sprintf("idle RSS %ds after pods gone: total", rssAfter), mib(idleRSS), aimBytes(idleRSS, aimIdleRSS))
	benchRow("  kedge", mib(idle.rss(roleKedge)), "")
	benchRow("  containerd", mib(idle.rss(roleContainerd)), "")
	benchRow(fmt.Sprintf("  containerd shims (%d)", idle.count(roleShim)), mib(idle.rss(roleShim)), "")
	if n := idle.count(roleOther); n > 0 {
		benchRow(fmt.Sprintf("  other children of kedge (%d)", n), mib(idle.rss(roleOther)), "")
	}
	benchRow("  of which anonymous (heap, stacks)", mib(idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	benchRow("  of which file-backed (binary pages)", mib(idleRSS-idle.anon(roleKedge, roleContainerd, roleOther, roleShim)), "")
	total := written[roleKedge] + written[roleContainerd] + written[roleShim] + written[roleOther]
	benchRow(fmt.Sprintf("bytes written while idle (%d min)", idleMinutes), fmt.Sprintf("%d B", total), "")
	perMin := total / int64(idleMinutes)
	benchRow("bytes written per idle minute", fmt.Sprintf("%d KiB/min", perMin/1024), aimBytes(perMin, aimIdleWrites))
	benchRow("  kedge (with the children it reaped)", fmt.Sprintf("%d KiB/min", written[roleKedge]/int64(idleMinutes)/1024), "")
	benchRow("  containerd", fmt.Sprintf("%d KiB/min", written[roleContainerd]/int64(idleMinutes)/1024), "")
	benchRow("  containerd shims and other children", fmt.Sprintf("%d KiB/min", (written[roleShim]+written[roleOther])/int64(idleMinutes)/1024), "")
	if rowsErr == nil {
		benchRow("kine rows written while idle", fmt.Sprint(rowsAfter-rowsBefore), "")
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

// benchClients returns a client with a 15 s request timeout for calls and
// one without for the watch, both over the test bridge like client(), with
// rate limits high enough that 30 concurrent creates are not queued in the
// test. nil until kedge has written a usable kubeconfig.
func benchClients(a *node) (*kubernetes.Clientset, *kubernetes.Clientset) {
	cfg, err := a.restConfig()
	if err != nil {
		return nil, nil
	}
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
	return busybox{name: name, app: "kedge-bench", command: []string{"sleep", "3600"}}.pod()
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
func (rw *runningWatch) wait(t *testing.T, a *node, names []string, timeout time.Duration) map[string]time.Time {
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
