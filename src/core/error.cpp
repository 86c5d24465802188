#include "core/error.hpp"

#include <new>

namespace lockguard {

ErrorReport describe_exception(const std::exception_ptr &error) {
    try {
        std::rethrow_exception(error);
    } catch (const Error &e) {
        return {e.sqlstate(), e.what(), e.detail(), e.hint()};
    } catch (const std::bad_alloc &) {
        return {sqlstate::kOutOfMemory, "out of memory", "lockguard could not allocate memory.", {}};
    } catch (const std::exception &e) {
        return {sqlstate::kInternalError, std::string("lockguard internal error: ") + e.what(), {}, {}};
    } catch (...) {
        return {sqlstate::kInternalError, "lockguard internal error: unknown exception", {}, {}};
    }
}

}  // namespace lockguard
