/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/vring.h - split virtqueue layout and notification arithmetic
 * (virtio 1.x, "Split Virtqueues"): the sizes a VMM needs to allocate or map
 * a ring, and the event-index test both sides of a ring use.
 */
#ifndef LIBVDPASTATE_VRING_H
#define LIBVDPASTATE_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ring feature bits (virtio spec, "Reserved Feature Bits"). */
#define VDPASTATE_F_INDIRECT_DESC 28
#define VDPASTATE_F_EVENT_IDX 29
#define VDPASTATE_F_VERSION_1 32
#define VDPASTATE_F_ACCESS_PLATFORM 33
#define VDPASTATE_F_RING_PACKED 34
#define VDPASTATE_F_IN_ORDER 35

/* Descriptor flags. */
#define VDPASTATE_VRING_DESC_F_NEXT 1
#define VDPASTATE_VRING_DESC_F_WRITE 2
#define VDPASTATE_VRING_DESC_F_INDIRECT 4

/* avail->flags and used->flags. */
#define VDPASTATE_VRING_AVAIL_F_NO_INTERRUPT 1
#define VDPASTATE_VRING_USED_F_NO_NOTIFY 1

/* Required alignment of each area (virtio 1.x). */
#define VDPASTATE_VRING_DESC_ALIGN 16
#define VDPASTATE_VRING_AVAIL_ALIGN 2
#define VDPASTATE_VRING_USED_ALIGN 4

/* Largest split-ring size. */
#define VDPASTATE_VRING_MAX_NUM 32768

/* Bytes of the descriptor table of a ring of num entries. */
VDPASTATE_API size_t vdpastate_vring_desc_size(unsigned int num);
/* Bytes of the available ring; event_idx adds used_event. */
VDPASTATE_API size_t vdpastate_vring_avail_size(unsigned int num,
						bool event_idx);
/* Bytes of the used ring; event_idx adds avail_event. */
VDPASTATE_API size_t vdpastate_vring_used_size(unsigned int num,
					       bool event_idx);

/*
 * The event-index test: after moving an index from old_idx to new_idx, must
 * the other side be notified, given that it asked to hear about event_idx?
 * All arithmetic is modulo 2^16.
 */
VDPASTATE_API bool vdpastate_vring_need_event(uint16_t event_idx,
					      uint16_t new_idx,
					      uint16_t old_idx);

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_VRING_H */
