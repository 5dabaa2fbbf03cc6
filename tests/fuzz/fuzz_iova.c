/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_iova.c - libFuzzer target: the fuzz input is a sequence
 * of IOVA operations (the first byte picks the space) run in lock step
 * with the naive model of tests/iova_model.c; any difference aborts.
 * tests/fuzz/run.sh builds one source file per target, hence the include
 * of the model's source.
 */
#include "../iova_model.c"

struct fuzz_src {
	struct im_src src;
	const uint8_t *p;
	size_t left;
};

static uint64_t fuzz_raw(struct im_src *s, unsigned int nbytes)
{
	struct fuzz_src *f = (struct fuzz_src *)s;
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < nbytes; i++) {
		if (!f->left) {
			s->exhausted = true;
			break;
		}
		v |= (uint64_t)*f->p++ << (8 * i);
		f->left--;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_src f = { .src = { .raw = fuzz_raw }, .p = data, .left = size };
	struct im *m;
	unsigned int steps;

	if (size < 1)
		return 0;
	m = im_new(data[0]);
	if (!m)
		abort();
	f.p++;
	f.left--;
	for (steps = 0; steps < 4096 && !f.src.exhausted; steps++) {
		if (im_step(m, &f.src)) {
			fprintf(stderr, "fuzz_iova: model mismatch: %s\n", im_msg(m));
			abort();
		}
	}
	if (im_verify(m)) {
		fprintf(stderr, "fuzz_iova: model mismatch: %s\n", im_msg(m));
		abort();
	}
	im_free(m);
	return 0;
}
