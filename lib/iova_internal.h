/* SPDX-License-Identifier: MIT */
/* lib/iova_internal.h - test hooks of the IOVA allocator.  Never installed. */
#ifndef VDS_IOVA_INTERNAL_H
#define VDS_IOVA_INTERNAL_H

#include <libvdpastate/iova.h>

/*
 * Check every invariant of the space: the IOVA tree is an AVL tree in key
 * order and every subtree's augmentation (lowest and highest IOVA, largest
 * gap) is what its nodes say; the GPA and HVA indexes are valid B+trees
 * (vds_bt_check) whose every entry is a mapping of that kind, in the IOVA
 * tree, keyed by its first address, not overlapping its predecessor; the
 * sizes match the counts.  0 or -1.
 */
int vds_iova_check(const struct vdpastate_iova *iova);

#endif /* VDS_IOVA_INTERNAL_H */
