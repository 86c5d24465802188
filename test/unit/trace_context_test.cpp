#include "core/trace_context.hpp"

#include <gtest/gtest.h>

#include <cstring>

using lockguard::copy_traceparent_trace_id;
using lockguard::find_traceparent_trace_id;
using lockguard::named_resource_class;

TEST(Traceparent, FoundAloneAndInsideOtherText) {
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    EXPECT_EQ(find_traceparent_trace_id(tp), "4bf92f3577b34da6a3ce929d0e0e4736");
    std::string app = std::string("checkout-api traceparent=") + tp + " pod=7";
    EXPECT_EQ(find_traceparent_trace_id(app), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, RejectsMalformed) {
    EXPECT_EQ(find_traceparent_trace_id(""), "");
    EXPECT_EQ(find_traceparent_trace_id("psql"), "");
    // upper-case hex is not allowed by the spec
    EXPECT_EQ(find_traceparent_trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), "");
    // all-zero trace id and parent id are invalid
    EXPECT_EQ(find_traceparent_trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "");
    EXPECT_EQ(find_traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"), "");
    // version ff is forbidden
    EXPECT_EQ(find_traceparent_trace_id("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "");
    // one digit short
    EXPECT_EQ(find_traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"), "");
}

TEST(Traceparent, SkipsABadOneForALaterGoodOne) {
    std::string text = "00-00000000000000000000000000000000-00f067aa0ba902b7-01 "
                       "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    EXPECT_EQ(find_traceparent_trace_id(text), "0af7651916cd43dd8448eb211c80319c");
}

TEST(ResourceClass, PrefixBeforeFirstColon) {
    EXPECT_EQ(named_resource_class("payment:42"), "payment");
    EXPECT_EQ(named_resource_class("a:b:c"), "a");
    EXPECT_EQ(named_resource_class("nightly-report"), "nightly-report");
    EXPECT_EQ(named_resource_class(":x"), "");
}

// Into a fixed buffer, as the audit does. Built with UBSan (test/hardening.sh sanitize), the
// "none found" cases would abort if the copy passed the empty view's null pointer to memcpy.
TEST(Traceparent, CopiedIntoAFixedBuffer) {
    char out[33];
    memset(out, 'x', sizeof(out));
    EXPECT_EQ(copy_traceparent_trace_id("psql", out, sizeof(out)), 0u);
    EXPECT_STREQ(out, "");
    memset(out, 'x', sizeof(out));
    EXPECT_EQ(copy_traceparent_trace_id("", out, sizeof(out)), 0u);
    EXPECT_STREQ(out, "");
    const char *tp = "app 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    EXPECT_EQ(copy_traceparent_trace_id(tp, out, sizeof(out)), 32u);
    EXPECT_STREQ(out, "4bf92f3577b34da6a3ce929d0e0e4736");
    char small[9];
    EXPECT_EQ(copy_traceparent_trace_id(tp, small, sizeof(small)), 8u);  // cut to the buffer
    EXPECT_STREQ(small, "4bf92f35");
    EXPECT_EQ(copy_traceparent_trace_id(tp, small, 0), 0u);               // no room at all: no write
}
