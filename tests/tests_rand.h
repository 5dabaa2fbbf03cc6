/* SPDX-License-Identifier: MIT */
/*
 * tests/tests_rand.h - a seeded pseudo-random generator (xorshift64*) so
 * property tests are reproducible, and the random-state helpers that
 * check_netstate.c provides to the other suites.
 */
#ifndef VDS_TESTS_RAND_H
#define VDS_TESTS_RAND_H

#include <stdint.h>

#include <libvdpastate/netstate.h>

struct vds_rand {
	uint64_t s;
};

static inline struct vds_rand vds_rand_seed(uint64_t seed)
{
	struct vds_rand r = { seed * 0x9e3779b97f4a7c15ull + 1 };

	return r;
}

static inline uint64_t vds_rand64(struct vds_rand *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static inline uint32_t vds_rand(struct vds_rand *r)
{
	return (uint32_t)(vds_rand64(r) >> 32);
}

/* Features of the random states (every CVQ class but STATS). */
extern const uint64_t VDS_TEST_FEATURES;
/* A valid device configuration with pairs queue pairs. */
void vds_test_config(struct vdpastate_netstate_config *c, uint64_t features,
		     uint16_t pairs);
/* The number of random cases: $VDS_PROPERTY_CASES or def. */
unsigned long vds_test_cases(unsigned long def);
/* A random command a device in state s accepts. */
struct vdpastate_cvq_cmd *vds_test_rand_cmd(struct vds_rand *r,
					    const struct vdpastate_netstate *s);
/* Apply n random commands to s. */
void vds_test_mutate(struct vds_rand *r, struct vdpastate_netstate *s,
		     unsigned int n);
/* A random state reached from reset by up to 40 random commands. */
struct vdpastate_netstate *vds_test_rand_state(struct vds_rand *r,
					       uint16_t pairs);

#endif
