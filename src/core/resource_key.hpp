// Turning what a user names (a resource string, a table row) into a 64-bit lock key.
//
// lockguard waits only inside PostgreSQL's lock manager, whose advisory lock tags carry two
// 32-bit fields for the key. A resource name of any length is hashed to 64 bits:
// FNV-1a over the bytes, then the splitmix64 finalizer so that similar names spread over all
// bits. Two different names that hash alike (probability about n^2 / 2^65 for n names in use at
// once) share one lock: they serialize against each other, which is safe, and never miss a
// conflict.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lockguard {

// 64-bit FNV-1a, continued from `seed` so that several pieces can be hashed in sequence.
inline constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
uint64_t fnv1a64(std::string_view bytes, uint64_t seed = kFnvOffset);

// The splitmix64 finalizer: a bijection, so it adds no collisions.
uint64_t mix64(uint64_t x);

// The key of a named resource.
uint64_t named_resource_key(std::string_view name);

// The key of one row: the relation's OID and the row's primary-key values, each given as the
// text of the column type's output function. Each value is length-prefixed, so ("a,b") and
// ("a", "b") never meet.
uint64_t row_key(uint32_t relation_oid, const std::string_view *key_values, size_t count);

// Split into the two 32-bit fields of an advisory lock tag and back.
inline uint32_t key_high(uint64_t key) { return static_cast<uint32_t>(key >> 32); }
inline uint32_t key_low(uint64_t key) { return static_cast<uint32_t>(key); }
inline uint64_t key_join(uint32_t high, uint32_t low) { return (static_cast<uint64_t>(high) << 32) | low; }

}  // namespace lockguard
