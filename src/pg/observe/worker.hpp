// The lockguard background worker (see worker.cpp).
#pragma once

namespace lockguard::pg {

// Registers the worker from _PG_init, unless lockguard.database is empty.
void register_worker();

}  // namespace lockguard::pg
