#include "core/resource_key.hpp"

#include <string>

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

uint64_t row_key(uint32_t relation_oid, const std::string_view *key_values, size_t count) {
    std::string oid_text = std::to_string(relation_oid);
    uint64_t hash = fnv1a64(oid_text);
    for (size_t i = 0; i < count; i++) {
        std::string prefix = ":" + std::to_string(key_values[i].size()) + ":";
        hash = fnv1a64(prefix, hash);
        hash = fnv1a64(key_values[i], hash);
    }
    return mix64(hash);
}

}  // namespace lockguard
