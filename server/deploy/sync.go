package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// Event reasons, also the word after "deploy: " in the matching log line.
const (
	ReasonApplied      = "Applied"
	ReasonApplyFailed  = "ApplyFailed"
	ReasonDeleted      = "Deleted"
	ReasonDeleteFailed = "DeleteFailed"
)

// removedContent stands for the content of a removed file when keeping
// track of what was reported about it.
const removedContent = "removed"

// job is one file being applied in a pass.
type job struct {
	file    file
	objs    []object
	applied []objectRef
	errs    []string
}

// sync is one pass: it applies new, changed and failed files, prunes the
// objects they dropped, and deletes the objects of removed files.
func (c *Controller) sync(ctx context.Context) error {
	if err := c.loadRecords(ctx); err != nil {
		return err
	}
	files, skipped, err := listFiles(c.opts.Dir)
	if err != nil {
		return err
	}
	c.noteSkipped(skipped)
	c.applyJobs(ctx, c.jobs(ctx, files))
	c.removeGone(ctx, files, skipped)
	return nil
}

// loadRecords reads the records once; later passes keep them up to date.
func (c *Controller) loadRecords(ctx context.Context) error {
	if c.records != nil {
		return nil
	}
	records, err := c.api.Records(ctx)
	if err != nil {
		return err
	}
	c.records = map[string]record{}
	for _, r := range records {
		c.records[r.File] = r
	}
	return nil
}

// noteSkipped forgets what was applied from skipped files, so that their
// content is applied again once the marker goes.
func (c *Controller) noteSkipped(skipped map[string]bool) {
	for name := range skipped {
		if !c.skipped[name] {
			klog.Infof("deploy: skipping %s: %s%s exists", name, name, skipSuffix)
		}
		delete(c.applied, name)
		delete(c.reported, name)
	}
	c.skipped = skipped
}

// jobs parses the files that changed since they last applied, or never did.
func (c *Controller) jobs(ctx context.Context, files []file) []*job {
	var jobs []*job
	for _, f := range files {
		if f.err == nil && c.applied[f.name] == f.sha256 {
			continue
		}
		// Whatever happens now, the content in effect is not known any
		// more: going back to it must apply it again.
		delete(c.applied, f.name)
		if f.err != nil {
			c.warn(ctx, f, ReasonApplyFailed, fmt.Sprintf("reading: %v", f.err))
			continue
		}
		objs, err := parseFile(f.name, f.data)
		if err != nil {
			c.warn(ctx, f, ReasonApplyFailed, err.Error())
			continue
		}
		jobs = append(jobs, &job{file: f, objs: objs})
	}
	return jobs
}

// applyJobs applies phase by phase across all files, so a CRD or Namespace
// exists before what uses it even when another file declares it.
func (c *Controller) applyJobs(ctx context.Context, jobs []*job) {
	for _, p := range phases {
		var crds []string
		for _, j := range jobs {
			crds = append(crds, c.applyPhase(ctx, j, p)...)
		}
		if len(crds) > 0 {
			if err := c.api.WaitCRDs(ctx, crds); err != nil {
				klog.Errorf("deploy: %v", err)
			}
		}
	}
	// Record every applied object before pruning any, so that an object
	// moving to another file is claimed by that file when this one drops
	// it, and a crash never leaves an applied object unrecorded for long.
	for _, j := range jobs {
		old := c.records[j.file.name]
		if err := c.track(ctx, record{File: j.file.name, SHA256: old.SHA256, Objects: union(old.Objects, j.applied)}); err != nil {
			j.errs = append(j.errs, err.Error())
		}
	}
	for _, j := range jobs {
		c.finish(ctx, j)
	}
}

// applyPhase applies the objects of j in phase p and returns the names of
// the CRDs among them.
func (c *Controller) applyPhase(ctx context.Context, j *job, p phase) []string {
	var crds []string
	for _, o := range j.objs {
		if o.phase() != p {
			continue
		}
		ref, err := c.api.Apply(ctx, o.obj)
		if err != nil {
			j.errs = append(j.errs, fmt.Sprintf("%s: %v", o, err))
			continue
		}
		j.applied = append(j.applied, ref)
		if p == phaseCRD {
			crds = append(crds, ref.Name)
		}
	}
	return crds
}

// finish prunes what a file that applied whole dropped, and records its
// content as applied. A file that failed is tried again next pass.
func (c *Controller) finish(ctx context.Context, j *job) {
	f := j.file
	if len(j.errs) > 0 {
		c.warn(ctx, f, ReasonApplyFailed, strings.Join(j.errs, "; "))
		return
	}
	stale := prunable(c.records[f.name].Objects, j.applied, c.claimedBesides(f.name))
	failed, errs := c.deleteAll(ctx, stale, "no longer in "+f.name)
	if err := c.save(ctx, record{File: f.name, SHA256: f.sha256, Objects: union(j.applied, failed)}); err != nil {
		c.warn(ctx, f, ReasonApplyFailed, err.Error())
		return
	}
	if len(failed) > 0 {
		c.warn(ctx, f, ReasonDeleteFailed, strings.Join(errs, "; "))
		return
	}
	c.applied[f.name] = f.sha256
	delete(c.reported, f.name)
	c.event(ctx, f.name, corev1.EventTypeNormal, ReasonApplied,
		fmt.Sprintf("applied %d objects, pruned %d", len(j.applied), len(stale)))
}

// track saves r unless it lists as many objects as the stored record:
// r only ever adds to it or drops from it.
func (c *Controller) track(ctx context.Context, r record) error {
	if len(r.Objects) == len(c.records[r.File].Objects) {
		return nil
	}
	return c.save(ctx, r)
}

func (c *Controller) save(ctx context.Context, r record) error {
	if err := c.api.SaveRecord(ctx, r); err != nil {
		return err
	}
	c.records[r.File] = r
	return nil
}

// claimedBesides returns the objects the records of other files list.
func (c *Controller) claimedBesides(name string) map[objectKey]bool {
	claimed := map[objectKey]bool{}
	for file, r := range c.records {
		if file == name {
			continue
		}
		for _, ref := range r.Objects {
			claimed[ref.key()] = true
		}
	}
	return claimed
}

// deleteAll deletes refs in order and returns the ones that failed, with
// their errors.
func (c *Controller) deleteAll(ctx context.Context, refs []objectRef, why string) ([]objectRef, []string) {
	var failed []objectRef
	var errs []string
	for _, ref := range refs {
		if err := c.api.Delete(ctx, ref); err != nil {
			failed = append(failed, ref)
			errs = append(errs, fmt.Sprintf("deleting %s: %v", ref, err))
			continue
		}
		klog.Infof("deploy: deleted %s (%s)", ref, why)
	}
	return failed, errs
}

// removeGone deletes the objects of files that are gone and not skipped,
// then their records.
func (c *Controller) removeGone(ctx context.Context, files []file, skipped map[string]bool) {
	present := map[string]bool{}
	for _, f := range files {
		present[f.name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(c.records)) {
		if !present[name] && !skipped[name] {
			c.remove(ctx, c.records[name])
		}
	}
}

func (c *Controller) remove(ctx context.Context, r record) {
	gone := file{name: r.File, sha256: removedContent}
	stale := prunable(r.Objects, nil, c.claimedBesides(r.File))
	failed, errs := c.deleteAll(ctx, stale, r.File+" removed")
	if len(failed) > 0 {
		if err := c.track(ctx, record{File: r.File, SHA256: r.SHA256, Objects: failed}); err != nil {
			klog.Errorf("deploy: %v", err)
		}
		c.warn(ctx, gone, ReasonDeleteFailed, strings.Join(errs, "; "))
		return
	}
	if err := c.api.DeleteRecord(ctx, r.File); err != nil {
		klog.Errorf("deploy: %v", err)
		return
	}
	delete(c.records, r.File)
	delete(c.applied, r.File)
	delete(c.reported, r.File)
	c.event(ctx, r.File, corev1.EventTypeNormal, ReasonDeleted,
		fmt.Sprintf("file removed, deleted %d objects", len(stale)))
}

// warn reports a failure once per content and reason: a failing file is
// retried every pass, but reported again only once it changed, or after
// a restart.
func (c *Controller) warn(ctx context.Context, f file, reason, detail string) {
	key := f.sha256 + " " + reason
	if c.reported[f.name] == key {
		klog.V(2).Infof("deploy: %s %s: %s (reported before)", reason, f.name, detail)
		return
	}
	c.reported[f.name] = key
	c.event(ctx, f.name, corev1.EventTypeWarning, reason, detail)
}

// event logs "deploy: <reason> <file>: <detail>" and records the Event
// with the message "<file>: <detail>", both on one line.
func (c *Controller) event(ctx context.Context, name, eventType, reason, detail string) {
	message := name + ": " + strings.Join(strings.Fields(detail), " ")
	if eventType == corev1.EventTypeWarning {
		klog.Errorf("deploy: %s %s", reason, message)
	} else {
		klog.Infof("deploy: %s %s", reason, message)
	}
	if err := c.api.Event(ctx, name, eventType, reason, message); err != nil {
		klog.V(1).Infof("deploy: %v", err)
	}
}
