// ASSERT_OK / EXPECT_OK: GoogleTest assertions on a bp::Status that print its code and message
// when it is not ok, where ASSERT_TRUE(s.ok()) would print only "false". Both take any
// expression yielding a Status and accept streamed context like any assertion:
//
//   ASSERT_OK(store.Put(key, data, size, false)) << "object " << key;
//
// Header-only; a test including it links GoogleTest already.
#pragma once

#include <gtest/gtest.h>

#include "util/status.h"

namespace bptest {

// The predicate-formatter behind the macros: `expr` is the asserted expression as written.
inline ::testing::AssertionResult StatusIsOk(const char* expr, const ::bp::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not ok: " << status.ToString();
}

}  // namespace bptest

#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::bptest::StatusIsOk, expr)
#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::bptest::StatusIsOk, expr)
