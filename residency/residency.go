package residency

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Release drops the whole pages of data from this process's resident set.
// data must be read-only content of the executable (go:embed): those pages
// are a file mapping, so the kernel reads them back from the binary if
// they are touched again; nothing is lost. Errors are ignored, because the
// only cost of a failed release is memory that stays resident.
func Release(data []byte) {
	page := uintptr(os.Getpagesize())
	if uintptr(len(data)) < page {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	skip := (page - addr%page) % page
	n := (uintptr(len(data)) - skip) / page * page
	if n == 0 {
		return
	}
	_ = unix.Madvise(data[skip:skip+n], unix.MADV_DONTNEED)
}
