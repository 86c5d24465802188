#include "core/resource_key.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace lockguard;

TEST(NamedResourceKey, IsStableAcrossCalls) {
    EXPECT_EQ(named_resource_key("payment:42"), named_resource_key("payment:42"));
}

TEST(NamedResourceKey, KnownValueNeverChanges) {
    // Pinned: a changed hash would let two versions of lockguard miss each other's locks.
    EXPECT_EQ(fnv1a64(""), 14695981039346656037ULL);
    EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(named_resource_key("payment:42"), mix64(fnv1a64("payment:42")));
}

TEST(NamedResourceKey, DistinctNamesGetDistinctKeys) {
    std::set<uint64_t> keys;
    for (int i = 0; i < 100000; i++) keys.insert(named_resource_key("account:" + std::to_string(i)));
    EXPECT_EQ(keys.size(), 100000u);
}

TEST(NamedResourceKey, BothHalvesVaryForSimilarNames) {
    std::set<uint32_t> highs;
    std::set<uint32_t> lows;
    for (int i = 0; i < 1000; i++) {
        uint64_t key = named_resource_key("r" + std::to_string(i));
        highs.insert(key_high(key));
        lows.insert(key_low(key));
    }
    EXPECT_EQ(highs.size(), 1000u);
    EXPECT_EQ(lows.size(), 1000u);
}

TEST(KeySplit, RoundTrips) {
    uint64_t key = 0x0123456789abcdefULL;
    EXPECT_EQ(key_high(key), 0x01234567u);
    EXPECT_EQ(key_low(key), 0x89abcdefu);
    EXPECT_EQ(key_join(key_high(key), key_low(key)), key);
}

TEST(RowKey, ValueBoundariesMatter) {
    std::string_view one[] = {"a,b"};
    std::string_view two[] = {"a", "b"};
    std::string_view swapped[] = {"b", "a"};
    EXPECT_NE(row_key(16384, one, 1), row_key(16384, two, 2));
    EXPECT_NE(row_key(16384, two, 2), row_key(16384, swapped, 2));
}

TEST(RowKey, RelationMatters) {
    std::string_view key[] = {"42"};
    EXPECT_NE(row_key(16384, key, 1), row_key(16385, key, 1));
    EXPECT_EQ(row_key(16384, key, 1), row_key(16384, key, 1));
}

TEST(RowKey, IsTheHashOfTheKeysText) {
    // row_key feeds its pieces to FNV-1a one by one; the key must be the hash of the whole text
    // "<oid>:<length>:<bytes>..." that earlier versions built (a row's gate keeps its key).
    const std::string binary("\0\xff\x01", 3);
    const std::string long_value(123, 'x');
    std::vector<std::vector<std::string_view>> keys = {
        {""}, {"42"}, {binary}, {long_value}, {"a", "b"}, {"", binary, long_value, "0123456789"}};
    for (uint32_t oid : {0u, 16384u, 4294967295u}) {
        for (const auto &key : keys) {
            std::string text = std::to_string(oid);
            for (std::string_view value : key) text += ":" + std::to_string(value.size()) + ":" + std::string(value);
            EXPECT_EQ(row_key(oid, key.data(), key.size()), mix64(fnv1a64(text))) << oid << " " << text;
        }
    }
}
