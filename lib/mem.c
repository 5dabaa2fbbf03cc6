/* SPDX-License-Identifier: MIT */
/*
 * lib/mem.c - the guest memory table: GPA regions kept in a sorted array.
 * The table changes rarely (memory hotplug) and is read on every
 * descriptor, so reads are a binary search and writes may move the array.
 * Every region is stored by its last byte, never by gpa + size, so a
 * region ending exactly at 2^64 needs no special case.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libvdpastate/mem.h>

#include "internal.h"
#include "mem_int.h"

struct mem_region {
	uint64_t gpa;
	uint64_t last; /* gpa + size - 1 */
	uintptr_t hva;
	uint32_t flags;
};

struct vdpastate_mem {
	struct mem_region *r;
	unsigned int n;
	unsigned int cap;
};

#define MEM_KNOWN_FLAGS VDPASTATE_MEM_READONLY

VDPASTATE_API struct vdpastate_mem *vdpastate_mem_new(void)
{
	struct vdpastate_mem *mem = calloc(1, sizeof(*mem));

	if (!mem)
		return vds_fail_ptr(-ENOMEM, "mem: new: out of memory");
	return mem;
}

VDPASTATE_API void vdpastate_mem_free(struct vdpastate_mem *mem)
{
	if (!mem)
		return;
	free(mem->r);
	free(mem);
}

/* Number of regions whose first GPA is <= gpa (index of the first above). */
static unsigned int upper_bound(const struct vdpastate_mem *mem, uint64_t gpa)
{
	unsigned int lo = 0, hi = mem->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (mem->r[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The region holding gpa, or NULL. */
static const struct mem_region *find(const struct vdpastate_mem *mem,
				     uint64_t gpa)
{
	unsigned int i = upper_bound(mem, gpa);

	if (i == 0 || mem->r[i - 1].last < gpa)
		return NULL;
	return &mem->r[i - 1];
}

VDPASTATE_API int vdpastate_mem_add(struct vdpastate_mem *mem, uint64_t gpa,
				    uint64_t size, void *hva, uint32_t flags)
{
	uint64_t last = gpa + size - 1;
	unsigned int i;

	if (!mem)
		return vds_fail(-EINVAL, "mem: add: no table");
	if (size == 0)
		return vds_fail(-EINVAL, "mem: add GPA 0x%llx: size 0",
				(unsigned long long)gpa);
	if (size - 1 > UINT64_MAX - gpa)
		return vds_fail(-EINVAL,
				"mem: add GPA [0x%llx, +0x%llx]: wraps past 2^64",
				(unsigned long long)gpa,
				(unsigned long long)size);
	if (!hva)
		return vds_fail(-EINVAL,
				"mem: add GPA [0x%llx, +0x%llx]: host pointer is NULL",
				(unsigned long long)gpa,
				(unsigned long long)size);
	if (size - 1 > UINTPTR_MAX - (uintptr_t)hva)
		return vds_fail(-EINVAL,
				"mem: add GPA [0x%llx, +0x%llx]: host range at %p wraps",
				(unsigned long long)gpa,
				(unsigned long long)size, hva);
	if (flags & ~MEM_KNOWN_FLAGS)
		return vds_fail(-EINVAL,
				"mem: add GPA [0x%llx, +0x%llx]: unknown flags 0x%x",
				(unsigned long long)gpa,
				(unsigned long long)size,
				(unsigned)(flags & ~MEM_KNOWN_FLAGS));

	/* Regions are disjoint and sorted: only the neighbours can overlap. */
	i = upper_bound(mem, gpa);
	if (i > 0 && mem->r[i - 1].last >= gpa)
		i--;
	else if (i == mem->n || mem->r[i].gpa > last)
		goto free_slot;
	return vds_fail(-EEXIST,
			"mem: add GPA [0x%llx, 0x%llx]: overlaps region "
			"[0x%llx, 0x%llx]",
			(unsigned long long)gpa, (unsigned long long)last,
			(unsigned long long)mem->r[i].gpa,
			(unsigned long long)mem->r[i].last);

free_slot:
	if (mem->n == mem->cap) {
		unsigned int cap = mem->cap ? mem->cap * 2 : 8;
		struct mem_region *r;

		/* mem_range() returns a segment count as an int. */
		if (mem->n >= INT_MAX / 2)
			return vds_fail(-ENOMEM, "mem: add: table full (%u regions)",
					mem->n);
		r = realloc(mem->r, (size_t)cap * sizeof(*r));
		if (!r)
			return vds_fail(-ENOMEM,
					"mem: add GPA [0x%llx, +0x%llx]: out of memory",
					(unsigned long long)gpa,
					(unsigned long long)size);
		mem->r = r;
		mem->cap = cap;
	}
	memmove(&mem->r[i + 1], &mem->r[i], (mem->n - i) * sizeof(*mem->r));
	mem->r[i] = (struct mem_region){ .gpa = gpa, .last = last,
					 .hva = (uintptr_t)hva, .flags = flags };
	mem->n++;
	return 0;
}

VDPASTATE_API int vdpastate_mem_remove(struct vdpastate_mem *mem, uint64_t gpa)
{
	unsigned int i;

	if (!mem)
		return vds_fail(-EINVAL, "mem: remove: no table");
	i = upper_bound(mem, gpa);
	if (i == 0 || mem->r[i - 1].gpa != gpa)
		return vds_fail(-ENOENT, "mem: remove GPA 0x%llx: no region starts there",
				(unsigned long long)gpa);
	i--;
	memmove(&mem->r[i], &mem->r[i + 1], (mem->n - i - 1) * sizeof(*mem->r));
	mem->n--;
	return 0;
}

VDPASTATE_API unsigned int vdpastate_mem_count(const struct vdpastate_mem *mem)
{
	return mem ? mem->n : 0;
}

VDPASTATE_API int vdpastate_mem_get(const struct vdpastate_mem *mem,
				    unsigned int idx,
				    struct vdpastate_mem_region *out)
{
	const struct mem_region *r;

	if (!mem || !out)
		return vds_fail(-EINVAL, "mem: get: no table or no output");
	if (idx >= mem->n)
		return vds_fail(-ENOENT, "mem: get: index %u, table has %u regions",
				idx, mem->n);
	r = &mem->r[idx];
	*out = (struct vdpastate_mem_region){ .gpa = r->gpa,
					      .size = r->last - r->gpa + 1,
					      .hva = (void *)r->hva,
					      .flags = r->flags };
	return 0;
}

VDPASTATE_API void *vdpastate_mem_lookup(const struct vdpastate_mem *mem,
					 uint64_t gpa, uint64_t *contig)
{
	const struct mem_region *r = mem ? find(mem, gpa) : NULL;

	if (!r)
		return vds_fail_ptr(-EFAULT, "mem: GPA 0x%llx is not guest memory",
				    (unsigned long long)gpa);
	if (contig)
		*contig = r->last - gpa + 1;
	return (void *)(r->hva + (uintptr_t)(gpa - r->gpa));
}

VDPASTATE_API int vdpastate_mem_range(const struct vdpastate_mem *mem,
				      uint64_t gpa, uint64_t len, bool write,
				      struct vdpastate_mem_seg *segs,
				      unsigned int max_segs)
{
	uint64_t last = gpa + len - 1, cur = gpa;
	const struct mem_region *r, *end;
	unsigned int n = 0;

	if (!mem || (max_segs && !segs))
		return vds_fail(-EINVAL, "mem: range: no table or no segment array");
	if (len == 0)
		return 0;
	if (len - 1 > UINT64_MAX - gpa)
		return vds_fail(-EFAULT, "mem: range GPA [0x%llx, +0x%llx]: wraps past 2^64",
				(unsigned long long)gpa, (unsigned long long)len);
	r = find(mem, gpa);
	end = mem->r + mem->n;
	/*
	 * Walk every region the range crosses: each must start right after
	 * the previous one ends, and the whole range is checked before the
	 * result is trusted (the start alone proves nothing: CVE-2018-1059).
	 */
	for (;;) {
		uint64_t seg_last;

		if (!r || r == end || r->gpa > cur)
			return vds_fail(-EFAULT,
					"mem: range GPA [0x%llx, 0x%llx]: 0x%llx is not guest memory",
					(unsigned long long)gpa,
					(unsigned long long)last,
					(unsigned long long)cur);
		if (write && (r->flags & VDPASTATE_MEM_READONLY))
			return vds_fail(-EROFS,
					"mem: range GPA [0x%llx, 0x%llx]: region at 0x%llx is read-only",
					(unsigned long long)gpa,
					(unsigned long long)last,
					(unsigned long long)r->gpa);
		seg_last = r->last < last ? r->last : last;
		if (n < max_segs)
			segs[n] = (struct vdpastate_mem_seg){
				.gpa = cur,
				.len = seg_last - cur + 1,
				.hva = (void *)(r->hva + (uintptr_t)(cur - r->gpa)),
			};
		n++;
		if (seg_last == last)
			break;
		cur = seg_last + 1;
		r++;
	}
	if (n > max_segs)
		return vds_fail(-ENOBUFS,
				"mem: range GPA [0x%llx, 0x%llx]: needs %u segments, room for %u",
				(unsigned long long)gpa, (unsigned long long)last,
				n, max_segs);
	return (int)n;
}

int vds_mem_region(const struct vdpastate_mem *mem, uint64_t gpa,
		   struct vds_mem_region *out)
{
	const struct mem_region *r = find(mem, gpa);

	if (!r)
		return -EFAULT;
	out->first = r->gpa;
	out->last = r->last;
	out->hva = r->hva;
	out->flags = r->flags;
	return 0;
}

/* ------------------------------------------------------------ device memory */

void *vds_dma_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* A forked child must not share the rings a device writes. */
	(void)madvise(p, size, MADV_DONTFORK);
	return p;
}

void vds_dma_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

int vds_mem_shared(const void *p, size_t size)
{
	uint64_t at = (uint64_t)(uintptr_t)p, end = at + size;
	char line[512], perms[8];
	uint64_t lo, hi;
	FILE *f;

	if (!size)
		return 1;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	/* The lines are sorted by address and do not overlap. */
	while (at < end && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &lo, &hi,
			   perms) != 3)
			continue;
		if (hi <= at)
			continue;
		if (lo > at || perms[3] != 's')
			break; /* a hole, or a private mapping */
		at = hi;
	}
	fclose(f);
	return at >= end;
}
