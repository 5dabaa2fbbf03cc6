/* SPDX-License-Identifier: MIT */
/*
 * tests/check_main.c - the one driver that runs every module's Check suite.
 * Select suites or cases with Check's CK_RUN_SUITE / CK_RUN_CASE; run
 * without fork (CK_FORK=no) under valgrind.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
		base_suite,
		mem_suite,
		iova_suite,
		svq_suite,
		cvq_suite,
		netstate_suite,
		blob_suite,
		transport_suite,
		sim_suite,
		dev_suite,
		guestcvq_suite,
		devsvq_suite,
		order_suite,
		mgmt_suite,
	};
	SRunner *sr = srunner_create(NULL);
	size_t i;
	int failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
