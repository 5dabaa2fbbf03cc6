/* SPDX-License-Identifier: MIT */
/*
 * tests/ringenv.h - an in-process guest, shadow virtqueue and device for
 * the SVQ tests, fuzzers and benchmark.  The guest is the ring's driver
 * half over guest memory (addresses are GPAs); the device is the ring's
 * device half over the IOVA space (it reaches memory only through the IOVA
 * tree, as a real device does through its IOTLB).
 */
#ifndef VDS_RINGENV_H
#define VDS_RINGENV_H

#include <stdbool.h>
#include <stdint.h>

#include <libvdpastate/libvdpastate.h>
#include <libvdpastate/iova.h>
#include <libvdpastate/mem.h>
#include <libvdpastate/svq.h>

#include "ring.h"

#define ENV_MAX_REGIONS 1024
#define ENV_MAX_ELEMS 8

struct env_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct env_cfg {
	unsigned int num;        /* guest ring */
	unsigned int shadow_num; /* 0: same */
	uint64_t guest_features;
	uint64_t device_features;
	unsigned int regions;    /* guest memory regions (>= 1) */
	uint64_t region_size;    /* bytes each, multiple of 4096 */
	uint64_t gap;            /* GPA hole between regions */
	bool no_svq;             /* device reads the guest ring directly */
	bool no_dirty_log;       /* SVQ without a dirty log */
};

/* What the guest posted for one head. */
struct env_chain {
	uint64_t seq;
	unsigned int n, n_write;
	struct vds_seg b[ENV_MAX_ELEMS];
	uint32_t write_len;
	bool indirect;
	bool busy;
};

struct env {
	struct env_cfg cfg;
	struct env_region reg[ENV_MAX_REGIONS];
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	struct vds_as_mem gas;
	struct vds_as_iova das;

	/* guest: driver half on the guest ring */
	struct vds_vdrv guest;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint64_t ind_gpa;        /* per-head indirect tables */
	uint64_t buf_gpa;        /* first data slot */
	uint64_t *slot_gpa;      /* [num] data slot of each head */
	uint64_t slot;           /* bytes per slot */
	struct env_chain *chains; /* [num] by guest head */
	uint64_t next_seq;       /* next chain the guest posts */
	uint64_t reaped;         /* chains the guest got back */

	struct vdpastate_svq *svq;

	/* device: device half on the shadow ring (or the guest ring) */
	struct vds_vdev dev;
	struct vds_seg *dsegs;   /* device scratch */
	unsigned int dsegs_max;
	uint64_t dev_seq;        /* chains the device consumed */
	uint64_t *truth;         /* pages the device wrote (by GPA) */
	uint64_t truth_words;
	uint64_t *bitmap;        /* the SVQ's dirty log */
	uint64_t errors;         /* payload mismatches seen by either side */
	char last_mismatch[256];
};

/* Build it all; NULL on failure (message printed). */
struct env *env_new(const struct env_cfg *cfg);
void env_free(struct env *e);

/* Guest: post one random chain; false if the guest ring is full. */
bool env_guest_post(struct env *e, uint64_t *rng);
/* Guest: post a given chain shape (lens: readable then writable). */
bool env_guest_post_shape(struct env *e, const uint32_t *lens, unsigned int n,
			  unsigned int n_write, bool indirect);
/* Guest: publish posted chains. */
void env_guest_kick(struct env *e);
/* Guest: reap and verify used entries; returns how many, -1 on error. */
int env_guest_reap(struct env *e);

/*
 * Device: consume up to max chains, verify readable payload, write the
 * pattern into writable space, complete them (in order); returns chains
 * completed, or a negative error from the ring code.
 */
int env_device_run(struct env *e, unsigned int max);

/* Pattern byte the device writes at offset off of chain seq. */
static inline uint8_t env_pattern(uint64_t seq, uint64_t off)
{
	return (uint8_t)(seq * 131 + off * 7 + 1);
}

/* Readable byte the guest writes at offset off of chain seq. */
static inline uint8_t env_payload(uint64_t seq, uint64_t off)
{
	return (uint8_t)(seq * 29 + off * 13 + 5);
}

static inline uint64_t env_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Host pointer of a GPA inside the guest memory of the environment. */
uint8_t *env_host(struct env *e, uint64_t gpa);

#endif
