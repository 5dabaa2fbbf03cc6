/* SPDX-License-Identifier: MIT */
/* tests/suites.h - every Check suite the test driver runs. */
#ifndef VDS_TEST_SUITES_H
#define VDS_TEST_SUITES_H

#include <check.h>

Suite *base_suite(void);
Suite *mem_suite(void);
Suite *iova_suite(void);
Suite *svq_suite(void);
Suite *cvq_suite(void);
Suite *netstate_suite(void);
Suite *blob_suite(void);
Suite *transport_suite(void);
Suite *sim_suite(void);
Suite *dev_suite(void);
Suite *guestcvq_suite(void);
Suite *devsvq_suite(void);
Suite *order_suite(void);
Suite *mgmt_suite(void);

#endif
