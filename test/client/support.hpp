// What the client tests share: the connection string, an administrator connection (plain
// blocking libpq, outside the library under test), signals to freeze a process.
#pragma once

#include "lockguard/client.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <csignal>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lgtest {

using Clock = std::chrono::steady_clock;

// LG_CLIENT_CONNINFO, or "" (libpq then reads PGHOST, PGPORT, PGDATABASE, PGUSER).
inline std::string conninfo() {
    const char *c = std::getenv("LG_CLIENT_CONNINFO");
    return c != nullptr ? c : "";
}

inline int64_t ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

inline void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// A blocking superuser session for set-up, blockers and checks.
class Admin {
public:
    Admin() : pg_(PQconnectdb(conninfo().c_str())) {
        if (PQstatus(pg_) != CONNECTION_OK) throw std::runtime_error(std::string("admin connect: ") + PQerrorMessage(pg_));
        // Commits of the tests' own sessions never wait for a synchronous standby (outcome tests).
        exec("SET synchronous_commit = local");
    }
    ~Admin() { PQfinish(pg_); }
    Admin(const Admin &) = delete;
    Admin &operator=(const Admin &) = delete;

    // Runs sql; returns the first column of the first row ("" if none); throws on error.
    std::string exec(const std::string &sql, const std::vector<std::string> &params = {}) {
        std::vector<const char *> v;
        v.reserve(params.size());
        for (const auto &p : params) v.push_back(p.c_str());
        PGresult *r = PQexecParams(pg_, sql.c_str(), static_cast<int>(v.size()), nullptr, v.data(), nullptr, nullptr, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            std::string msg = PQresultErrorMessage(r);
            PQclear(r);
            throw std::runtime_error("admin: " + sql + ": " + msg);
        }
        std::string out = (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQgetisnull(r, 0, 0) == 0) ? PQgetvalue(r, 0, 0) : "";
        PQclear(r);
        return out;
    }
    int64_t num(const std::string &sql, const std::vector<std::string> &params = {}) { return std::stoll(exec(sql, params)); }
    [[nodiscard]] int pid() const { return PQbackendPID(pg_); }

private:
    PGconn *pg_;
};

// The parent of a backend: the postmaster.
inline int parent_pid(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(f, line);
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    return ppid;
}

// SIGSTOPs processes and SIGCONTs them when it goes out of scope, whatever the test did.
class Freezer {
public:
    void freeze(int pid) {
        if (kill(pid, SIGSTOP) == 0) pids_.push_back(pid);
    }
    void thaw() {
        for (int pid : pids_) kill(pid, SIGCONT);
        pids_.clear();
    }
    ~Freezer() { thaw(); }

private:
    std::vector<int> pids_;
};

// The delay bounds of retry n (1-based) of an equal-jitter schedule: [ceil(c/2), c].
inline std::pair<int, int> delay_bounds(const lockguard::client::Backoff &b, int n) {
    double c = b.base_ms;
    for (int i = 1; i < n; ++i) c *= b.multiplier;
    if (c > b.max_ms) c = b.max_ms;
    int ci = static_cast<int>(c);
    return {ci - ci / 2, ci};
}

}  // namespace lgtest
