/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/iova.h - the device's I/O virtual address space: an
 * allocator of IOVA ranges inside the window the device accepts, and the
 * translations GPA -> IOVA, HVA -> IOVA and IOVA -> (kind, address).
 * Guest-physical and host-virtual keys live in separate key spaces, so two
 * guest ranges backed by the same host memory cannot be confused.
 * Allocation and every translation are O(log n) in the number of mappings.
 */
#ifndef LIBVDPASTATE_IOVA_H
#define LIBVDPASTATE_IOVA_H

#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_iova;

/* What an IOVA range maps. */
enum vdpastate_iova_kind {
	VDPASTATE_IOVA_GPA = 1,      /* guest-physical memory */
	VDPASTATE_IOVA_HVA = 2,      /* VMM memory (shadow rings, buffers) */
	VDPASTATE_IOVA_RESERVED = 3  /* a hole nothing may be mapped into */
};

/* vdpastate_iova_map_opts.flags */
#define VDPASTATE_IOVA_MAP_FIXED (1u << 0) /* use .iova instead of allocating */

struct vdpastate_iova_map_opts {
	size_t sz;
	/* Alignment of an allocated IOVA: a power of two; 0 means 4096. */
	uint64_t align;
	/* With VDPASTATE_IOVA_MAP_FIXED: the IOVA to map at. */
	uint64_t iova;
	uint64_t flags;
};

struct vdpastate_iova_mapping {
	uint64_t iova;  /* first IOVA */
	uint64_t size;  /* bytes */
	uint64_t addr;  /* first GPA or HVA (0 for a reservation) */
	uint32_t kind;  /* enum vdpastate_iova_kind */
	uint32_t reserved;
};

/*
 * A new, empty space for IOVAs in [first, last] (inclusive, as reported by
 * VHOST_VDPA_GET_IOVA_RANGE).  NULL with errno EINVAL if first > last,
 * ENOMEM if out of memory.
 */
VDPASTATE_API struct vdpastate_iova *vdpastate_iova_new(uint64_t first,
							uint64_t last);
/* Free the space; NULL is a no-op. */
VDPASTATE_API void vdpastate_iova_free(struct vdpastate_iova *iova);

/*
 * Mark [first, last] as unusable (e.g. an MSI window).  -EINVAL: first >
 * last or the range leaves the space; -EEXIST: overlaps a mapping or
 * another reservation.
 */
VDPASTATE_API int vdpastate_iova_reserve(struct vdpastate_iova *iova,
					 uint64_t first, uint64_t last);

/*
 * Map [addr, addr + size) of the given kind (GPA or HVA) to a new IOVA
 * range: the lowest-addressed free range with the requested alignment, or
 * the fixed one from opts.  On success *iova_out (may be NULL) receives
 * the first IOVA.  Errors, with nothing changed:
 *   -EINVAL  size 0, addr + size or iova + size wraps past 2^64, bad kind,
 *            alignment not a power of two, fixed IOVA misaligned or
 *            outside the space, unknown flags or options;
 *   -EEXIST  the key range overlaps a mapping of the same kind, or the
 *            fixed IOVA range overlaps a mapping or reservation;
 *   -ENOSPC  no free range large enough;
 *   -ENOMEM  out of memory.
 */
VDPASTATE_API int vdpastate_iova_map(struct vdpastate_iova *iova,
				     enum vdpastate_iova_kind kind,
				     uint64_t addr, uint64_t size,
				     const struct vdpastate_iova_map_opts *opts,
				     uint64_t *iova_out);

/*
 * Remove the mapping or reservation that starts at IOVA iova_addr.
 * -ENOENT if none starts there.
 */
VDPASTATE_API int vdpastate_iova_unmap(struct vdpastate_iova *iova,
				       uint64_t iova_addr);

/*
 * Translate a GPA or HVA to its IOVA.  *contig (may be NULL) receives the
 * number of bytes from addr to the end of its mapping: the caller splits a
 * buffer there.  -ENOENT if addr is not mapped; -EINVAL for a bad kind.
 */
VDPASTATE_API int vdpastate_iova_translate(const struct vdpastate_iova *iova,
					   enum vdpastate_iova_kind kind,
					   uint64_t addr, uint64_t *iova_out,
					   uint64_t *contig);

/*
 * Reverse lookup: what IOVA iova_addr maps.  Any out pointer may be NULL.
 * -ENOENT if it is in no mapping (reservations are reported with kind
 * VDPASTATE_IOVA_RESERVED and *addr 0).
 */
VDPASTATE_API int vdpastate_iova_lookup(const struct vdpastate_iova *iova,
					uint64_t iova_addr,
					enum vdpastate_iova_kind *kind,
					uint64_t *addr, uint64_t *contig);

/*
 * Call fn for every mapping and reservation in IOVA order.  Stops at and
 * returns the first non-zero value fn returns; 0 otherwise.  fn must not
 * modify the space.
 */
VDPASTATE_API int vdpastate_iova_foreach(
	const struct vdpastate_iova *iova,
	int (*fn)(const struct vdpastate_iova_mapping *m, void *arg),
	void *arg);

/* Number of mappings of a kind; kind 0 counts every kind. */
VDPASTATE_API size_t vdpastate_iova_count(const struct vdpastate_iova *iova,
					  enum vdpastate_iova_kind kind);

/*
 * Thread safety: the const functions may run concurrently with each other
 * as long as no thread calls reserve/map/unmap/free.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_IOVA_H */
