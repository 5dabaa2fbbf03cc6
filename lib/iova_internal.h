/* SPDX-License-Identifier: MIT */
/* lib/iova_internal.h - test hooks of the IOVA allocator.  Never installed. */
#ifndef VDS_IOVA_INTERNAL_H
#define VDS_IOVA_INTERNAL_H

#include <libvdpastate/iova.h>

/*
 * Check every invariant of the space: the IOVA index is a valid augmented
 * B+tree (vds_ivt_check: ranges sorted and disjoint, every summary and
 * gap what the ranges give) inside the space; the GPA and HVA indexes are
 * valid B+trees (vds_bt_check) whose every entry is a mapping of that
 * kind, in the IOVA index, keyed by its first address, not overlapping
 * its predecessor; the sizes match the counts.  0 or -1.
 */
int vds_iova_check(const struct vdpastate_iova *iova);

#endif /* VDS_IOVA_INTERNAL_H */
