/* SPDX-License-Identifier: MIT */
/* lib/iova_internal.h - test hooks of the IOVA allocator.  Never installed. */
#ifndef VDS_IOVA_INTERNAL_H
#define VDS_IOVA_INTERNAL_H

#include <libvdpastate/iova.h>

/*
 * Check every invariant of the space: the three trees are AVL trees in key
 * order, their sizes match the counts, and every subtree's augmentation
 * (lowest and highest IOVA, largest gap) is what its nodes say.  0 or -1.
 */
int vds_iova_check(const struct vdpastate_iova *iova);

#endif /* VDS_IOVA_INTERNAL_H */
