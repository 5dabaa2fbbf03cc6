/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/mem.h - the guest memory table: which guest-physical
 * address (GPA) ranges exist and where they live in the VMM's address space.
 * Every guest address the library touches is checked here in full: a range
 * is accepted only if every byte of it lies in guest memory.
 */
#ifndef LIBVDPASTATE_MEM_H
#define LIBVDPASTATE_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_mem;

/* Region flags. */
#define VDPASTATE_MEM_READONLY (1u << 0) /* the device may not write here */

struct vdpastate_mem_region {
	uint64_t gpa;   /* first guest-physical address */
	uint64_t size;  /* bytes, > 0 */
	void *hva;      /* where the region is mapped in the VMM */
	uint32_t flags; /* VDPASTATE_MEM_* */
	uint32_t reserved; /* zero */
};

/* One contiguous piece of a guest range. */
struct vdpastate_mem_seg {
	uint64_t gpa;
	uint64_t len;
	void *hva;
};

/* An empty table.  NULL with errno ENOMEM on failure. */
VDPASTATE_API struct vdpastate_mem *vdpastate_mem_new(void);
/* Free the table; NULL is a no-op.  Guest memory itself is not touched. */
VDPASTATE_API void vdpastate_mem_free(struct vdpastate_mem *mem);

/*
 * Add a region.  -EINVAL: size 0, gpa + size wraps past 2^64, hva NULL or
 * hva + size wraps, unknown flags; -EEXIST: overlaps a region already in
 * the table.  Adjacent regions are kept separate.
 */
VDPASTATE_API int vdpastate_mem_add(struct vdpastate_mem *mem, uint64_t gpa,
				    uint64_t size, void *hva, uint32_t flags);

/* Remove the region that starts at gpa.  -ENOENT if there is none. */
VDPASTATE_API int vdpastate_mem_remove(struct vdpastate_mem *mem,
				       uint64_t gpa);

/* Number of regions. */
VDPASTATE_API unsigned int vdpastate_mem_count(const struct vdpastate_mem *mem);

/* The idx-th region in GPA order.  -ENOENT if idx >= count. */
VDPASTATE_API int vdpastate_mem_get(const struct vdpastate_mem *mem,
				    unsigned int idx,
				    struct vdpastate_mem_region *out);

/*
 * Host pointer for one guest address, O(log n).  *contig (may be NULL)
 * receives the number of bytes from gpa to the end of its region.  NULL
 * with errno EFAULT if gpa is not guest memory.
 */
VDPASTATE_API void *vdpastate_mem_lookup(const struct vdpastate_mem *mem,
					 uint64_t gpa, uint64_t *contig);

/*
 * Resolve the whole range [gpa, gpa + len) into at most max_segs segments,
 * one per region it crosses, in order.  Returns the number of segments
 * (0 for len 0).  -EFAULT: some byte of the range is not guest memory, or
 * the range wraps past 2^64 (checked for every byte, not just the start);
 * -EROFS: write is true and part of the range is read-only; -ENOBUFS: more
 * than max_segs segments would be needed (the whole range was checked and
 * the first max_segs segments are filled in, so a caller can continue
 * after them).  O(log n + segments); no allocation.
 */
VDPASTATE_API int vdpastate_mem_range(const struct vdpastate_mem *mem,
				      uint64_t gpa, uint64_t len, bool write,
				      struct vdpastate_mem_seg *segs,
				      unsigned int max_segs);

/*
 * Thread safety: any number of threads may call the const functions at the
 * same time as long as no thread calls add/remove/free.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_MEM_H */
