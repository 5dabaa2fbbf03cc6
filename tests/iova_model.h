/* SPDX-License-Identifier: MIT */
/*
 * tests/iova_model.h - a deliberately naive model of the IOVA space (an
 * unsorted array, linear scans, first fit by trying every hole start) run
 * in lock step with the library.  Shared by the Check suite, which draws
 * operations from a PRNG, and the libFuzzer target, which draws them from
 * the fuzz input.
 */
#ifndef VDS_IOVA_MODEL_H
#define VDS_IOVA_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/* Where operations and their arguments come from. */
struct im_src {
	/* Up to 8 bytes of entropy as a little-endian number. */
	uint64_t (*raw)(struct im_src *src, unsigned int nbytes);
	bool exhausted; /* set by raw() when a fuzz input ran out */
};

struct im;

/* The test IOVA spaces; im_new() takes one by index (mod the count). */
#define IM_NCONFIGS 6

/* A model and a library space for configuration cfg.  NULL on ENOMEM. */
struct im *im_new(unsigned int cfg);
void im_free(struct im *m);

/*
 * Draw one operation and its arguments from src, run it on both, compare
 * every output.  0, or -1 with the difference in im_msg().
 */
int im_step(struct im *m, struct im_src *src);

/* Compare the full contents (foreach, counts, tree invariants). */
int im_verify(struct im *m);

const char *im_msg(const struct im *m);

/* A reproducible PRNG source. */
struct im_rng {
	struct im_src src;
	uint64_t state;
};
void im_rng_init(struct im_rng *r, uint64_t seed);

#endif /* VDS_IOVA_MODEL_H */
