# station: the provisioning station.  One Makefile, no generators.
#
#   make            build station, devsim and the tests into $(BUILD)/
#   make check      install missing Debian packages, build, run every test
#   make check-asan the same tests under AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (clang)
#   make valgrind   end-to-end tests under valgrind
#   make demo       simulated line on the embedded defaults
#   make hil FIXTURE=path [HIL_CONFIG=station.ini]
#                   hardware-in-loop suite against a real fixture
#   make install    PREFIX=/usr/local DESTDIR=
#
# Toggles: BUILD=dir  SANITIZE=1  V=1

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
PKG_CONFIG ?= pkg-config

# Libraries the core and drivers link.
CORE_PKGS := libssl libcrypto sqlite3 inih libmosquitto jansson
# Loaded on first use (dlopen, station/util/dlib.h), never linked: only
# their headers.  libcurl (remote CAs) and libpq (the fleet database)
# bring ~30 libraries that a station on the local CA never calls;
# libserialport and libusb-1.0 (with libudev) cost every process start-up
# time, and a station on tcp: never calls them.
DLOPEN_PKGS := libcurl libpq libserialport libusb-1.0
# ncurses: ui/ objects take its headers; loaded by `station ui` alone
# (ui/curses_lib.h), never linked: every other process would pay for it.
UI_PKGS   := ncursesw
# devsim's TPM chip only (fixtures/devsim/chip_tpm*.c): the station never
# links tss2.
TPM_PKGS  := tss2-esys tss2-mu tss2-rc tss2-tcti-swtpm
TEST_PKGS := cmocka

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
            -I. $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS) $(DLOPEN_PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) -pthread -MMD -MP
LDLIBS   += $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null) -pthread

ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

ifneq ($(V),1)
Q := @
endif

# Everything in station/, drivers/ and db/ except the program's main()
# goes into one static library that the program, devsim and tests link.
LIB_SRCS  := $(sort $(shell find station drivers db -name '*.c' \
               ! -path station/cli/main.c))
UI_SRCS   := $(sort $(wildcard ui/*.c))
# devsim is the portable agent (fixtures/agent/) plus host I/O and faults.
AGENT_SRCS := $(sort $(wildcard fixtures/agent/*.c))
SIM_SRCS  := $(sort $(wildcard fixtures/devsim/*.c)) $(AGENT_SRCS)
TEST_SRCS := $(sort $(shell find tests -name 'test_*.c'))
# Support code built on umockdev (GLib) links only into the umockdev tests.
UMOCKDEV_SUPPORT_SRCS := tests/support/usb_model.c tests/support/umockdev_env.c
TEST_SUPPORT_SRCS := $(filter-out $(UMOCKDEV_SUPPORT_SRCS),\
                       $(sort $(wildcard tests/support/*.c)))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UI_OBJS   := $(UI_SRCS:%.c=$(BUILD)/%.o)
SIM_OBJS  := $(SIM_SRCS:%.c=$(BUILD)/%.o)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
LIB       := $(BUILD)/libstation.a

STATION   := $(BUILD)/bin/station
DEVSIM    := $(BUILD)/bin/devsim
NRF91SIM  := $(BUILD)/bin/nrf91sim

.PHONY: all check check-asan check-run check-layers checksrc demo hil install uninstall clean deps \
        format tests bench bench-ledger
all: $(STATION) $(DEVSIM) $(NRF91SIM) tests

tests: $(TEST_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/ui/%.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(UI_PKGS) 2>/dev/null)
$(BUILD)/tests/%: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(STATION): $(BUILD)/station/cli/main.o $(UI_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

TPM_SIM_OBJS := $(BUILD)/fixtures/devsim/chip_tpm.o \
                $(BUILD)/fixtures/devsim/chip_tpm_swtpm.o
$(TPM_SIM_OBJS): CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(TPM_PKGS) 2>/dev/null)
$(DEVSIM): $(SIM_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TPM_PKGS) 2>/dev/null)

# The nRF91 modem emulator (fixtures/nrf91sim/): its own program, on
# devsim's listening side (TCP or a pty).
$(NRF91SIM): $(BUILD)/fixtures/nrf91sim/nrf91sim.o \
             $(BUILD)/fixtures/devsim/link.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Each tests/<area>/test_<name>.c is one cmocka program.  Tests may use
# devsim's chip code directly (fixtures/devsim objects other than main
# and the TPM chip, which alone needs tss2).
SIM_LIB_OBJS := $(filter-out $(BUILD)/fixtures/devsim/main.o \
                  $(TPM_SIM_OBJS),$(SIM_OBJS))
$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT_OBJS) $(SIM_LIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_EXTRA_OBJS) \
	    $(TEST_SUPPORT_OBJS) $(SIM_LIB_OBJS) $(LIB) $(LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

# The uart: and usb: transport tests and the usb: line tests build a
# umockdev testbed (GLib) in-process, with the support code in
# UMOCKDEV_SUPPORT_SRCS.
UMOCKDEV_TESTS := $(filter $(BUILD)/tests/drivers/transport/test_uart% \
                    $(BUILD)/tests/drivers/transport/test_usb% \
                    $(BUILD)/tests/station/line/test_usb%,$(TEST_BINS))
UMOCKDEV_SUPPORT_OBJS := $(UMOCKDEV_SUPPORT_SRCS:%.c=$(BUILD)/%.o)
$(UMOCKDEV_TESTS) $(UMOCKDEV_SUPPORT_OBJS): CPPFLAGS += $(shell $(PKG_CONFIG) --cflags umockdev-1.0 2>/dev/null)
$(UMOCKDEV_TESTS): LDLIBS += $(shell $(PKG_CONFIG) --libs umockdev-1.0 2>/dev/null)
$(UMOCKDEV_TESTS): TEST_EXTRA_OBJS := $(UMOCKDEV_SUPPORT_OBJS)
$(UMOCKDEV_TESTS): $(UMOCKDEV_SUPPORT_OBJS)
# Tests that call libserialport themselves (not through the station's
# table) link it; the station's own calls load it on first use.
SERIALPORT_TESTS := $(BUILD)/tests/drivers/transport/test_uart_devsim
$(SERIALPORT_TESTS): LDLIBS += $(shell $(PKG_CONFIG) --libs libserialport 2>/dev/null)

# ui/ tests link the screen model and the scan grammar (no curses there).
UI_CORE_OBJS := $(BUILD)/ui/model.o $(BUILD)/ui/input.o $(BUILD)/ui/queue.o
UI_TESTS := $(filter $(BUILD)/tests/ui/%,$(TEST_BINS))
$(UI_TESTS): $(UI_CORE_OBJS)
$(UI_TESTS): LDFLAGS += $(UI_CORE_OBJS)
# The ncurses loader's test: curses.h, and the loader, not the library.
CURSES_LIB_TEST := $(BUILD)/tests/ui/test_curses_lib
CURSES_LIB_OBJS := $(BUILD)/ui/curses_lib.o
$(CURSES_LIB_TEST): CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(UI_PKGS) 2>/dev/null)
$(CURSES_LIB_TEST): TEST_EXTRA_OBJS := $(CURSES_LIB_OBJS)
$(CURSES_LIB_TEST): $(CURSES_LIB_OBJS)

# Benchmarks (not part of check): figures go into docs/benchmarks.md.
bench: bench-ledger
bench-ledger: $(BUILD)/tests/bench/ledger_bench
	$(Q)$(BUILD)/tests/bench/ledger_bench docs/benchmarks.md

# make bench-station: the station's performance figures (tests/bench/,
# programs bench_*.c linked like the tests plus tests/bench/bench.c),
# written into docs/benchmarks.md by tests/bench/run.sh.  `make bench`
# runs every benchmark.
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
BENCH_OBJS := $(BUILD)/tests/bench/bench.o
$(BENCH_OBJS): $(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(BENCH_BINS): $(BUILD)/tests/bench/bench_%: tests/bench/bench_%.c $(BENCH_OBJS) \
    $(TEST_SUPPORT_OBJS) $(SIM_LIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BENCH_OBJS) \
	    $(TEST_SUPPORT_OBJS) $(SIM_LIB_OBJS) $(LIB) $(LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

.PHONY: bench bench-station bench-build
bench: bench-station
bench-build: $(STATION) $(DEVSIM) $(BENCH_BINS)
# Under `make bench` after bench-ledger: both write docs/benchmarks.md.
bench-station: deps $(if $(filter bench,$(MAKECMDGOALS)),bench-ledger)
	$(Q)sh tests/deps.sh mosquitto-clients strace valgrind
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)BUILD=$(BUILD) sh tests/bench/run.sh

# deps: install the Debian packages the build, tests and demo need.
deps:
	$(Q)sh tests/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory check-layers
	$(Q)$(MAKE) --no-print-directory checksrc
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory check-run

# The include rule between layers (docs/hacking.md).
check-layers:
	$(Q)sh tests/check-layers.sh --self-test
	$(Q)sh tests/check-layers.sh

# The source style (tests/checksrc.sh): no assignment in a condition, no
# banned calls; CHECKSRC_FORMAT=1 adds clang-format once the tree is
# formatted.
checksrc:
	$(Q)sh tests/checksrc.sh --self-test
	$(Q)sh tests/checksrc.sh

check-run:
	$(Q)BUILD=$(BUILD) sh tests/run-tests.sh $(TEST_BINS)

check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 all
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 check-run

# ---- Reliability harnesses (docs/reliability.md) ---------------------------
# make crash-test CRASH_KILLS=N  SIGKILL the station N times mid-run (1000)
# make crash-test POWER=1 CRASH_CUTS=N
#                                N power cuts: unsynced writes dropped (1000)
# make soak SOAK_RUNS=N          N provisioning runs over faulty lines (1000)
# make check runs small versions of all three (30 kills, 20 cuts, 20 runs).  Summaries go
# to $(BUILD)/crash-report.txt and $(BUILD)/soak-report.txt.
CRASH_KILLS ?= 1000
CRASH_CUTS  ?= 1000
SOAK_RUNS   ?= 1000
REL_ENV = STATION_BIN=$(CURDIR)/$(BUILD)/bin/station \
          DEVSIM_BIN=$(CURDIR)/$(BUILD)/bin/devsim STATION_SRCDIR=$(CURDIR)
.PHONY: crash-test soak
# The power-cut shim (LD_PRELOAD) and the tiny program it is tested on,
# built beside the tests that use them (tests/reliability/powercut/).
# The shim builds paths into PATH_MAX buffers; a longer one is outside
# any test tree, hence -Wno-format-truncation.  It is never built with
# the sanitizers (SANITIZE=1): preloaded, it would load their runtime
# after the program's; powercut_arm lets ASan accept it in front.
POWERCUT := $(BUILD)/tests/reliability/powercut
POWERCUT_OBJS := $(POWERCUT)/powercut.o
$(POWERCUT)/libpowercut.so: tests/reliability/powercut/shim.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  SO      $@")
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) \
	    -Wno-format-truncation -fPIC -shared -o $@ $< -ldl
$(POWERCUT)/tiny: tests/reliability/powercut/tiny.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<
POWERCUT_TESTS := $(BUILD)/tests/reliability/test_powercut \
                  $(BUILD)/tests/reliability/test_crash_power
$(POWERCUT_TESTS): TEST_EXTRA_OBJS := $(POWERCUT_OBJS)
$(POWERCUT_TESTS): $(POWERCUT_OBJS) $(POWERCUT)/libpowercut.so $(POWERCUT)/tiny
crash-test: deps all
ifeq ($(POWER),1)
	$(Q)$(REL_ENV) CRASH_ONLY=power CRASH_CUTS=$(CRASH_CUTS) \
	    CRASH_REPORT=$(BUILD)/crash-report.txt \
	    $(BUILD)/tests/reliability/test_crash_power
else
	$(Q)$(REL_ENV) CRASH_ONLY=kill CRASH_KILLS=$(CRASH_KILLS) CRASH_BAUD=921600 \
	    CRASH_REPORT=$(BUILD)/crash-report.txt \
	    $(BUILD)/tests/reliability/test_crash
endif
soak: deps all
	$(Q)$(REL_ENV) SOAK_RUNS=$(SOAK_RUNS) \
	    SOAK_REPORT=$(BUILD)/soak-report.txt \
	    $(BUILD)/tests/reliability/test_soak
# ---- end of reliability harnesses ------------------------------------------

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh fixtures/demo.sh

# Without FIXTURE the suite runs on a simulated fixture (as in make check).
hil: deps all
	$(Q)STATION_HIL_FIXTURE=$(FIXTURE) STATION_HIL_CONFIG=$(HIL_CONFIG) \
	    DEVSIM_BIN=$(DEVSIM) STATION_SRCDIR=$(CURDIR) $(BUILD)/tests/hil/test_hil

# make install [DESTDIR=...] [PREFIX=/usr/local] [SYSCONFDIR=/etc]: the
# program, its man page and docs, the systemd units, sysusers.d and
# tmpfiles.d entries, and an example /etc/station/station.ini, which is
# never overwritten (docs/admin.md, "Installing").
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: $(STATION) $(DEVSIM)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/doc/station $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	install -m 0755 $(STATION) $(DESTDIR)$(PREFIX)/bin/station
	install -m 0755 $(DEVSIM) $(DESTDIR)$(PREFIX)/bin/station-devsim
	sed 's|docs/|$(PREFIX)/share/doc/station/|g' docs/station.1 \
	    >$(DESTDIR)$(PREFIX)/share/man/man1/station.1
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/station.1
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/station/
	for u in fixtures/systemd/*.service fixtures/systemd/*.timer; do \
	    sed 's|/usr/local|$(PREFIX)|g' $$u \
	        >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 0644 fixtures/systemd/station.sysusers \
	    $(DESTDIR)$(PREFIX)/lib/sysusers.d/station.conf
	install -m 0644 fixtures/systemd/station.tmpfiles \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/station.conf
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/station
	[ -e $(DESTDIR)$(SYSCONFDIR)/station/station.ini ] || \
	    install -m 0640 fixtures/etc/station.ini \
	        $(DESTDIR)$(SYSCONFDIR)/station/station.ini

# The configuration in $(SYSCONFDIR)/station and the state in
# /var/lib/station are the administrator's: uninstall leaves them.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/station $(DESTDIR)$(PREFIX)/bin/station-devsim \
	    $(DESTDIR)$(PREFIX)/share/man/man1/station.1 \
	    $(DESTDIR)$(PREFIX)/lib/sysusers.d/station.conf \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/station.conf
	for u in fixtures/systemd/*.service fixtures/systemd/*.timer; do \
	    rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	done
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/station

# The same files that `CHECKSRC_FORMAT=1 make checksrc` checks.
format:
	git ls-files -z '*.c' '*.h' | xargs -0 clang-format -i

clean:
	rm -rf build build-asan build-fuzz

# ---- Firmware (docs/devices.md) --------------------------------------------
# make firmware        the agent as bare-metal firmware for QEMU's
#                      mps2-an385 (Cortex-M3): $(BUILD)/firmware/devsim-fw.elf,
#                      and $(BUILD)/bin/devsim-qemu, which runs it with
#                      devsim's interface.  mbedTLS 2.28 comes from Debian's
#                      source package (fixtures/firmware/fetch-mbedtls.sh,
#                      a private APT configuration) and is built once into
#                      $(BUILD)/firmware/libmbedcrypto.a.
# make check-firmware  `station provision` over tcp: against the firmware
#                      under QEMU, smoke test included.
FW_BUILD   := $(BUILD)/firmware
FW_CC      := arm-none-eabi-gcc
FW_SRCS    := $(sort $(wildcard fixtures/firmware/*.c)) \
              fixtures/agent/agent.c fixtures/agent/agent_frame.c \
              fixtures/agent/agent_device.c fixtures/agent/agent_device_keys.c \
              fixtures/agent/agent_device_store.c fixtures/agent/agent_csr.c \
              drivers/proto/proto.c
FW_HDRS    := $(wildcard fixtures/firmware/*.h fixtures/agent/*.h) \
              drivers/proto/proto.h
FW_CFLAGS  := -mcpu=cortex-m3 -mthumb -Os -g -ffunction-sections \
              -fdata-sections -std=c11 -Wall -Wextra -Werror -Wshadow \
              -Wstrict-prototypes -Wmissing-prototypes -I. \
              -I$(FW_BUILD)/mbedtls-src/include \
              '-DMBEDTLS_CONFIG_FILE="fixtures/firmware/mbedtls_config.h"'
FW_LDFLAGS := -T fixtures/firmware/mps2-an385.ld -nostartfiles \
              --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections
FW_ELF     := $(FW_BUILD)/devsim-fw.elf
DEVSIM_QEMU := $(BUILD)/bin/devsim-qemu

.PHONY: firmware firmware-deps check-firmware
firmware-deps:
	$(Q)sh tests/deps.sh firmware

firmware: firmware-deps
	$(Q)$(MAKE) --no-print-directory $(FW_ELF) $(DEVSIM_QEMU)

$(FW_BUILD)/mbedtls-src/include/mbedtls/version.h: \
    fixtures/firmware/fetch-mbedtls.sh
	@mkdir -p $(FW_BUILD)
	$(Q)sh fixtures/firmware/fetch-mbedtls.sh $(FW_BUILD)

$(FW_BUILD)/libmbedcrypto.a: fixtures/firmware/mbedtls_config.h \
    fixtures/firmware/build-mbedtls.sh \
    $(FW_BUILD)/mbedtls-src/include/mbedtls/version.h
	$(Q)sh fixtures/firmware/build-mbedtls.sh $(FW_BUILD)

$(FW_ELF): $(FW_SRCS) $(FW_HDRS) fixtures/firmware/mps2-an385.ld \
    $(FW_BUILD)/libmbedcrypto.a
	@$(if $(Q),echo "  FW      $@")
	$(Q)$(FW_CC) $(FW_CFLAGS) $(FW_LDFLAGS) -o $@ $(FW_SRCS) \
	    $(FW_BUILD)/libmbedcrypto.a
	$(Q)arm-none-eabi-size $@

$(DEVSIM_QEMU): $(BUILD)/fixtures/firmware/host/devsim_qemu.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The end-to-end program is not a test_*.c: make check does not run it.
FW_E2E := $(BUILD)/tests/firmware/firmware_e2e
$(FW_E2E): tests/firmware/firmware_e2e.c $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null) \
	    $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(LIB) $(LDLIBS) \
	    $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

check-firmware: deps firmware
	$(Q)$(MAKE) --no-print-directory all $(FW_E2E)
	$(Q)STATION_BIN=$(CURDIR)/$(STATION) STATION_SRCDIR=$(CURDIR) \
	    DEVSIM_BIN=$(CURDIR)/$(DEVSIM_QEMU) $(FW_E2E)
# ---- end of firmware -------------------------------------------------------

# ---- Fuzzing and valgrind ------------------------------------------------
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="frame tlv ..."]
#     Builds each tests/fuzz/fuzz_<name>.c with clang, libFuzzer, ASan and
#     UBSan into build-fuzz/fuzz/ (the library and devsim objects are built
#     there too, with coverage instrumentation), then runs each target for
#     FUZZ_SECONDS on a scratch copy of its corpus and prints the executions;
#     a crash fails the target and leaves the input in build-fuzz/crash/.
# make valgrind
#     The end-to-end test programs under valgrind, child processes (devsim,
#     station) included; see tests/run-valgrind.sh and tests/valgrind.supp.
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer

ifeq ($(FUZZ),1)
CFLAGS   += -fsanitize=fuzzer-no-link $(FUZZ_SAN)
LDFLAGS  += $(FUZZ_SAN)
endif

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(SIM_LIB_OBJS) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_MAIN -fsanitize=fuzzer \
	    $(LDFLAGS) -o $@ $< $(SIM_LIB_OBJS) $(LIB) $(LDLIBS)

# The scan target (and the replay of its inputs) needs the screen's scan
# grammar: ui/model.o and ui/input.o.
FUZZ_UI_OBJS := $(BUILD)/ui/model.o $(BUILD)/ui/input.o
$(BUILD)/fuzz/fuzz_scan $(BUILD)/tests/fuzz/test_fuzz_regress: $(FUZZ_UI_OBJS)
$(BUILD)/fuzz/fuzz_scan $(BUILD)/tests/fuzz/test_fuzz_regress: LDFLAGS += $(FUZZ_UI_OBJS)

.PHONY: fuzz fuzz-build valgrind
fuzz-build:
	$(Q)sh tests/deps.sh clang libclang-rt-14-dev
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang FUZZ=1 \
	    $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/fuzz_%)

fuzz: fuzz-build
	$(Q)sh tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

valgrind: deps all
	$(Q)sh tests/deps.sh valgrind
	$(Q)BUILD=$(BUILD) sh tests/run-valgrind.sh
# ---- end of fuzzing and valgrind -----------------------------------------

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
