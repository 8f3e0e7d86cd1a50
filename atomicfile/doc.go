// Package atomicfile writes files so that readers, and a device that loses
// power mid-write, only ever see the old content or the complete new one.
package atomicfile
