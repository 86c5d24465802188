# lockguard: PostgreSQL 15 extension in C++17, built with PGXS.
MODULE_big = lockguard
EXTENSION = lockguard
DATA = $(wildcard sql/lockguard--*.sql)
PGFILEDESC = "lockguard - priority lock queues, budgets and lock monitoring"

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/pg/*.cpp src/pg/*/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)

# PostgreSQL 15 headers use `register` (rejected by C++17 without -Wno-register).
LG_CXXFLAGS = -std=c++17 -Wno-register -Isrc
# -MMD -MP: objects are rebuilt when a header they include changes (PGXS tracks only .c files).
PG_CXXFLAGS = $(LG_CXXFLAGS) -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -MMD -MP $(LG_SANITIZE_FLAGS)
# The shared library needs the C++ runtime: postgres itself is C.
SHLIB_LINK = -lstdc++

# LG_SANITIZE=address,undefined (test/hardening.sh sanitize) builds lockguard and its unit tests
# with those sanitizers; a finding aborts the process. An ASan-built lockguard.so needs the ASan
# runtime preloaded into the server (postgres itself is not instrumented).
ifneq ($(LG_SANITIZE),)
LG_SANITIZE_FLAGS = -fsanitize=$(LG_SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
SHLIB_LINK += -fsanitize=$(LG_SANITIZE)
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The JIT bitcode rule (clang) reads BITCODE_CXXFLAGS, not PG_CXXFLAGS.
BITCODE_CXXFLAGS += $(LG_CXXFLAGS)

# Pure C++ core unit tests (GoogleTest); no PostgreSQL header is involved.
UNIT_TESTS = $(sort $(wildcard test/unit/*_test.cpp))
UNIT_BIN = test/unit/lockguard_unit_tests
GTEST_LIBS = -lgtest -lgtest_main -pthread

$(UNIT_BIN): $(CORE_SRCS) $(UNIT_TESTS) $(wildcard src/core/*.hpp)
	$(CXX) -std=c++17 -O1 -g -Wall -Wextra $(LG_SANITIZE_FLAGS) -Isrc -o $@ $(CORE_SRCS) $(UNIT_TESTS) $(GTEST_LIBS)

unit: $(UNIT_BIN)
	./$(UNIT_BIN)

.PHONY: unit
EXTRA_CLEAN = $(UNIT_BIN) $(OBJS:.o=.d)
-include $(OBJS:.o=.d)
