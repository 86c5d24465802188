// lockguard.* configuration parameters (GUCs).
#pragma once

namespace lockguard::pg {

struct Settings {
    int default_timeout_ms;     // lockguard.default_timeout_ms: wait bound when a call names none
    int max_locks_per_backend;  // lockguard.max_locks_per_backend: lockguard locks one backend tracks
    int aging_ms;               // lockguard.aging_ms: a waiter gains one priority step per this wait
};

extern Settings settings;

// Longest wait a call may ask for: one day. Longer is surely a mistake (a unit error).
constexpr int kMaxTimeoutMs = 24 * 60 * 60 * 1000;

void define_settings();

}  // namespace lockguard::pg
