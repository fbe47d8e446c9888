# postern - plain GNU make, no configure step.
#   make            build/bin/postern and the daemons in build/libexec/
#   make SANITIZE=1 the same with ASan+UBSan into build-san/
#   make check      unit, compatibility, end-to-end, sanitizer and fuzz tests
#   make run        demo instance on loopback ports
#   make install    PREFIX=/usr/local DESTDIR=  (also install-compat, uninstall)
#   make deb        Debian package in build/deb/

VERSION     = 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc/postern
SPOOLDIR   ?= /var/spool/postern
BINDIR      = $(PREFIX)/sbin
LIBEXECDIR  = $(PREFIX)/libexec/postern

CC      ?= cc
FUZZCC  ?= clang
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
OPT      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN    = -fsanitize=address,undefined
else
BUILD   ?= build
OPT      = -O2 -g -D_FORTIFY_SOURCE=2
LDSAN    =
endif

PKGS     = libtls libevent libpcre2-8 libunbound libcrypto
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 \
           -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
HARDEN   = -fstack-protector-strong -fPIE -fno-strict-overflow -fstack-clash-protection
DEFS     = -D_GNU_SOURCE -DPOSTERN_SYSCONFDIR='"$(SYSCONFDIR)"' \
           -DPOSTERN_LIBEXECDIR='"$(LIBEXECDIR)"' -DPOSTERN_SPOOLDIR='"$(SPOOLDIR)"' -DPOSTERN_VERSION='"$(VERSION)"'
CFLAGS  += $(WARN) $(HARDEN) $(OPT) $(DEFS) -Icommon $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(LDSAN)
LIBS     = $(PKG_LIBS) -lsasl2 -ldb

COMMON_SRC  = $(wildcard common/*.c)
COMMON_OBJ  = $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIBCOMMON   = $(BUILD)/libpostern.a
TOOLS_SRC   = $(wildcard tools/*.c)
TOOLS_OBJ   = $(TOOLS_SRC:%.c=$(BUILD)/obj/%.o)

# Daemons: a folder per role, program names as Postfix's.
master_SRC  = $(wildcard master/*.c)
smtpd_SRC   = $(wildcard smtpd/*.c)
qmgr_SRC    = $(wildcard queue/*.c)
local_SRC   = $(wildcard delivery/local*.c) delivery/agent.c
spawn_SRC   = $(wildcard spawn/*.c)
smtp_SRC    = $(wildcard delivery/smtp*.c) $(if $(wildcard delivery/smtp*.c),delivery/local_req.c delivery/agent.c)
DAEMONS     = $(foreach p,master smtpd qmgr local smtp spawn,$(if $($(p)_SRC),$(p)))
DAEMON_BINS = $(DAEMONS:%=$(BUILD)/libexec/%)
DAEMON_OBJ  = $(foreach p,$(DAEMONS),$($(p)_SRC:%.c=$(BUILD)/obj/%.o))

UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_BINS   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC    = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

ifeq ($(V),1)
Q =
else
Q = @
endif

all: $(BUILD)/bin/postern $(DAEMON_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# postern probe runs smtpd's restriction chain: link those objects in.
PROBE_OBJ   = $(addprefix $(BUILD)/obj/smtpd/,smtpd_check.o smtpd_check_exec.o smtpd_check_result.o smtpd_policy.o smtpd_policy_req.o smtpd_route.o smtpd_cmd.o smtpd_dnshook.o smtpd_dnsck.o)

$(BUILD)/bin/postern: $(TOOLS_OBJ) $(PROBE_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TOOLS_OBJ) $(PROBE_OBJ) $(LIBCOMMON) $(LIBS)

define daemon_rule
$(BUILD)/libexec/$(1): $($(1)_SRC:%.c=$(BUILD)/obj/%.o) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBCOMMON) $(LIBS)
endef
$(foreach p,$(DAEMONS),$(eval $(call daemon_rule,$(p))))

$(BUILD)/tests/%: tests/unit/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -MF $@.d -Itests/unit $(LDFLAGS) -o $@ $< $(filter %.o,$^) $(LIBCOMMON) $(LIBS) -lcmocka

# Unit tests of daemon code link the objects they test.
$(BUILD)/tests/test_dsn: $(BUILD)/obj/queue/dsn.o
$(BUILD)/tests/test_addrlist: $(BUILD)/obj/tools/addrlist.o
$(BUILD)/tests/test_smtpd_check: $(addprefix $(BUILD)/obj/smtpd/,smtpd_check.o smtpd_check_exec.o smtpd_check_result.o smtpd_policy_req.o smtpd_route.o smtpd_cmd.o)
$(BUILD)/tests/test_smtpd_etrn: $(addprefix $(BUILD)/obj/smtpd/,smtpd_etrn.o smtpd_check.o smtpd_check_exec.o smtpd_check_result.o smtpd_policy_req.o smtpd_route.o smtpd_cmd.o)
$(BUILD)/tests/test_smtpd_policy: $(addprefix $(BUILD)/obj/smtpd/,smtpd_policy.o smtpd_check.o smtpd_check_exec.o smtpd_check_result.o smtpd_policy_req.o smtpd_route.o smtpd_cmd.o)
$(BUILD)/tests/test_smtp_reply: $(BUILD)/obj/delivery/smtp_reply.o
$(BUILD)/tests/test_route: $(BUILD)/obj/queue/route.o
$(BUILD)/tests/test_smtp_sts: $(BUILD)/obj/delivery/smtp_sts.o $(BUILD)/obj/delivery/smtp_conn.o $(BUILD)/obj/delivery/smtp_reply.o

# Unit tests of the local agent also link its modules (all but main).
LOCAL_LIB_OBJ = $(filter-out $(BUILD)/obj/delivery/local.o,$(local_SRC:%.c=$(BUILD)/obj/%.o))
$(BUILD)/tests/test_local_%: tests/unit/test_local_%.c $(LOCAL_LIB_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -MF $@.d -Itests/unit -Idelivery $(LDFLAGS) -o $@ $< $(LOCAL_LIB_OBJ) $(LIBCOMMON) $(LIBS) -lcmocka

unit: $(UNIT_BINS)

# Fuzz targets: clang libFuzzer with ASan+UBSan.  common/ is compiled
# once into build-fuzz/libcommon.a; a target that tests code outside
# common/ names it in FUZZ_EXTRA_<target>.
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -g -O1 $(FUZZ_SAN) $(DEFS) -Icommon -Idelivery $(PKG_CFLAGS)
FUZZ_OBJ    = $(COMMON_SRC:%.c=build-fuzz/obj/%.o)

build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build-fuzz/libcommon.a: $(FUZZ_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

FUZZ_EXTRA_fuzz_addrlist  = tools/addrlist.c
FUZZ_EXTRA_fuzz_dsn       = queue/dsn.c
FUZZ_EXTRA_fuzz_local_req = delivery/local_req.c
FUZZ_EXTRA_fuzz_smtp_reply = delivery/smtp_reply.c
FUZZ_EXTRA_fuzz_sts_policy = delivery/smtp_sts.c delivery/smtp_conn.c delivery/smtp_reply.c
FUZZ_EXTRA_fuzz_dns       = smtpd/smtpd_dnsck.c
FUZZ_EXTRA_fuzz_policy_reply = smtpd/smtpd_policy.c smtpd/smtpd_policy_req.c smtpd/smtpd_check.c smtpd/smtpd_check_exec.c smtpd/smtpd_check_result.c smtpd/smtpd_route.c smtpd/smtpd_cmd.c

.SECONDEXPANSION:
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_EXTRA_fuzz_$$*) build-fuzz/libcommon.a $(wildcard common/*.h)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_EXTRA_fuzz_$*) build-fuzz/libcommon.a $(LIBS)

# Targets that #include a daemon's source file rebuild when it changes.
build-fuzz/fuzz_smtp_%: $(wildcard smtpd/*.c smtpd/*.h)
build-fuzz/fuzz_sasl: $(wildcard smtpd/smtpd_sasl_parse.*)
build-fuzz/fuzz_local_req: $(wildcard delivery/local_req.h)

fuzz-build: $(FUZZ_BINS)

# FUZZ_SECONDS per target; make check runs them briefly.
FUZZ_SECONDS ?= 5
fuzz: fuzz-build
	tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# postern against a private Postfix, side by side (bench/bench.py; root).
# BENCH_ARGS, e.g. "--reps 5 --msgs 5000" or "--save" for a new baseline.
bench: deps all
	BUILD=$(BUILD) python3 bench/bench.py $(BENCH_ARGS)
.PHONY: bench

deps:
	tools/deps.sh

check: deps
	$(MAKE) all unit
	$(MAKE) SANITIZE=1 all unit
	$(MAKE) fuzz-build
	tests/run.sh

run: deps all
	BUILD=$(BUILD) tools/run-demo.sh

# install, install-compat and uninstall: tools/install.sh keeps a manifest
# ($(PREFIX)/share/postern/install-manifest) of what it created.
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL_VARS = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' SYSCONFDIR='$(SYSCONFDIR)' \
	SPOOLDIR='$(SPOOLDIR)' BINDIR='$(BINDIR)' LIBEXECDIR='$(LIBEXECDIR)' \
	MANDIR='$(MANDIR)' UNITDIR='$(UNITDIR)' BUILD='$(BUILD)' DAEMONS='$(DAEMONS)'

install: all
	$(INSTALL_VARS) tools/install.sh install

# sendmail, mailq and newaliases as links to postern (it acts by the name
# it is run under); kept apart so postern can sit beside a real Postfix.
install-compat: install
	$(INSTALL_VARS) tools/install.sh compat

uninstall:
	$(INSTALL_VARS) tools/install.sh uninstall

# A Debian package from the working tree, built in build/deb/ (the .deb
# lands there): dpkg-buildpackage with debhelper.
deb:
	tools/mkdeb.sh

clean:
	rm -rf build build-san build-fuzz

format:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c)

.PHONY: all unit fuzz fuzz-build deps check run install install-compat uninstall deb clean format
-include $(COMMON_OBJ:.o=.d) $(TOOLS_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(UNIT_BINS:=.d) $(FUZZ_OBJ:.o=.d)
