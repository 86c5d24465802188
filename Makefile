# lockguard: PostgreSQL extension in C++17 for PostgreSQL 15, 17 and 18, built with PGXS.
#
# Each major builds in a directory of its own, build/pg<major>/ (a VPATH build of this Makefile):
# `make` in the source tree asks $(PG_CONFIG) which server it builds for and runs the same goals
# there, so objects made for 15 can never look up to date to a 17 build.
PG_CONFIG ?= pg_config
LG_SRCDIR := $(patsubst %/,%,$(dir $(abspath $(firstword $(MAKEFILE_LIST)))))
LG_PG_VERSION := $(shell $(PG_CONFIG) --version 2>/dev/null)
# "PostgreSQL 17.12 (Debian 17.12-0+deb13u1)", "PostgreSQL 18devel": the major is 17, 18.
LG_PG_MAJOR := $(shell echo '$(LG_PG_VERSION)' | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p')
ifeq ($(LG_PG_MAJOR),)
$(error $(PG_CONFIG) did not say which PostgreSQL it is (pg_config --version: "$(LG_PG_VERSION)"); set PG_CONFIG=/path/to/pg_config)
endif
ifeq ($(filter 15 16 17 18,$(LG_PG_MAJOR)),)
$(error lockguard builds for PostgreSQL 15, 17 and 18; $(PG_CONFIG) is $(LG_PG_VERSION))
endif
ifeq ($(LG_PG_MAJOR),16)
$(warning PostgreSQL 16: lockguard has been neither built nor tested on it (docs/installation.md))
endif
LG_BUILD_DIR = build/pg$(LG_PG_MAJOR)

ifeq ($(LG_SRCDIR),$(CURDIR))
# In the source tree: every goal runs once, in the build directory of this server's major.
LG_GOALS := $(or $(MAKECMDGOALS),all)
$(firstword $(LG_GOALS)):
	@mkdir -p $(LG_BUILD_DIR)
	+@$(MAKE) --no-print-directory -C $(LG_BUILD_DIR) -f $(LG_SRCDIR)/Makefile VPATH=$(LG_SRCDIR) $(LG_GOALS)
$(filter-out $(firstword $(LG_GOALS)),$(LG_GOALS)):
	@:
.PHONY: $(LG_GOALS)
else
# In build/pg<major>/: PGXS's own VPATH build; sources are found in $(LG_SRCDIR).
ifneq ($(notdir $(CURDIR)),pg$(LG_PG_MAJOR))
$(error this directory ($(CURDIR)) is not the build directory of PostgreSQL $(LG_PG_MAJOR) ($(PG_CONFIG)): run make in the source tree)
endif
# Source-relative names: PGXS installs $(srcdir)/<name>, and make finds sources through VPATH.
lg_sources = $(patsubst $(LG_SRCDIR)/%,%,$(sort $(wildcard $(addprefix $(LG_SRCDIR)/,$(1)))))

MODULE_big = lockguard
EXTENSION = lockguard
DATA = $(call lg_sources,sql/lockguard--*.sql)
PGFILEDESC = "lockguard - priority lock queues, budgets and lock monitoring"

CORE_SRCS = $(call lg_sources,src/core/*.cpp)
GLUE_SRCS = $(call lg_sources,src/pg/*.cpp src/pg/*/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(GLUE_SRCS:.cpp=.o)

# PostgreSQL 15 headers use `register` (rejected by C++17 without -Wno-register).
LG_CXXFLAGS = -std=c++17 -Wno-register -I$(LG_SRCDIR)/src
# -MMD -MP: objects are rebuilt when a header they include changes (PGXS tracks only .c files).
PG_CXXFLAGS = $(LG_CXXFLAGS) -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -MMD -MP $(LG_SANITIZE_FLAGS)
# LG_WERROR=1 (every build of the test command): a warning fails the build, on every major.
ifneq ($(LG_WERROR),)
PG_CXXFLAGS += -Werror
endif
# The shared library needs the C++ runtime: postgres itself is C.
SHLIB_LINK = -lstdc++

# LG_SANITIZE=address,undefined (test/hardening.sh sanitize) builds lockguard and its unit tests
# with those sanitizers; a finding aborts the process. An ASan-built lockguard.so needs the ASan
# runtime preloaded into the server (postgres itself is not instrumented).
ifneq ($(LG_SANITIZE),)
LG_SANITIZE_FLAGS = -fsanitize=$(LG_SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
SHLIB_LINK += -fsanitize=$(LG_SANITIZE)
endif

# Tests (test/README.md). The lists below are the only lists: test/run-all.sh reads them with
# `make print-VAR`, and installcheck refuses to start when a file under test/ is missing from them.
# The regression tests run in this order, one at a time: helpers first (it defines what the
# others share); hostile_input and defects last (they reset the wait statistics the others read;
# defects also DROP/CREATEs the extension in a database of its own).
REGRESS = helpers audit_stats bad_input failover fencing_wal_boundary guardrails monitoring \
	monitoring_cost multi_acquire acquire_text_keys named_lock retry_envelope row_lock row_semantics \
	table_lock tenants wrong_key_arity privileges hostile_input defects
# PostgreSQL 15's pg_regress has no --expecteddir (16 has): --inputdir gives both sql/ (or specs/)
# and expected/, so each suite has its own input directory.
REGRESS_OPTS = --inputdir=$(LG_SRCDIR)/test --load-extension=lockguard
ISOLATION = acquire_bounds audit_rollback blocker_end cancel_waiter deadlock fencing_stale \
	guardrail_policy multi_no_deadlock named_release named_timeout priority_aging priority_fifo \
	priority_order privileges_visibility retry_succeeds row_conflicts row_partition_move row_priority \
	row_recheck row_rr_serialize row_table_wait row_timeout run_deadlock_recorded runonce_concurrent \
	table_lock_blocking tenant_budget tenant_fair_share wait_graph_rows wait_history_chain
ISOLATION_OPTS = --inputdir=$(LG_SRCDIR)/test/isolation --load-extension=lockguard
# TAP tests start their own servers: `make prove_installcheck` (below), not installcheck. prove runs
# in the source tree; the servers' files go to tmp_check/ in the build directory.
TAP_TESTS = 1
PROVE_TESTS = $(call lg_sources,test/t/*.pl)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The JIT bitcode rule (clang) reads BITCODE_CXXFLAGS, not PG_CXXFLAGS.
BITCODE_CXXFLAGS += $(LG_CXXFLAGS)

# PostgreSQL's TAP modules (PostgreSQL::Test::Cluster) and lockguard's own (test/perl).
PG_PROVE_FLAGS = -I $(top_builddir)/src/test/perl -I test/perl

# installcheck runs the regression and isolation suites against the running server (PGHOST,
# PGPORT; preloaded with lockguard); the TAP tests, minutes long and on servers of their own, run
# with prove_installcheck. PGXS runs TAP in installcheck when TAP_TESTS is set: not here.
installcheck: prove_installcheck =
prove_installcheck:
	$(prove_installcheck)

# A test file left out of REGRESS or ISOLATION would silently never run. Only a suite that runs is
# checked (test/run-all.sh runs one at a time: `make installcheck ISOLATION=`).
REGRESS_PREP = test-lists-complete
LG_UNLISTED = $(if $(REGRESS),$(filter-out $(REGRESS),$(patsubst test/sql/%.sql,%,$(call lg_sources,test/sql/*.sql)))) \
	$(if $(ISOLATION),$(filter-out $(ISOLATION),$(patsubst test/isolation/specs/%.spec,%,$(call lg_sources,test/isolation/specs/*.spec))))
test-lists-complete:
	@$(if $(strip $(LG_UNLISTED)),echo "in test/ but not in the Makefile's REGRESS or ISOLATION: $(strip $(LG_UNLISTED))" >&2; exit 1,:)

# `make -s print-REGRESS`: a variable's value, for test/run-all.sh.
print-%:
	@echo '$($*)'

# Pure C++ core unit tests (GoogleTest); no PostgreSQL header is involved.
UNIT_TESTS = $(call lg_sources,test/unit/*_test.cpp)
UNIT_BIN = lockguard_unit_tests
GTEST_LIBS = -lgtest -lgtest_main -pthread

UNIT_CXXFLAGS = -std=c++17 -O1 -g -Wall -Wextra -I$(LG_SRCDIR)/src
# One object per source under unit/ of the build directory (the extension's own objects of
# src/core are built with PostgreSQL's flags), so `make -j` compiles them side by side.
UNIT_OBJDIR = unit
UNIT_OBJS = $(patsubst %.cpp,$(UNIT_OBJDIR)/%.o,$(CORE_SRCS) $(UNIT_TESTS))

$(UNIT_OBJDIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(UNIT_CXXFLAGS) $(LG_SANITIZE_FLAGS) -MMD -MP -c -o $@ $<

$(UNIT_BIN): $(UNIT_OBJS)
	$(CXX) $(UNIT_CXXFLAGS) $(LG_SANITIZE_FLAGS) -o $@ $(UNIT_OBJS) $(GTEST_LIBS)

unit: $(UNIT_BIN)
	./$(UNIT_BIN)

# The C++ client library (client/, docs/client.md) on libpq, with the core's sources of its own
# build (position-independent, without PostgreSQL's flags): `make client` builds the library and
# the example; `make client-check` its tests against the server of PGHOST/PGPORT/PGDATABASE (or
# LG_CLIENT_CONNINFO); `make install-client` installs header, library and pkg-config file under
# CLIENT_PREFIX (/usr/local; DESTDIR is honoured).
LG_PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
LG_PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)
CLIENT_CXXFLAGS = -std=c++17 -O2 -g -fPIC -Wall -Wextra -I$(LG_SRCDIR)/src -I$(LG_SRCDIR)/client/include \
	-I$(LG_SRCDIR)/client/src -I$(LG_PG_INCLUDEDIR) $(LG_CLIENT_SANITIZE_FLAGS)
# LG_CLIENT_SANITIZE=thread builds the library, the example and the tests with ThreadSanitizer,
# into names of their own (suffix -thread), so the two builds never mix objects.
ifneq ($(LG_CLIENT_SANITIZE),)
LG_CLIENT_SANITIZE_FLAGS = -fsanitize=$(LG_CLIENT_SANITIZE) -fno-omit-frame-pointer
LG_CLIENT_SUFFIX = -$(subst $(comma),-,$(LG_CLIENT_SANITIZE))
endif
comma := ,
CLIENT_SRCS = $(call lg_sources,client/src/*.cpp) $(CORE_SRCS)
CLIENT_OBJDIR = client-obj$(LG_CLIENT_SUFFIX)
CLIENT_OBJS = $(patsubst %.cpp,$(CLIENT_OBJDIR)/%.o,$(CLIENT_SRCS))
CLIENT_LIB = liblockguard_client$(LG_CLIENT_SUFFIX).a
CLIENT_LDLIBS = -L$(LG_PG_LIBDIR) -lpq -pthread
CLIENT_EXAMPLES = $(patsubst client/examples/%.cpp,%,$(call lg_sources,client/examples/*.cpp))
CLIENT_TESTS = $(call lg_sources,test/client/*_test.cpp)
CLIENT_TEST_OBJS = $(patsubst %.cpp,$(CLIENT_OBJDIR)/%.o,$(CLIENT_TESTS))
CLIENT_TEST_BIN = lockguard_client_tests$(LG_CLIENT_SUFFIX)
CLIENT_EXAMPLE_BINS = $(addsuffix $(LG_CLIENT_SUFFIX),$(CLIENT_EXAMPLES))
CLIENT_PREFIX ?= /usr/local

$(CLIENT_OBJDIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CLIENT_CXXFLAGS) -MMD -MP -c -o $@ $<

$(CLIENT_LIB): $(CLIENT_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(CLIENT_EXAMPLE_BINS): %$(LG_CLIENT_SUFFIX): $(CLIENT_OBJDIR)/client/examples/%.o $(CLIENT_LIB)
	$(CXX) $(CLIENT_CXXFLAGS) -o $@ $< $(CLIENT_LIB) $(CLIENT_LDLIBS)

lockguard-client.pc: client/lockguard-client.pc.in
	sed -e 's|@PREFIX@|$(CLIENT_PREFIX)|' -e 's|@PQ_LIBDIR@|$(LG_PG_LIBDIR)|' -e 's|@PQ_INCLUDEDIR@|$(LG_PG_INCLUDEDIR)|' $< >$@

client: $(CLIENT_LIB) $(CLIENT_EXAMPLE_BINS) lockguard-client.pc

$(CLIENT_TEST_BIN): $(CLIENT_TEST_OBJS) $(CLIENT_LIB)
	$(CXX) $(CLIENT_CXXFLAGS) -o $@ $(CLIENT_TEST_OBJS) $(CLIENT_LIB) $(CLIENT_LDLIBS) $(GTEST_LIBS)

# LG_CLIENT_EXAMPLE: the example program the tests run (test/client/example_test.cpp).
client-check: $(CLIENT_TEST_BIN) $(CLIENT_EXAMPLE_BINS)
	LG_CLIENT_EXAMPLE=$(CURDIR)/transfer_service$(LG_CLIENT_SUFFIX) ./$(CLIENT_TEST_BIN) $(CLIENT_TEST_ARGS)

install-client: client
	install -d $(DESTDIR)$(CLIENT_PREFIX)/include/lockguard $(DESTDIR)$(CLIENT_PREFIX)/lib/pkgconfig
	install -m 644 $(LG_SRCDIR)/client/include/lockguard/client.hpp $(DESTDIR)$(CLIENT_PREFIX)/include/lockguard/
	install -m 644 $(CLIENT_LIB) $(DESTDIR)$(CLIENT_PREFIX)/lib/
	install -m 644 lockguard-client.pc $(DESTDIR)$(CLIENT_PREFIX)/lib/pkgconfig/

# The object directories of this build directory, made as the Makefile is read: PGXS's compile
# rules do not make them, and a rule for them would find the source tree's folders through VPATH.
LG_OBJ_DIRS = $(sort $(dir $(OBJS) $(UNIT_OBJS) $(CLIENT_OBJS) $(CLIENT_TEST_OBJS) $(patsubst %,$(CLIENT_OBJDIR)/client/examples/%.o,$(CLIENT_EXAMPLES))))
$(shell mkdir -p $(LG_OBJ_DIRS))

# The compile line of src/ (test/structure/compile_db.sh): `make -s print-LG_COMPILE_FLAGS`.
LG_COMPILE_FLAGS = $(CXX) $(CXXFLAGS) $(CPPFLAGS)

.PHONY: unit prove_installcheck test-lists-complete client client-check install-client
EXTRA_CLEAN = $(UNIT_BIN) $(UNIT_OBJDIR) $(CLIENT_OBJDIR) $(CLIENT_LIB) $(CLIENT_EXAMPLE_BINS) $(CLIENT_TEST_BIN) lockguard-client.pc $(OBJS:.o=.d) $(LG_OBJ_DIRS)
-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(CLIENT_OBJS:.o=.d) $(CLIENT_TEST_OBJS:.o=.d)
endif
