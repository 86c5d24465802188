#include "core/resource_key.hpp"

#include <charconv>

namespace lockguard {

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) {
    uint64_t hash = seed;
    for (unsigned char c : bytes) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    return hash;
}

uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t named_resource_key(std::string_view name) { return mix64(fnv1a64(name)); }

namespace {

// The decimal digits of n, as std::to_string writes them, without an allocation: row_key runs
// on every row lock.
std::string_view decimal(char (&buffer)[24], uint64_t n) {
    char *end = std::to_chars(buffer, buffer + sizeof(buffer), n).ptr;
    return {buffer, static_cast<size_t>(end - buffer)};
}

}  // namespace

// The hash of "<relation oid>" followed by ":<length>:<bytes>" per key value, fed to FNV-1a
// piece by piece (the same as over the concatenated text).
uint64_t row_key(uint32_t relation_oid, const std::string_view *key_values, size_t count) {
    char digits[24];
    uint64_t hash = fnv1a64(decimal(digits, relation_oid));
    for (size_t i = 0; i < count; i++) {
        hash = fnv1a64(":", hash);
        hash = fnv1a64(decimal(digits, key_values[i].size()), hash);
        hash = fnv1a64(":", hash);
        hash = fnv1a64(key_values[i], hash);
    }
    return mix64(hash);
}

}  // namespace lockguard
