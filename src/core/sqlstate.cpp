#include "core/sqlstate.hpp"

namespace lockguard::sqlstate {

const Condition *find_condition(std::string_view code) {
    for (const Condition &condition : kConditions)
        if (code == condition.code) return &condition;
    return nullptr;
}

}  // namespace lockguard::sqlstate
