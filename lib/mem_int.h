/* SPDX-License-Identifier: MIT */
/*
 * lib/mem_int.h - what the data path needs from the memory table beyond
 * the public API: the whole region around an address, so that callers can
 * cache it.  Never installed.
 */
#ifndef VDS_MEM_INT_H
#define VDS_MEM_INT_H

#include <stdint.h>

#include <libvdpastate/mem.h>

struct vds_mem_region {
	uint64_t first; /* first GPA */
	uint64_t last;  /* last GPA */
	uintptr_t hva;  /* host address of first */
	uint32_t flags;
};

/* The region holding gpa: 0, or -EFAULT if gpa is not guest memory. */
int vds_mem_region(const struct vdpastate_mem *mem, uint64_t gpa,
		   struct vds_mem_region *out);

#endif
