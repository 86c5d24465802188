#include "core/error.hpp"

#include <gtest/gtest.h>

#include <new>

using lockguard::describe_exception;
using lockguard::Error;

namespace {

template <typename E>
lockguard::ErrorReport report_of(E error) {
    try {
        throw error;
    } catch (...) {
        return describe_exception(std::current_exception());
    }
}

TEST(DescribeException, KeepsSqlstateAndAllMessageParts) {
    auto report = report_of(Error("22023", "invalid timeout_ms: -1", "It must be 0 or more.", "Use 0 for no wait."));
    EXPECT_EQ(report.sqlstate, "22023");
    EXPECT_EQ(report.message, "invalid timeout_ms: -1");
    EXPECT_EQ(report.detail, "It must be 0 or more.");
    EXPECT_EQ(report.hint, "Use 0 for no wait.");
}

TEST(DescribeException, BadAllocBecomesOutOfMemory) {
    auto report = report_of(std::bad_alloc());
    EXPECT_EQ(report.sqlstate, "53200");
    EXPECT_EQ(report.message, "out of memory");
}

TEST(DescribeException, OtherStdExceptionIsInternalErrorWithItsText) {
    auto report = report_of(std::logic_error("queue index out of range"));
    EXPECT_EQ(report.sqlstate, "XX000");
    EXPECT_NE(report.message.find("queue index out of range"), std::string::npos);
}

TEST(DescribeException, NonStdExceptionIsInternalError) {
    auto report = report_of(42);
    EXPECT_EQ(report.sqlstate, "XX000");
    EXPECT_NE(report.message.find("unknown exception"), std::string::npos);
}

}  // namespace
